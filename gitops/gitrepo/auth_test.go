package gitrepo

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func TestResolveAuth(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	tokenFile := write("token", "tok-123\n")
	empty := write("empty", "\n")
	key, knownHosts := sshKeyFiles(t, dir)
	env := envOf(map[string]string{"TOKEN": "tok-env", "PW": "pw-env"})

	tests := []struct {
		name     string
		url      string
		auth     *Auth
		wantUser string
		wantPass string
		wantSSH  bool
		wantErr  string
	}{
		{name: "none", url: "https://h/r", auth: nil},
		{name: "token file", url: "https://h/r", auth: &Auth{TokenFile: tokenFile}, wantUser: "x-access-token", wantPass: "tok-123"},
		{name: "token env, git user", url: "https://h/r", auth: &Auth{TokenEnv: "TOKEN", Username: "git"}, wantUser: "git", wantPass: "tok-env"},
		{name: "user and password", url: "https://h/r", auth: &Auth{Username: "bob", PasswordEnv: "PW"}, wantUser: "bob", wantPass: "pw-env"},
		{name: "ssh key", url: "git@github.com:acme/platform.git", auth: &Auth{SSHKeyFile: key, KnownHostsFile: knownHosts}, wantSSH: true},
		{name: "token on ssh", url: "ssh://git@h/r", auth: &Auth{TokenFile: tokenFile}, wantErr: "needs an https URL"},
		{name: "key on https", url: "https://h/r", auth: &Auth{SSHKeyFile: key}, wantErr: "needs an ssh URL"},
		{name: "two forms", url: "https://h/r", auth: &Auth{TokenFile: tokenFile, Username: "u", PasswordEnv: "PW"}, wantErr: "use one of"},
		{name: "password without user", url: "https://h/r", auth: &Auth{PasswordEnv: "PW"}, wantErr: "needs a username"},
		{name: "unset env", url: "https://h/r", auth: &Auth{TokenEnv: "NOPE"}, wantErr: "auth: read git token: environment variable NOPE is not set"},
		{name: "empty file", url: "https://h/r", auth: &Auth{TokenFile: empty}, wantErr: "is empty"},
		{name: "missing file", url: "https://h/r", auth: &Auth{TokenFile: filepath.Join(dir, "nope")}, wantErr: "auth: read git token: open " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{name: "username alone", url: "https://h/r", auth: &Auth{Username: "u"}, wantErr: "incomplete"},
		{name: "bad known_hosts", url: "ssh://git@h/r", auth: &Auth{SSHKeyFile: key, KnownHostsFile: filepath.Join(dir, "nope")}, wantErr: "known_hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := resolveAuth(tt.url, tt.auth, env)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "tok-")
				assert.NotContains(t, err.Error(), "pw-env")
				return
			}
			require.NoError(t, err)
			switch {
			case tt.wantSSH:
				keys, ok := c.method.(*gitssh.PublicKeys)
				require.True(t, ok, "got %T", c.method)
				assert.Equal(t, "git", keys.User)
				assert.NotNil(t, keys.HostKeyCallback, "host keys are checked")
			case tt.wantUser != "":
				basic, ok := c.method.(*githttp.BasicAuth)
				require.True(t, ok, "got %T", c.method)
				assert.Equal(t, tt.wantUser, basic.Username)
				assert.Equal(t, tt.wantPass, basic.Password)
				assert.Equal(t, []string{tt.wantPass}, c.secrets)
				assert.NotContains(t, fmt.Sprint(basic), tt.wantPass, "go-git's BasicAuth prints masked")
			default:
				assert.Nil(t, c.method)
			}
		})
	}
}

// The known_hosts callback refuses a host key it does not know.
func TestSSHHostKeyIsChecked(t *testing.T) {
	dir := t.TempDir()
	key, knownHosts := sshKeyFiles(t, dir)
	known := hostKey(t)
	require.NoError(t, os.WriteFile(knownHosts, []byte("git.example.com "+string(ssh.MarshalAuthorizedKey(known.PublicKey()))), 0o600))
	c, err := resolveAuth("ssh://git@git.example.com/r", &Auth{SSHKeyFile: key, KnownHostsFile: knownHosts}, envOf(nil))
	require.NoError(t, err)
	keys, ok := c.method.(*gitssh.PublicKeys)
	require.True(t, ok)
	addr := fakeAddr("192.0.2.1:22")
	assert.NoError(t, keys.HostKeyCallback("git.example.com:22", addr, known.PublicKey()))
	assert.Error(t, keys.HostKeyCallback("git.example.com:22", addr, hostKey(t).PublicKey()), "an unknown key is refused")
	assert.Error(t, keys.HostKeyCallback("other.example.com:22", addr, known.PublicKey()), "an unknown host is refused")
}

func sshKeyFiles(t *testing.T, dir string) (key, knownHosts string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	key = filepath.Join(dir, "id_ed25519")
	require.NoError(t, os.WriteFile(key, pem.EncodeToMemory(block), 0o600))
	knownHosts = filepath.Join(dir, "known_hosts")
	require.NoError(t, os.WriteFile(knownHosts, nil, 0o600))
	return key, knownHosts
}

func hostKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return s
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }
