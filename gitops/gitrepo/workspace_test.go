package gitrepo

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

const valuesFile = "envs/prod/web/values.yaml"

var (
	t0       = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
	identity = Identity{Name: "gitops-autoscaler", Email: "bot@example.com"}
)

func values(n string) string { return "# web\nweb:\n  replicaCount: " + n + "  # managed\n" }

// newRepo starts a Git server with one repository and returns it with workspace options for it.
func newRepo(t *testing.T, opts ...gittest.Option) (*gittest.Server, Options) {
	t.Helper()
	s := gittest.NewServer(t, opts...)
	s.CreateRepo("platform", map[string]string{valuesFile: values("3"), "README.md": "hi\n"})
	return s, Options{
		Name:     "platform",
		URL:      s.URL("platform"),
		Auth:     &Auth{Username: s.User(), PasswordEnv: "GIT_PASSWORD"},
		CacheDir: t.TempDir(),
		Getenv:   envOf(map[string]string{"GIT_PASSWORD": s.Password()}),
	}
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func open(t *testing.T, opts Options) *Workspace {
	t.Helper()
	ws, err := Open(context.Background(), opts)
	require.NoError(t, err)
	return ws
}

func commitValues(t *testing.T, ws *Workspace, n string) string {
	t.Helper()
	h, err := ws.Commit(context.Background(), CommitRequest{
		File: valuesFile, Content: []byte(values(n)), Message: "scale to " + n + "\n", Author: identity, When: t0,
	})
	require.NoError(t, err)
	return h
}

func TestOpenClonesOnceThenFetchesEachCycle(t *testing.T) {
	s, opts := newRepo(t)

	ws := open(t, opts)
	assert.Equal(t, 1, s.Requests("platform", gittest.UploadPack), "cycle 1: one clone")
	assert.Equal(t, s.HeadSHA("platform", "main"), ws.Head())
	got, err := ws.ReadFile(valuesFile)
	require.NoError(t, err)
	assert.Equal(t, values("3"), string(got))

	// A marker inside the clone survives only if the clone is reused.
	marker := filepath.Join(ws.Root(), ".git", "reused")
	require.NoError(t, os.WriteFile(marker, nil, 0o644))

	human := s.Commit("platform", map[string]string{valuesFile: values("4")}, "more web", "Ann <ann@example.com>")
	require.NoError(t, ws.Sync(context.Background()))
	assert.Equal(t, 2, s.Requests("platform", gittest.UploadPack), "cycle 2: one fetch")
	assert.Equal(t, human, ws.Head())
	assert.Equal(t, human, ws.Base())

	// A new process (a one-shot run) opens the same cache: a fetch, not a clone.
	ws2 := open(t, opts)
	assert.Equal(t, 3, s.Requests("platform", gittest.UploadPack), "cycle 3: one fetch")
	assert.Equal(t, ws.Root(), ws2.Root())
	assert.FileExists(t, marker, "the clone was reused, not re-cloned")
	got, err = ws2.ReadFile(valuesFile)
	require.NoError(t, err)
	assert.Equal(t, values("4"), string(got))
}

func TestSyncDropsLocalCommitsAndChanges(t *testing.T) {
	_, opts := newRepo(t)
	ws := open(t, opts)
	base := ws.Head()
	commitValues(t, ws, "5")
	require.NoError(t, ws.Sync(context.Background()))
	assert.Equal(t, base, ws.Head())
	got, err := ws.ReadFile(valuesFile)
	require.NoError(t, err)
	assert.Equal(t, values("3"), string(got), "the file the dropped commit wrote is restored")
	require.NoError(t, ws.Close())

	// A process that stopped half-way (no marker of a complete checkout) leaves files the
	// next one cannot trust: it rewrites the worktree from the tree when it opens.
	commitValues(t, open(t, opts), "6")
	require.NoError(t, os.WriteFile(filepath.Join(ws.Root(), "stray.txt"), []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(ws.Root(), "README.md"), []byte("changed"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(ws.Root(), "envs", "stray"), 0o755))
	again := open(t, opts)
	t.Cleanup(func() { _ = again.Close() })
	assert.Equal(t, base, again.Head())
	assert.NoFileExists(t, filepath.Join(ws.Root(), "stray.txt"))
	assert.NoDirExists(t, filepath.Join(ws.Root(), "envs", "stray"))
	readme, err := again.ReadFile("README.md")
	require.NoError(t, err)
	assert.Equal(t, "hi\n", string(readme))
	got, err = again.ReadFile(valuesFile)
	require.NoError(t, err)
	assert.Equal(t, values("3"), string(got))
}

func TestOpenReplacesABrokenCache(t *testing.T) {
	s, opts := newRepo(t)
	ws := open(t, opts)
	require.NoError(t, os.RemoveAll(filepath.Join(ws.Root(), ".git")))

	ws = open(t, opts)
	assert.Equal(t, s.HeadSHA("platform", "main"), ws.Head())
}

func TestOpenLocalRemotes(t *testing.T) {
	s := gittest.NewServer(t)
	s.CreateRepo("platform", map[string]string{valuesFile: values("3")})
	for i, url := range []string{s.Dir("platform"), "file://" + filepath.ToSlash(s.Dir("platform"))} {
		t.Run(url[:4], func(t *testing.T) {
			ws := open(t, Options{URL: url, CacheDir: t.TempDir()})
			assert.Equal(t, s.HeadSHA("platform", "main"), ws.Head())
			commitValues(t, ws, strconv.Itoa(4+i))
			require.NoError(t, ws.Push(context.Background()))
			assert.Equal(t, ws.Head(), s.HeadSHA("platform", "main"))
		})
	}
}

func TestCommitAndPushLandWithExactMessage(t *testing.T) {
	s, opts := newRepo(t)
	ws := open(t, opts)
	before := s.HeadSHA("platform", "main")
	msg := commitmsg.Format(commitmsg.Message{
		PolicyID: "prod/web", Target: policy.ReplicasLocation{File: valuesFile, Path: "web.replicaCount"}, From: 3, To: 6,
		Reasons: reasonLines("http_rps = 312.4 > scaleUp.threshold 250 → 6", "aggregation max → 6"),
		Metrics: []engine.MetricValue{{Name: "http_rps", Value: 312.4}}, EvaluatedAt: t0,
	})

	h, err := ws.Commit(context.Background(), CommitRequest{
		File: valuesFile, Content: []byte(values("6")), Message: msg, Author: identity, When: t0,
	})
	require.NoError(t, err)
	require.NoError(t, ws.Push(context.Background()))

	assert.Equal(t, h, s.HeadSHA("platform", "main"))
	assert.Equal(t, msg, s.RawMessage("platform", h), "exact message bytes")
	log := s.Log("platform", "main")
	require.NotEmpty(t, log)
	assert.Equal(t, "gitops-autoscaler <bot@example.com>", log[0].Author)
	assert.True(t, log[0].Time.Equal(t0))
	assert.Equal(t, []string{before}, log[0].Parents)
	assert.Equal(t, values("6"), s.ReadFile("platform", "main", valuesFile))
	assert.Equal(t, valuesFile+"\n", s.Git("platform", "diff-tree", "--no-commit-id", "--name-only", "-r", h),
		"exactly one file per commit")
	assert.Equal(t, 1, s.Requests("platform", gittest.ReceivePack))
	assert.Equal(t, h, ws.Base(), "the pushed head is the new base")
}

func TestPushSendsTheCycleInOnePush(t *testing.T) {
	s, opts := newRepo(t)
	ws := open(t, opts)
	var shas []string
	for i, f := range []string{"a/values.yaml", "b/values.yaml", "c/values.yaml"} {
		h, err := ws.Commit(context.Background(), CommitRequest{
			File: f, Content: []byte("replicas: " + string(rune('1'+i)) + "\n"), Message: "add " + f, Author: identity, When: t0,
		})
		require.NoError(t, err)
		shas = append(shas, h)
	}
	require.NoError(t, ws.Push(context.Background()))

	assert.Equal(t, 1, s.Requests("platform", gittest.ReceivePack), "one push")
	assert.Equal(t, 1, s.PackRequests("platform", gittest.ReceivePack))
	log := s.Log("platform", "main")
	require.Len(t, log, 4)
	assert.Equal(t, []string{shas[2], shas[1], shas[0]}, []string{log[0].SHA, log[1].SHA, log[2].SHA})

	require.NoError(t, ws.Push(context.Background()), "nothing left to push")
	assert.Equal(t, 1, s.Requests("platform", gittest.ReceivePack), "no request when nothing to push")
}

func TestPushRaceKeepsTheirCommit(t *testing.T) {
	tests := []struct {
		name string
		// race makes a human commit land between our fetch and our push.
		race func(t *testing.T, s *gittest.Server) (their func() string)
	}{
		{
			name: "pushed before our push started",
			race: func(t *testing.T, s *gittest.Server) func() string {
				sha := s.Commit("platform", map[string]string{"README.md": "theirs\n"}, "docs", "Ann <ann@example.com>")
				return func() string { return sha }
			},
		},
		{
			name: "pushed while our push is in flight",
			race: func(t *testing.T, s *gittest.Server) func() string {
				var sha string
				s.SetBeforeReceivePack(func(string) {
					s.SetBeforeReceivePack(nil)
					sha = s.Commit("platform", map[string]string{"README.md": "theirs\n"}, "docs", "Ann <ann@example.com>")
				})
				return func() string { return sha }
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, opts := newRepo(t)
			ws := open(t, opts)
			ours := commitValues(t, ws, "6")
			their := tt.race(t, s)

			err := ws.Push(context.Background())
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrPushRace)
			assert.Equal(t, ws.Base(), ws.Head(), "a failed push drops the cycle's commits")
			require.NotEmpty(t, their())
			assert.Equal(t, their(), s.HeadSHA("platform", "main"), "their commit stays: never force-pushed")
			for _, e := range s.Log("platform", "main") {
				assert.NotEqual(t, ours, e.SHA)
			}

			// The caller re-fetches, re-decides and pushes on top of their commit.
			require.NoError(t, ws.Sync(context.Background()))
			assert.Equal(t, their(), ws.Head())
			again := commitValues(t, ws, "6")
			require.NoError(t, ws.Push(context.Background()))
			log := s.Log("platform", "main")
			require.GreaterOrEqual(t, len(log), 2)
			assert.Equal(t, []string{again, their()}, []string{log[0].SHA, log[1].SHA})
		})
	}
}

func TestCommitRefusesEmptyAndUnsafe(t *testing.T) {
	_, opts := newRepo(t)
	ws := open(t, opts)
	head := ws.Head()
	require.NoError(t, os.Symlink("README.md", filepath.Join(ws.Root(), "link.yaml")))

	tests := []struct {
		name    string
		req     CommitRequest
		wantErr string
		is      error
	}{
		{name: "same content", req: CommitRequest{File: valuesFile, Content: []byte(values("3"))}, is: ErrNothingToCommit},
		{name: "escape", req: CommitRequest{File: "../x.yaml", Content: []byte("1")}, wantErr: "leaves the repository"},
		{name: "absolute", req: CommitRequest{File: "/etc/passwd", Content: []byte("1")}, wantErr: "absolute"},
		{name: "git dir", req: CommitRequest{File: ".git/config", Content: []byte("1")}, wantErr: "inside .git"},
		{name: "symlink", req: CommitRequest{File: "link.yaml", Content: []byte("1")}, wantErr: "not a regular file"},
		{name: "no time", req: CommitRequest{File: valuesFile, Content: []byte(values("4")), When: time.Time{}}, wantErr: "no commit time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.When.IsZero() && tt.wantErr != "no commit time" {
				tt.req.When = t0
			}
			tt.req.Message = "m"
			_, err := ws.Commit(context.Background(), tt.req)
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			} else {
				assert.Contains(t, err.Error(), tt.wantErr)
			}
			assert.Equal(t, head, ws.Head(), "no commit made")
			assert.NotContains(t, err.Error(), ws.Root(), "errors name repository paths, not the cache")
		})
	}
}

// Commit writes the file into the worktree as well, keeping its mode.
func TestCommitKeepsTheFileMode(t *testing.T) {
	_, opts := newRepo(t)
	ws := open(t, opts)
	p := filepath.Join(ws.Root(), valuesFile)
	require.NoError(t, os.Chmod(p, 0o640))

	commitValues(t, ws, "9")
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm())
	got, err := ws.ReadFile(valuesFile)
	require.NoError(t, err)
	assert.Equal(t, values("9"), string(got))
}

func TestAuthFailureNeverShowsTheSecret(t *testing.T) {
	const password, token = "wrong-pa55word-xyz", "ghp_wrongtoken1234567890"
	s, base := newRepo(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(token+"\n"), 0o600))
	withUser := strings.Replace(s.URL("platform"), "http://", "http://"+s.User()+":"+password+"@", 1)

	tests := []struct {
		name string
		url  string
		auth *Auth
	}{
		{name: "wrong password", url: s.URL("platform"), auth: &Auth{Username: s.User(), PasswordEnv: "PW"}},
		{name: "wrong token", url: s.URL("platform"), auth: &Auth{TokenFile: tokenFile}},
		{name: "password in URL", url: withUser},
		{name: "no credentials", url: s.URL("platform")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := base
			opts.URL, opts.Auth, opts.CacheDir = tt.url, tt.auth, t.TempDir()
			opts.Getenv = envOf(map[string]string{"PW": password})
			_, err := Open(context.Background(), opts)
			require.Error(t, err)
			msg := err.Error()
			assert.NotContains(t, msg, password)
			assert.NotContains(t, msg, token)
			assert.NotContains(t, msg, s.Password())
			assert.Contains(t, msg, "clone")
			assert.Contains(t, strings.ToLower(msg), "auth")
		})
	}
}

func TestPushBranchWithLease(t *testing.T) {
	s, opts := newRepo(t)
	ws := open(t, opts)
	ctx := context.Background()
	const branch = "autoscaler/prod/web"

	onBase := func(n string) string {
		t.Helper()
		h, err := ws.CommitOnBase(CommitRequest{File: valuesFile, Content: []byte(values(n)), Message: "scale to " + n + "\n", Author: identity, When: t0})
		require.NoError(t, err)
		return h
	}
	first := onBase("5")
	require.NoError(t, ws.PushBranch(ctx, BranchPush{Branch: branch, Commit: first}))
	assert.Equal(t, first, s.HeadSHA("platform", branch))
	assert.NotEqual(t, first, s.HeadSHA("platform", "main"), "the base branch is untouched")
	got, ok, err := ws.RemoteBranch(ctx, branch)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, first, got.SHA)
	assert.Equal(t, []string{ws.Base()}, got.Parents)
	assert.Equal(t, "scale to 5\n", got.Message)

	// A new decision replaces the branch (not a fast-forward) under the right lease …
	second := onBase("4")
	require.NoError(t, ws.PushBranch(ctx, BranchPush{Branch: branch, Commit: second, Lease: first}))
	assert.Equal(t, second, s.HeadSHA("platform", branch))

	// … and never under a stale one, nor as a "new" branch over an existing one.
	third := onBase("7")
	err = ws.PushBranch(ctx, BranchPush{Branch: branch, Commit: third, Lease: first})
	assert.ErrorIs(t, err, ErrPushRace)
	err = ws.PushBranch(ctx, BranchPush{Branch: branch, Commit: third})
	assert.ErrorIs(t, err, ErrPushRace)
	assert.Equal(t, second, s.HeadSHA("platform", branch))

	err = ws.PushBranch(ctx, BranchPush{Branch: "main", Commit: third})
	assert.ErrorContains(t, err, "base branch")

	require.Error(t, ws.DeleteBranch(ctx, branch, first), "stale lease")
	require.NoError(t, ws.DeleteBranch(ctx, branch, second))
	assert.Equal(t, []string{"main"}, s.Branches("platform"))
	require.NoError(t, ws.DeleteBranch(ctx, branch, ""), "deleting a missing branch is a no-op")
}

func TestNetworkCallsHonorTheContext(t *testing.T) {
	_, opts := newRepo(t)
	ws := open(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := ws.Sync(ctx)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
}

// TestWorkspaceFile pins how the worktree names a file: by policy/repopath's rule (whose table
// of cases is in that package), under the workspace's root as given and as the path says, and
// never the root itself.
func TestWorkspaceFile(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "envs", "prod"), 0o755))
	require.NoError(t, os.Symlink("prod", filepath.Join(root, "envs", "current")))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "out")))
	w := &Workspace{root: root}

	tests := []struct {
		name    string
		rel     string
		want    string
		wantErr string
	}{
		{name: "plain", rel: "envs/prod/values.yaml", want: "envs/prod/values.yaml"},
		{name: "through a symlink inside, as named", rel: "envs/current/values.yaml", want: "envs/current/values.yaml"},
		{name: "the root", rel: ".", wantErr: `path "." names the repository root, not a file`},
		{name: "the root, spelled otherwise", rel: "envs/..", wantErr: "names the repository root, not a file"},
		{name: "escape", rel: "../x", wantErr: "leaves the repository root"},
		{name: "git dir", rel: ".git/config", wantErr: "is inside .git"},
		{name: "symlink outside", rel: "out/passwd", wantErr: "through a symlink"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := w.file(tt.rel)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, filepath.Join(root, filepath.FromSlash(tt.want)), got)
		})
	}
}

func TestCacheName(t *testing.T) {
	a := cacheName("platform", "https://github.com/acme/platform.git")
	assert.Regexp(t, `^platform-[0-9a-f]{16}$`, a)
	assert.NotEqual(t, a, cacheName("platform", "https://github.com/other/platform.git"), "one clone per URL")
	assert.NotEqual(t, cacheName("a/b", "u"), cacheName("a_b", "u"), "names that read alike once made safe keep their own clones")
	assert.NotEqual(t, cacheName("evil", "u"), cacheName("victim", "u"), "one clone per name")
	assert.Regexp(t, `^platform-`, cacheName("", "https://x:tok@github.com/acme/platform.git"))
	assert.NotContains(t, cacheName("", "https://x:tok@github.com/acme/platform.git"), "tok")
	assert.Regexp(t, `^_.._etc-`, cacheName("/../etc", "u"), "a name never leaves the cache directory")
}

// A network call whose context has no deadline gets the workspace's own.
func TestNetworkCallsGetADeadline(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hang.Close)
	t.Cleanup(func() { close(release) })

	_, err := Open(context.Background(), Options{
		URL: hang.URL + "/platform.git", CacheDir: t.TempDir(), NetworkTimeout: 50 * time.Millisecond,
	})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}
