package gitops

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// TestOneRunnerServesRepositoriesConcurrently: a Service shares its one Runner between its
// repositories, which cycle concurrently (run with -race); the scheduler reads a repository's
// workspace and policies only through the Runner's exported API (Synced, Policies).
func TestOneRunnerServesRepositoriesConcurrently(t *testing.T) {
	srv := gittest.NewServer(t)
	pw := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(pw, []byte(srv.Password()), 0o600))
	var repos []Repo
	var configs []svcconfig.Repository
	for _, name := range []string{"alpha", "beta", "gamma"} {
		srv.CreateRepo(name, svcFiles(map[string]string{"web": "@every 1m", "api": "@every 1m"}))
		rc := svcconfig.Repository{Name: name, URL: srv.URL(name), Branch: "main", Policies: []string{"policies/*.yaml"},
			Auth: &svcconfig.GitAuth{Username: srv.User(), PasswordFile: pw}}
		repos, configs = append(repos, Repo{Config: rc}), append(configs, rc)
	}
	runner := svcRunner(t, svcMetrics(500), configs...)
	runner.Now = func() time.Time { return svcStart }

	for _, repo := range repos {
		assert.Nil(t, runner.Synced(repo.Config.Name), "no workspace before the first sync")
		_, _, err := runner.Policies(repo, 0, 1)
		assert.ErrorContains(t, err, "not synced yet")
	}
	var wg sync.WaitGroup
	reports := make([]*Report, len(repos))
	errs := make([]error, len(repos))
	for i, repo := range repos {
		wg.Go(func() { reports[i], errs[i] = runner.Cycle(context.Background(), repo, CycleOptions{}) })
	}
	wg.Wait()
	for i, repo := range repos {
		t.Run(repo.Config.Name, func(t *testing.T) {
			require.NoError(t, errs[i])
			require.Len(t, reports[i].Results, 2)
			for _, r := range reports[i].Results {
				assert.Equal(t, ActionCommitted, r.Action, "%s: %s", r.Policy, r.Error)
				assert.Equal(t, 3, r.To)
			}
			ws := runner.Synced(repo.Config.Name)
			require.NotNil(t, ws)
			assert.Equal(t, srv.HeadSHA(repo.Config.Name, "main"), ws.Base(), "each repository's own workspace, pushed")
			valid, invalid, err := runner.Policies(repo, 0, 1)
			require.NoError(t, err)
			assert.Empty(t, invalid)
			require.Len(t, valid, 2)
			assert.Equal(t, []string{"team/api", "team/web"}, []string{valid[0].ID(), valid[1].ID()})
		})
	}
}
