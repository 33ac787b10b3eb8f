package githubapp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/githubapp"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/githubtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// fakeClock is a clock tests move by hand; the server and the token source share it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func setup(t *testing.T) (*githubtest.Server, *gittest.Server, *fakeClock, string) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	g := gittest.NewServer(t)
	g.CreateRepo("platform", map[string]string{"a.txt": "1\n"})
	s := githubtest.New(t, g, "platform", githubtest.WithApp(), githubtest.WithToken(""), githubtest.WithClock(clock.Now))
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	require.NoError(t, os.WriteFile(keyFile, s.AppPrivateKeyPEM(), 0o600))
	return s, g, clock, keyFile
}

func apiGet(t *testing.T, s *githubtest.Server, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL()+"repos/acme/platform/pulls", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestTokensAreMintedCachedAndRefreshed(t *testing.T) {
	s, _, clock, keyFile := setup(t)
	tokens, err := githubapp.New(githubapp.Config{
		AppID: githubtest.DefaultAppID, InstallationID: githubtest.DefaultInstallationID,
		PrivateKeyFile: keyFile, APIURL: s.URL(),
	}, githubapp.Options{Now: clock.Now})
	require.NoError(t, err)
	ctx := context.Background()

	first, err := tokens.Token(ctx)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(first, "ghs_"), "an installation token")
	assert.Equal(t, http.StatusOK, apiGet(t, s, first), "the API accepts the minted token")

	clock.Advance(50 * time.Minute)
	again, err := tokens.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, first, again, "a token with 10 minutes left is reused")
	assert.Equal(t, 1, s.MintedTokens())

	clock.Advance(6 * time.Minute) // 4 minutes left: replaced before it ends
	fresh, err := tokens.Token(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, first, fresh)
	assert.Equal(t, 2, s.MintedTokens())
	assert.Equal(t, 2, tokens.Mints())

	clock.Advance(5 * time.Minute) // the first token has expired on the server
	assert.Equal(t, http.StatusUnauthorized, apiGet(t, s, first))
	assert.Equal(t, http.StatusOK, apiGet(t, s, fresh))

	tokens.Invalidate("not-the-token")
	same, err := tokens.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, fresh, same, "invalidating another token keeps this one")
	tokens.Invalidate(fresh)
	third, err := tokens.Token(ctx)
	require.NoError(t, err)
	assert.NotEqual(t, fresh, third, "a rejected token is replaced at once")
	assert.Empty(t, s.Writes(), "minting writes nothing to the repository")
}

// TestTokenWorksForHTTPSGit clones the repository over HTTPS with the installation token as
// the password of x-access-token, as GitHub documents for Apps.
func TestTokenWorksForHTTPSGit(t *testing.T) {
	s, g, clock, keyFile := setup(t)
	tokens, err := githubapp.New(githubapp.Config{
		AppID: githubtest.DefaultAppID, InstallationID: githubtest.DefaultInstallationID, PrivateKeyFile: keyFile, APIURL: s.URL(),
	}, githubapp.Options{Now: clock.Now})
	require.NoError(t, err)
	tok, err := tokens.Token(context.Background())
	require.NoError(t, err)

	clone := func(user, password string) error {
		u := strings.Replace(g.URL("platform"), "://", "://"+user+":"+password+"@", 1)
		cmd := exec.Command("git", "clone", "--quiet", u, filepath.Join(t.TempDir(), "c"))
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_TERMINAL_PROMPT=0")
		return cmd.Run()
	}
	assert.NoError(t, clone("x-access-token", tok))
	assert.Error(t, clone("x-access-token", "ghs_not-a-token"))
	clock.Advance(61 * time.Minute)
	assert.Error(t, clone("x-access-token", tok), "an expired token no longer opens the repository")
}

func TestMintErrors(t *testing.T) {
	s, _, clock, keyFile := setup(t)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	otherFile := filepath.Join(t.TempDir(), "other.pem")
	require.NoError(t, os.WriteFile(otherFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(otherKey)}), 0o600))

	for _, tc := range []struct {
		name string
		cfg  githubapp.Config
		want string
	}{
		{name: "another app's key", cfg: githubapp.Config{AppID: githubtest.DefaultAppID, InstallationID: githubtest.DefaultInstallationID, PrivateKeyFile: otherFile},
			want: "HTTP 401: A JSON web token could not be decoded"},
		{name: "wrong app id", cfg: githubapp.Config{AppID: 99, InstallationID: githubtest.DefaultInstallationID, PrivateKeyFile: keyFile},
			want: "HTTP 401: Integration not found"},
		{name: "unknown installation", cfg: githubapp.Config{AppID: githubtest.DefaultAppID, InstallationID: 12, PrivateKeyFile: keyFile},
			want: "HTTP 404: Not Found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.APIURL = s.URL()
			tokens, err := githubapp.New(tc.cfg, githubapp.Options{Now: clock.Now})
			require.NoError(t, err)
			_, err = tokens.Token(context.Background())
			require.ErrorIs(t, err, githubapp.ErrMint)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "eyJ", "the JWT never appears in an error")
		})
	}
	assert.Zero(t, s.MintedTokens())

	// A key file that is missing or not a key fails at New, naming the file only.
	_, err = githubapp.New(githubapp.Config{AppID: 1, InstallationID: 2, PrivateKeyFile: filepath.Join(t.TempDir(), "nope.pem")}, githubapp.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read private key")
	notKey := filepath.Join(t.TempDir(), "garbage.pem")
	require.NoError(t, os.WriteFile(notKey, []byte("-----BEGIN SECRET-----\nc2VjcmV0LWJ5dGVz\n-----END SECRET-----\n"), 0o600))
	_, err = githubapp.New(githubapp.Config{AppID: 1, InstallationID: 2, PrivateKeyFile: notKey}, githubapp.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), notKey+" is not an RSA private key")
	assert.NotContains(t, err.Error(), "c2VjcmV0LWJ5dGVz")
	_, err = githubapp.New(githubapp.Config{PrivateKeyFile: keyFile}, githubapp.Options{})
	assert.ErrorContains(t, err, "appID and installationID are required")
}
