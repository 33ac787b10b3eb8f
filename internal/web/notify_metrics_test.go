package web

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/notify"
)

// TestNotifyFailuresAreCounted: each failed webhook call of the notify step counts once in
// notify_failures_total by repository and controller; a call that succeeded counts nothing.
func TestNotifyFailuresAreCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewServiceMetrics(reg, func() time.Time { return chartT0 })
	cycles := []struct {
		name         string
		notified     []notify.Outcome
		flux, argocd float64
	}{
		{name: "both accepted", notified: []notify.Outcome{{Controller: notify.ControllerFlux, Status: 200}, {Controller: notify.ControllerArgoCD, Status: 200}}},
		{name: "flux refused", notified: []notify.Outcome{{Controller: notify.ControllerFlux, Status: 401, Err: errors.New("answered 401")}, {Controller: notify.ControllerArgoCD, Status: 200}},
			flux: 1},
		{name: "both down", notified: []notify.Outcome{{Controller: notify.ControllerFlux, Err: errors.New("connection refused")}, {Controller: notify.ControllerArgoCD, Err: errors.New("timeout")}},
			flux: 2, argocd: 1},
		{name: "nothing landed, nothing called", flux: 2, argocd: 1},
	}
	for _, c := range cycles {
		m.Observe(gitops.CycleEvent{Repository: "platform", Report: &gitops.Report{Notified: c.notified, Results: []gitops.Result{
			{Policy: "shop/web", Action: gitops.ActionCommitted, From: 3, To: 6, Commit: "abc", EvaluatedAt: chartT0}}}})
		assert.Equal(t, c.flux, testutil.ToFloat64(m.notifyFailed.WithLabelValues("platform", notify.ControllerFlux)), "%s: flux", c.name)
		assert.Equal(t, c.argocd, testutil.ToFloat64(m.notifyFailed.WithLabelValues("platform", notify.ControllerArgoCD)), "%s: argocd", c.name)
	}
}
