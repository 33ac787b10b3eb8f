package gitops

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/notify"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// TestCycleNotifiesAfterItsPush: the notify step (docs/design.md §7, "Notify after a push")
// calls the webhook once after a push that landed decisions, with the pushed commits and
// their files; not for a dry run, a cycle that changes nothing, or a repository without
// notify. A webhook that fails changes no decision.
func TestCycleNotifiesAfterItsPush(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		notify     bool
		opts       CycleOptions
		metrics    staticMetrics
		wantCalls  int
		wantAction string
	}{
		{name: "a push is notified", status: http.StatusOK, notify: true, metrics: scaleUp, wantCalls: 1, wantAction: ActionCommitted},
		{name: "a failing webhook changes no decision", status: http.StatusInternalServerError, notify: true, metrics: scaleUp, wantCalls: 1, wantAction: ActionCommitted},
		{name: "a dry run is not", status: http.StatusOK, notify: true, metrics: scaleUp, opts: CycleOptions{DryRun: true}, wantAction: ActionDryRun},
		{name: "nothing changed, nothing notified", status: http.StatusOK, notify: true,
			metrics: staticMetrics{"web_rps": 300, "api_rps": 200, "queue_backlog": 100}, wantAction: ActionUnchanged},
		{name: "no notify configured", status: http.StatusOK, notify: false, metrics: scaleUp, wantAction: ActionCommitted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var events []notify.PushEvent
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				var ev notify.PushEvent
				if json.Unmarshal(b, &ev) == nil {
					mu.Lock()
					events = append(events, ev)
					mu.Unlock()
				}
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			e := newCycleEnv(t, tt.metrics, nil)
			if tt.notify {
				e.repo.Config.Notify = []svcconfig.Notify{{Flux: &svcconfig.FluxNotify{ReceiverURL: srv.URL + "/hook/abc", Type: svcconfig.FluxReceiverGeneric}}}
			}
			e.runner.Notify = &notify.Client{Logger: e.runner.Logger}
			rep := e.cycle(t, tt.opts)

			for _, r := range rep.Results {
				assert.Equal(t, tt.wantAction, r.Action, "%s: %s", r.Policy, r.Error)
			}
			mu.Lock()
			defer mu.Unlock()
			require.Len(t, events, tt.wantCalls)
			require.Len(t, rep.Notified, tt.wantCalls)
			if tt.wantCalls == 0 {
				return
			}
			ev := events[0]
			assert.Equal(t, "refs/heads/main", ev.Ref)
			assert.Equal(t, e.initial, ev.Before)
			assert.Equal(t, e.head(), ev.After)
			var files, ids []string
			for _, c := range ev.Commits {
				files = append(files, c.Modified...)
				ids = append(ids, c.ID)
			}
			sort.Strings(files)
			assert.Equal(t, []string{apiKustom, webValues, workerDocs}, files)
			assert.ElementsMatch(t, e.commitsSince(e.initial), ids)
			assert.Equal(t, tt.status, rep.Notified[0].Status)
			assert.Equal(t, tt.status != http.StatusOK, rep.Notified[0].Err != nil)
		})
	}
}

// TestLandedPush: what the notify step tells of a cycle — the commits that landed on the base
// branch, pushed or merged by AutoMerge — and nothing for what did not land.
func TestLandedPush(t *testing.T) {
	rc := svcconfig.Repository{Name: "platform", URL: "https://git.example.com/acme/platform.git", Branch: "main"}
	tests := []struct {
		name        string
		rep         Report
		wantOK      bool
		wantBefore  string
		wantAfter   string
		wantCommits []notify.Commit
	}{
		{name: "pushed commits", rep: Report{Before: "b0", Head: "c2", Results: []Result{
			{Action: ActionCommitted, Commit: "c1", Target: "envs/web/values.yaml#web.replicaCount"},
			{Action: ActionUnchanged, Target: "envs/api/values.yaml#replicas"},
			{Action: ActionCommitted, Commit: "c2", Target: "apps/api/kustomization.yaml#replicas[name=api].count"},
		}}, wantOK: true, wantBefore: "b0", wantAfter: "c2",
			wantCommits: []notify.Commit{{ID: "c1", Files: []string{"envs/web/values.yaml"}}, {ID: "c2", Files: []string{"apps/api/kustomization.yaml"}}}},
		{name: "a pull request AutoMerge merged", rep: Report{Before: "b0", Head: "b0", Results: []Result{
			{Action: ActionCommitted, Commit: "m1", PullRequest: "https://git.example.com/acme/platform/pull/7", Target: "envs/web/values.yaml#web.replicaCount"},
		}}, wantOK: true, wantBefore: "", wantAfter: "m1",
			wantCommits: []notify.Commit{{ID: "m1", Files: []string{"envs/web/values.yaml"}}}},
		{name: "a pull request left open", rep: Report{Before: "b0", Head: "b0", Results: []Result{
			{Action: ActionPullRequest, Commit: "p1", PullRequest: "https://git.example.com/acme/platform/pull/8", Target: "envs/web/values.yaml#web.replicaCount"},
		}}},
		{name: "deferred and failed decisions", rep: Report{Before: "b0", Head: "b0", Results: []Result{
			{Action: ActionDeferred, NotLanded: NotLandedPushRace, Target: "envs/web/values.yaml#web.replicaCount"},
			{Action: ActionError, Error: "push: rejected", Target: "envs/api/values.yaml#replicas"},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := landedPush(rc, &tt.rep)
			require.Equal(t, tt.wantOK, ok)
			if !ok {
				return
			}
			assert.Equal(t, tt.wantBefore, p.Before)
			assert.Equal(t, tt.wantAfter, p.After)
			assert.Equal(t, tt.wantCommits, p.Commits)
			assert.Equal(t, rc, p.Repository)
		})
	}
}
