package gittest

import (
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServerServesCloneAndPushWithBasicAuth(t *testing.T) {
	s := NewServer(t)
	first := s.CreateRepo("apps", map[string]string{"values.yaml": "replicaCount: 3\n"})

	u, err := url.Parse(s.URL("apps"))
	require.NoError(t, err)
	u.User = url.UserPassword(s.User(), s.Password())
	dir := filepath.Join(t.TempDir(), "c")
	runGit(t, s, "", "clone", "--quiet", u.String(), dir)
	assert.Equal(t, 1, s.Requests("apps", UploadPack))

	runGit(t, s, dir, "commit", "--quiet", "--allow-empty", "-m", "over http")
	runGit(t, s, dir, "push", "--quiet", "origin", "HEAD:main")
	assert.Equal(t, 1, s.Requests("apps", ReceivePack))
	assert.Equal(t, 1, s.PackRequests("apps", ReceivePack))

	log := s.Log("apps", "main")
	require.Len(t, log, 2)
	assert.Equal(t, "over http", log[0].Subject)
	assert.Equal(t, []string{first}, log[0].Parents)
	assert.Equal(t, log[0].SHA, s.HeadSHA("apps", "main"))
	assert.Equal(t, []string{"main"}, s.Branches("apps"))
	assert.Equal(t, "replicaCount: 3\n", s.ReadFile("apps", "main", "values.yaml"))
}

func TestServerRefusesWrongCredentials(t *testing.T) {
	s := NewServer(t, WithBasicAuth("alice", "right"))
	s.CreateRepo("apps", map[string]string{"a": "1\n"})

	for name, user := range map[string]*url.Userinfo{
		"none":           nil,
		"wrong password": url.UserPassword("alice", "wrong"),
		"wrong user":     url.UserPassword("bob", "right"),
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, s.URL("apps")+"/info/refs?service=git-upload-pack", nil)
			require.NoError(t, err)
			if user != nil {
				p, _ := user.Password()
				req.SetBasicAuth(user.Username(), p)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		})
	}
	assert.Zero(t, s.Requests("apps", UploadPack), "refused requests are not counted")
}

func TestHumanHelpers(t *testing.T) {
	s := NewServer(t)
	s.CreateRepo("apps", map[string]string{"values.yaml": "replicaCount: 3\n"})
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	edit := s.CommitAt("apps", map[string]string{"values.yaml": "replicaCount: 5\n"}, "bump", "Ann <ann@example.com>", at)
	rev := s.Revert("apps", edit, "Bob <bob@example.com>", at.Add(time.Minute))

	log := s.Log("apps", "main")
	require.Len(t, log, 3)
	assert.Equal(t, rev, log[0].SHA)
	assert.Equal(t, "Bob <bob@example.com>", log[0].Author)
	assert.Contains(t, log[0].Message, "This reverts commit "+edit+".")
	assert.True(t, log[1].Time.Equal(at))
	assert.Equal(t, "replicaCount: 3\n", s.ReadFile("apps", "main", "values.yaml"))
	assert.Equal(t, "bump\n", s.RawMessage("apps", edit))
}

func TestBeforeReceivePackHookRunsInsideThePush(t *testing.T) {
	var calls []string
	s := NewServer(t, WithBeforeReceivePack(func(repo string) { calls = append(calls, repo) }))
	s.CreateRepo("apps", map[string]string{"a": "1\n"})
	u, err := url.Parse(s.URL("apps"))
	require.NoError(t, err)
	u.User = url.UserPassword(s.User(), s.Password())
	dir := filepath.Join(t.TempDir(), "c")
	runGit(t, s, "", "clone", "--quiet", u.String(), dir)
	runGit(t, s, dir, "commit", "--quiet", "--allow-empty", "-m", "x")
	runGit(t, s, dir, "push", "--quiet", "origin", "HEAD:main")
	assert.Equal(t, []string{"apps"}, calls)
}

func runGit(t *testing.T, s *Server, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = s.gitEnv()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
}
