package signing

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// at is the fixed instant the test keys are made and commits are signed at.
var at = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return at }

// newPGPKey makes an Ed25519 OpenPGP key and returns its armored secret key (protected when
// passphrase is not empty) and armored public key.
func newPGPKey(t *testing.T, passphrase string) (secret, public []byte) {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return at.Add(-time.Hour) }}
	e, err := openpgp.NewEntity("Autoscaler Bot", "", "bot@example.com", cfg)
	require.NoError(t, err)
	var pub bytes.Buffer
	w, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	require.NoError(t, err)
	require.NoError(t, e.Serialize(w))
	require.NoError(t, w.Close())
	if passphrase != "" {
		require.NoError(t, e.EncryptPrivateKeys([]byte(passphrase), nil))
	}
	var sec bytes.Buffer
	w, err = armor.Encode(&sec, openpgp.PrivateKeyType, nil)
	require.NoError(t, err)
	require.NoError(t, e.SerializePrivateWithoutSigning(w, nil))
	require.NoError(t, w.Close())
	return sec.Bytes(), pub.Bytes()
}

// newSSHKey makes an SSH key of the kind ("ed25519" or "rsa") as an OpenSSH private key file,
// protected when passphrase is not empty.
func newSSHKey(t *testing.T, kind, passphrase string) []byte {
	t.Helper()
	var key any
	switch kind {
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		key = k
	case "rsa":
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		key = k
	}
	var block *pem.Block
	var err error
	if passphrase != "" {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "bot", []byte(passphrase))
	} else {
		block, err = ssh.MarshalPrivateKey(key, "bot")
	}
	require.NoError(t, err)
	return pem.EncodeToMemory(block)
}

// gitEnv isolates git (and gpg) from the machine's configuration.
func gitEnv(home string, extra ...string) []string {
	return append(append(os.Environ(),
		"HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GNUPGHOME="+filepath.Join(home, "gnupg"),
	), extra...)
}

func run(t *testing.T, dir string, env []string, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env, cmd.Stdin = dir, env, strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String() + errb.String(), err
}

// signedCommit writes a commit object signed by s into a new repository and returns the
// repository and the commit's sha. The commit is built as git builds one: the payload is the
// object without its gpgsig header, and the signature goes in that header, continued lines
// indented by one space.
func signedCommit(t *testing.T, s Signer, message string) (repo, home, sha string) {
	t.Helper()
	home = t.TempDir()
	repo = filepath.Join(home, "repo")
	env := gitEnv(home)
	out, err := run(t, "", env, "", "git", "init", "--quiet", repo)
	require.NoError(t, err, out)
	tree, err := run(t, repo, env, "", "git", "hash-object", "-t", "tree", "-w", "--stdin")
	require.NoError(t, err, tree)
	ident := fmt.Sprintf("Autoscaler Bot <bot@example.com> %d +0000", at.Unix())
	header := fmt.Sprintf("tree %s\nauthor %s\ncommitter %s\n", strings.TrimSpace(tree), ident, ident)
	payload := header + "\n" + message
	sig, err := s.Sign([]byte(payload))
	require.NoError(t, err)
	obj := header + "gpgsig " + strings.ReplaceAll(strings.TrimSuffix(string(sig), "\n"), "\n", "\n ") + "\n\n" + message
	sha, err = run(t, repo, env, obj, "git", "hash-object", "-t", "commit", "-w", "--stdin")
	require.NoError(t, err, sha)
	return repo, home, strings.TrimSpace(sha)
}

func requireTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		// The test dependencies (integration/install-deps.sh) install it; a missing tool is a
		// failure, never a skip.
		t.Fatalf("%s is not installed: run integration/install-deps.sh", name)
	}
}

func TestOpenPGPSignatureVerifiesWithGit(t *testing.T) {
	requireTool(t, "gpg")
	for _, tc := range []struct {
		name       string
		passphrase string
	}{
		{name: "unprotected key"},
		{name: "key with a passphrase", passphrase: "correct horse battery staple"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret, public := newPGPKey(t, tc.passphrase)
			s, err := NewOpenPGP(secret, []byte(tc.passphrase), clock)
			require.NoError(t, err)
			assert.Equal(t, "openpgp", s.Format())
			msg := "autoscale(shop/web): 3 → 6 replicas\n\nAutoscaler-To: 6\n"
			repo, home, sha := signedCommit(t, s, msg)

			env := gitEnv(home)
			require.NoError(t, os.MkdirAll(filepath.Join(home, "gnupg"), 0o700))
			out, err := run(t, "", env, string(public), "gpg", "--batch", "--import")
			require.NoError(t, err, out)
			out, err = run(t, repo, env, "", "git", "verify-commit", "--raw", sha)
			require.NoError(t, err, out)
			assert.Contains(t, out, "GOODSIG "+s.KeyID())
			assert.Contains(t, out, "Autoscaler Bot <bot@example.com>")

			// Another key's public half does not verify it.
			_, other := newPGPKey(t, "")
			home2 := t.TempDir()
			env2 := gitEnv(home2)
			require.NoError(t, os.MkdirAll(filepath.Join(home2, "gnupg"), 0o700))
			_, err = run(t, "", env2, string(other), "gpg", "--batch", "--import")
			require.NoError(t, err)
			out, err = run(t, repo, env2, "", "git", "verify-commit", sha)
			assert.Error(t, err, "a signature by an unknown key must not verify: %s", out)
		})
	}
}

func TestSSHSignatureVerifiesWithGit(t *testing.T) {
	requireTool(t, "ssh-keygen")
	for _, tc := range []struct {
		name, kind, passphrase string
	}{
		{name: "ed25519", kind: "ed25519"},
		{name: "rsa signs with sha-512", kind: "rsa"},
		{name: "ed25519 with a passphrase", kind: "ed25519", passphrase: "s3cret-phrase"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSSH(newSSHKey(t, tc.kind, tc.passphrase), []byte(tc.passphrase))
			require.NoError(t, err)
			assert.Equal(t, "ssh", s.Format())
			repo, home, sha := signedCommit(t, s, "autoscale(shop/web): 6 → 3 replicas\n")

			signers := filepath.Join(home, "allowed_signers")
			require.NoError(t, os.WriteFile(signers, []byte(`bot@example.com namespaces="git" `+s.PublicKey()+"\n"), 0o600))
			env := gitEnv(home)
			out, err := run(t, repo, env, "", "git", "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+signers, "verify-commit", sha)
			require.NoError(t, err, out)
			assert.Contains(t, out, `Good "git" signature for bot@example.com`)

			// The same key allowed only for another namespace does not verify a git signature.
			require.NoError(t, os.WriteFile(signers, []byte(`bot@example.com namespaces="file" `+s.PublicKey()+"\n"), 0o600))
			out, err = run(t, repo, env, "", "git", "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+signers, "verify-commit", sha)
			assert.Error(t, err, "a key not allowed for namespace git must not verify: %s", out)
		})
	}
}

// TestTamperedCommitDoesNotVerify changes one byte of the signed payload: the signature no
// longer matches, for both formats.
func TestTamperedCommitDoesNotVerify(t *testing.T) {
	requireTool(t, "ssh-keygen")
	s, err := NewSSH(newSSHKey(t, "ed25519", ""), nil)
	require.NoError(t, err)
	sig, err := s.Sign([]byte("payload one\n"))
	require.NoError(t, err)
	home := t.TempDir()
	signers := filepath.Join(home, "allowed_signers")
	require.NoError(t, os.WriteFile(signers, []byte(`bot@example.com namespaces="git" `+s.PublicKey()+"\n"), 0o600))
	sigFile := filepath.Join(home, "sig")
	require.NoError(t, os.WriteFile(sigFile, sig, 0o600))
	verify := func(payload string) error {
		_, err := run(t, "", gitEnv(home), payload, "ssh-keygen", "-Y", "verify", "-f", signers, "-I", "bot@example.com", "-n", "git", "-s", sigFile)
		return err
	}
	assert.NoError(t, verify("payload one\n"))
	assert.Error(t, verify("payload two\n"))
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, data, 0o600))
		return p
	}
	const pass = "the-passphrase-itself"
	secret, public := newPGPKey(t, pass)
	pgp := write("key.asc", secret)
	pub := write("pub.asc", public)
	sshKey := write("id_ed25519", newSSHKey(t, "ed25519", pass))
	good := write("pass", []byte(pass+"\n"))
	bad := write("bad-pass", []byte("not-it\n"))
	empty := write("empty", nil)

	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" means it loads
	}{
		{name: "openpgp", cfg: Config{GPGKeyFile: pgp, PassphraseFile: good}},
		{name: "ssh", cfg: Config{SSHKeyFile: sshKey, PassphraseFile: good}},
		{name: "openpgp without its passphrase", cfg: Config{GPGKeyFile: pgp}, want: "protected by a passphrase: set passphraseFile"},
		{name: "openpgp wrong passphrase", cfg: Config{GPGKeyFile: pgp, PassphraseFile: bad}, want: "the passphrase does not decrypt the key"},
		{name: "ssh wrong passphrase", cfg: Config{SSHKeyFile: sshKey, PassphraseFile: bad}, want: "the passphrase does not decrypt the key"},
		{name: "ssh without its passphrase", cfg: Config{SSHKeyFile: sshKey}, want: "protected by a passphrase"},
		{name: "a public key", cfg: Config{GPGKeyFile: pub}, want: "no secret key in the file"},
		{name: "an SSH key as OpenPGP", cfg: Config{GPGKeyFile: sshKey}, want: "not an OpenPGP key"},
		{name: "an OpenPGP key as SSH", cfg: Config{SSHKeyFile: pgp}, want: "not an SSH private key"},
		{name: "missing key file", cfg: Config{SSHKeyFile: filepath.Join(dir, "nope")}, want: "read SSH key: open " + filepath.Join(dir, "nope")},
		{name: "empty passphrase file", cfg: Config{GPGKeyFile: pgp, PassphraseFile: empty}, want: "passphrase file " + empty + " is empty"},
		{name: "both keys", cfg: Config{GPGKeyFile: pgp, SSHKeyFile: sshKey}, want: "not both"},
		{name: "no key", cfg: Config{PassphraseFile: good}, want: "no key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Load(tc.cfg, clock)
			if tc.want == "" {
				require.NoError(t, err)
				sig, err := s.Sign([]byte("payload\n"))
				require.NoError(t, err)
				assert.True(t, bytes.HasPrefix(sig, []byte("-----BEGIN ")), "armored: %s", sig)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			// An error names files, never a passphrase or key material.
			assert.NotContains(t, err.Error(), pass)
			assert.NotContains(t, err.Error(), "PRIVATE KEY")
		})
	}
}

// TestSSHArmor checks the armor ssh-keygen writes: 70-column base64 between the markers.
func TestSSHArmor(t *testing.T) {
	s, err := NewSSH(newSSHKey(t, "ed25519", ""), nil)
	require.NoError(t, err)
	sig, err := s.Sign([]byte("x"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(sig), "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 3)
	assert.Equal(t, "-----BEGIN SSH SIGNATURE-----", lines[0])
	assert.Equal(t, "-----END SSH SIGNATURE-----", lines[len(lines)-1])
	for _, l := range lines[1 : len(lines)-2] {
		assert.Len(t, l, 70)
	}
}
