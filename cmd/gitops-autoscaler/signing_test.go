package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// TestEvaluateSignsCommits: with commit.signing, the commit evaluate pushes carries an SSH
// signature that real `git verify-commit` accepts, and nothing prints the passphrase.
func TestEvaluateSignsCommits(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatalf("ssh-keygen is not installed: run integration/install-deps.sh")
	}
	c := newCLIRepo(t, nil, nil)
	_, key, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	const passphrase = "a-passphrase-never-printed"
	block, err := ssh.MarshalPrivateKeyWithPassphrase(key, "bot", []byte(passphrase))
	require.NoError(t, err)
	dir := t.TempDir()
	keyFile, passFile := filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "passphrase")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600))
	require.NoError(t, os.WriteFile(passFile, []byte(passphrase+"\n"), 0o600))
	cfg, err := os.ReadFile(c.config)
	require.NoError(t, err)
	signed := strings.Replace(string(cfg), "commit: {authorName: gitops-autoscaler, authorEmail: bot@example.com}",
		"commit: {authorName: gitops-autoscaler, authorEmail: bot@example.com, signing: {sshKeyFile: "+keyFile+", passphraseFile: "+passFile+"}}", 1)
	require.NotEqual(t, string(cfg), signed)
	require.NoError(t, os.WriteFile(c.config, []byte(signed), 0o600))

	code, out, errOut := runCLI("evaluate", "--config", c.config, "--metrics-file", c.trace, "--at", cliAt)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	head := c.head()
	require.NotEqual(t, c.initial, head, "a commit was pushed")
	assert.NotContains(t, out+errOut, passphrase)

	pub, err := ssh.NewPublicKey(key.Public())
	require.NoError(t, err)
	signers := filepath.Join(dir, "allowed_signers")
	require.NoError(t, os.WriteFile(signers, []byte(`bot@example.com namespaces="git" `+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))+"\n"), 0o600))
	verify := exec.Command("git", "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+signers, "verify-commit", head)
	verify.Dir = c.s.Dir("platform")
	verify.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	vout, err := verify.CombinedOutput()
	require.NoError(t, err, "%s", vout)
	assert.Contains(t, string(vout), `Good "git" signature for bot@example.com`)
}
