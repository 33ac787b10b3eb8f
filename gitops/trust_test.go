package gitops

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// twoRepos is a Git server with the cycle fixture in two repositories and one runner over
// both, sharing its cache directory.
func twoRepos(t *testing.T, limits svcconfig.GitLimits) (*gittest.Server, *Runner, map[string]Repo) {
	t.Helper()
	files := fixtureTree(t, filepath.Join("testdata", "cycle", "repo"))
	s := gittest.NewServer(t)
	repos := map[string]Repo{}
	var rcs []svcconfig.Repository
	for _, name := range []string{"broken", "healthy"} {
		s.CreateRepo(name, files)
		rc := svcconfig.Repository{
			Name: name, URL: s.URL(name), Branch: "main", Policies: []string{"policies/*.yaml"},
			Auth: &svcconfig.GitAuth{Username: s.User(), PasswordFile: secretFile(t, s.Password())},
		}
		repos[name] = Repo{Config: rc}
		rcs = append(rcs, rc)
	}
	r := testRunner(t, scaleUp, slog.New(slog.NewTextHandler(io.Discard, nil)), rcs...)
	r.Config.Limits.Git = limits
	r.Config.Limits.Git.SetDefaults()
	return s, r, repos
}

// committed counts a report's committed results.
func committed(rep *Report) int {
	n := 0
	for _, res := range rep.Results {
		if res.Action == ActionCommitted {
			n++
		}
	}
	return n
}

// TestRootDotGitEntryFailsOnlyThatRepository is finding 8 of issue 22: a root tree entry
// ".git" stopped every policy of the repository instead of failing safely. Its cycle now
// fails with an error naming the entry before anything is written or removed — the clone's
// worktree stays the last good tree, its own .git untouched —, the other repository's
// cycle commits its decisions, and once the entry is gone the next cycle works again.
func TestRootDotGitEntryFailsOnlyThatRepository(t *testing.T) {
	s, r, repos := twoRepos(t, svcconfig.GitLimits{})
	ctx := context.Background()
	s.Commit("broken", map[string]string{"notes.txt": "kept\n"}, "notes", "Ann <ann@example.com>")
	rep, err := r.Cycle(ctx, repos["broken"], CycleOptions{})
	require.NoError(t, err)
	require.Equal(t, 3, committed(rep))
	clone := r.workspaces["broken"].Root()

	// One push removes notes.txt, the next adds a .git of its own.
	good := s.Commit("broken", map[string]string{"notes.txt": ""}, "drop the notes", "Ann <ann@example.com>")
	s.CommitRawEntries("broken", "a .git of its own", gittest.RawEntry{Name: ".git", Entries: []gittest.RawEntry{
		{Name: "config", Content: "[core]\n\thooksPath = /srv/evil-hooks\n[remote \"origin\"]\n\turl = https://evil.example.com/x.git\n"},
		{Name: "HEAD", Content: "ref: refs/heads/evil\n"},
	}})
	r.Now = func() time.Time { return cycleAt.Add(time.Minute) }
	_, err = r.Cycle(ctx, repos["broken"], CycleOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `tree entry ".git": a name that is .git (in some spelling)`)
	notes, err := os.ReadFile(filepath.Join(clone, "notes.txt"))
	require.NoError(t, err, "nothing of the refused tree is applied")
	assert.Equal(t, "kept\n", string(notes))
	cfg, err := os.ReadFile(filepath.Join(clone, ".git", "config"))
	require.NoError(t, err)
	assert.NotContains(t, string(cfg), "evil", "the clone's .git is untouched")
	assert.Contains(t, string(cfg), s.URL("broken"))
	head, err := os.ReadFile(filepath.Join(clone, ".git", "HEAD"))
	require.NoError(t, err)
	assert.NotContains(t, string(head), "evil")

	rep, err = r.Cycle(ctx, repos["healthy"], CycleOptions{})
	require.NoError(t, err, "the other repository goes on")
	assert.Equal(t, 3, committed(rep))

	// Repaired: the branch moved back past the entry, the next cycle runs on it.
	s.Git("broken", "update-ref", "refs/heads/main", good)
	rep, err = r.Cycle(ctx, repos["broken"], CycleOptions{})
	require.NoError(t, err, "the repaired repository runs again")
	require.Len(t, rep.Results, 3)
	for _, res := range rep.Results {
		assert.Empty(t, res.Error, res.Policy)
	}
	_, err = os.Stat(filepath.Join(clone, "notes.txt"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the repaired tree is checked out")
}

// TestOversizedPolicyDocumentFailsOnlyItself: a policy document over limits.git.maxFileBytes
// is an invalid document naming its file and the limit; the repository's other policies are
// decided and committed.
func TestOversizedPolicyDocumentFailsOnlyItself(t *testing.T) {
	s, r, repos := twoRepos(t, svcconfig.GitLimits{MaxFileBytes: 32 << 10})
	blob := s.ZeroBlob("healthy", 100<<20)
	// Under a directory of its own (raw entries are added to the root, which has policies/).
	s.CommitRawEntries("healthy", "a huge policy", gittest.RawEntry{Name: "more", Entries: []gittest.RawEntry{{Name: "huge.yaml", Blob: blob}}})
	repo := repos["healthy"]
	repo.Config.Policies = append(repo.Config.Policies, "more/*.yaml")

	rep, err := r.Cycle(context.Background(), repo, CycleOptions{})
	require.NoError(t, err)
	assert.Equal(t, 3, committed(rep), "the other policies are decided")
	require.Len(t, rep.Invalid, 1)
	assert.Equal(t, "more/huge.yaml", rep.Invalid[0].File)
	assert.Contains(t, rep.Invalid[0].Error(), "more/huge.yaml is 104857600 bytes, over the 32768 bytes a file may hold (limits.git.maxFileBytes)")
}

// recordingVerifier passes every render, counting the calls.
type recordingVerifier struct{ calls int }

func (v *recordingVerifier) Verify(context.Context, string, *policy.Policy, string, []byte, int, int) (Verification, error) {
	v.calls++
	return Verification{Summary: "rendered: replicas only"}, nil
}

// TestHelmRenderRefusesAChartWithAFileLeftOut: a chart holding a file over
// limits.git.maxFileBytes would render without it, since the worktree leaves it out; the
// render verification is refused naming the file and the limit, before any render, and the
// policies without that chart are committed.
func TestHelmRenderRefusesAChartWithAFileLeftOut(t *testing.T) {
	s, r, repos := twoRepos(t, svcconfig.GitLimits{MaxFileBytes: 32 << 10})
	web := fixtureTree(t, filepath.Join("testdata", "cycle", "repo"))["policies/web.yaml"]
	s.Commit("healthy", map[string]string{
		"policies/web.yaml": web + "  render:\n    helm: {chart: chart, valuesFiles: [envs/prod/web/values.yaml]}\n",
	}, "render web", "Ann <ann@example.com>")
	s.CommitRawEntries("healthy", "a chart with a huge template", gittest.RawEntry{Name: "chart", Entries: []gittest.RawEntry{
		{Name: "Chart.yaml", Content: "apiVersion: v2\nname: web\nversion: 1.0.0\n"},
		{Name: "templates", Entries: []gittest.RawEntry{{Name: "crds.yaml", Blob: s.ZeroBlob("healthy", 5<<20)}}},
	}})
	v := &recordingVerifier{}
	r.Verifier = v

	rep, err := r.Cycle(context.Background(), repos["healthy"], CycleOptions{})
	require.NoError(t, err)
	assert.Equal(t, 2, committed(rep), "api and worker")
	res := resultOf(t, rep, "prod/web")
	assert.Equal(t, ActionError, res.Action)
	assert.Contains(t, res.Error, "render verification refused the change: chart/templates/crds.yaml is 5242880 bytes, over the 32768 bytes a file may hold (limits.git.maxFileBytes)")
	assert.Contains(t, res.Error, "the render would not see it")
	assert.Zero(t, v.calls, "refused before rendering")
}
