package gitrepo

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
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

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/signing"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// verifyCommit runs real `git verify-commit` in the server's bare repository.
func verifyCommit(t *testing.T, g *gittest.Server, sha string, env []string, config ...string) (string, error) {
	t.Helper()
	args := []string{}
	for _, c := range config {
		args = append(args, "-c", c)
	}
	cmd := exec.Command("git", append(args, "verify-commit", "--raw", sha)...)
	cmd.Dir = g.Dir("platform")
	cmd.Env = append(append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestSignedCommitsVerifyWithGit signs every commit of a workspace — on the base branch and a
// pull request's — with an SSH key and an OpenPGP key in turn, pushes them, and has real
// `git verify-commit` accept them on the server.
func TestSignedCommitsVerifyWithGit(t *testing.T) {
	for _, tool := range []string{"gpg", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run integration/install-deps.sh", tool)
		}
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(edKey, "bot")
	require.NoError(t, err)
	sshSigner, err := signing.NewSSH(pem.EncodeToMemory(block), nil)
	require.NoError(t, err)

	entity, err := openpgp.NewEntity("Autoscaler Bot", "", "bot@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return t0.Add(-time.Hour) }})
	require.NoError(t, err)
	var sec, pub bytes.Buffer
	w, _ := armor.Encode(&sec, openpgp.PrivateKeyType, nil)
	require.NoError(t, entity.SerializePrivateWithoutSigning(w, nil))
	require.NoError(t, w.Close())
	w, _ = armor.Encode(&pub, openpgp.PublicKeyType, nil)
	require.NoError(t, entity.Serialize(w))
	require.NoError(t, w.Close())
	pgpSigner, err := signing.NewOpenPGP(sec.Bytes(), nil, func() time.Time { return t0 })
	require.NoError(t, err)

	home := t.TempDir()
	signers := filepath.Join(home, "allowed_signers")
	require.NoError(t, os.WriteFile(signers, []byte(`bot@example.com namespaces="git" `+sshSigner.PublicKey()+"\n"), 0o600))
	gnupg := filepath.Join(home, "gnupg")
	require.NoError(t, os.MkdirAll(gnupg, 0o700))
	imp := exec.Command("gpg", "--batch", "--import")
	imp.Env, imp.Stdin = append(os.Environ(), "GNUPGHOME="+gnupg), bytes.NewReader(pub.Bytes())
	out, err := imp.CombinedOutput()
	require.NoError(t, err, "%s", out)

	for _, tc := range []struct {
		name   string
		signer Signer
		env    []string
		config []string
		good   string
	}{
		{name: "ssh", signer: sshSigner, config: []string{"gpg.format=ssh", "gpg.ssh.allowedSignersFile=" + signers}, good: `Good "git" signature for bot@example.com`},
		{name: "openpgp", signer: pgpSigner, env: []string{"GNUPGHOME=" + gnupg}, good: "GOODSIG " + pgpSigner.KeyID()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, opts := newRepo(t)
			opts.Signer = tc.signer
			ws := open(t, opts)
			sha := commitValues(t, ws, "6")
			require.NoError(t, ws.Push(context.Background()))
			require.Equal(t, sha, g.HeadSHA("platform", "main"))
			out, err := verifyCommit(t, g, sha, tc.env, tc.config...)
			require.NoError(t, err, out)
			assert.Contains(t, out, tc.good)
			assert.Equal(t, "scale to 6\n", g.RawMessage("platform", sha), "the message is the same signed or not")

			branchSHA, err := ws.CommitOnBase(CommitRequest{File: valuesFile, Content: []byte(values("9")), Message: "scale to 9\n", Author: identity, When: t0})
			require.NoError(t, err)
			require.NoError(t, ws.PushBranch(context.Background(), BranchPush{Branch: "autoscaler/shop/web", Commit: branchSHA}))
			out, err = verifyCommit(t, g, branchSHA, tc.env, tc.config...)
			require.NoError(t, err, out)
			assert.Contains(t, out, tc.good)
		})
	}
}

// failingSigner stands for a key that cannot sign (a hardware token gone, say).
type failingSigner struct{}

func (failingSigner) Sign([]byte) ([]byte, error) { return nil, errors.New("the key is unavailable") }

func TestASigningFailureCommitsNothing(t *testing.T) {
	g, opts := newRepo(t)
	opts.Signer = failingSigner{}
	ws := open(t, opts)
	base := ws.Base()
	_, err := ws.Commit(context.Background(), CommitRequest{File: valuesFile, Content: []byte(values("6")), Message: "scale\n", Author: identity, When: t0})
	require.ErrorContains(t, err, "sign commit: the key is unavailable")
	assert.Equal(t, base, ws.Head(), "no unsigned commit in its place")
	require.NoError(t, ws.Push(context.Background()))
	assert.Equal(t, base, g.HeadSHA("platform", "main"))
}

// TestMintedTokenServesHTTPSGit authenticates every network call with the token as the
// source gives it now: a rotated token is used at the next call, and a failure to mint names
// no secret.
func TestMintedTokenServesHTTPSGit(t *testing.T) {
	g := gittest.NewServer(t)
	g.CreateRepo("platform", map[string]string{valuesFile: values("3")})
	valid := map[string]bool{"ghs_first-token": true}
	g.AllowCredentials(func(user, password string) bool { return user == "x-access-token" && valid[password] })
	current, calls := "ghs_first-token", 0
	var mintErr error
	ws, err := Open(context.Background(), Options{
		Name: "platform", URL: g.URL("platform"), CacheDir: t.TempDir(),
		Token: func(context.Context) (string, error) { calls++; return current, mintErr },
	})
	require.NoError(t, err)
	commitValues(t, ws, "6")
	require.NoError(t, ws.Push(context.Background()))

	// The token rotates: the old one is revoked, the new one is used at once.
	valid = map[string]bool{"ghs_second-token": true}
	current = "ghs_second-token"
	require.NoError(t, ws.Sync(context.Background()))
	commitValues(t, ws, "7")
	require.NoError(t, ws.Push(context.Background()))
	assert.Equal(t, values("7"), g.ReadFile("platform", "main", valuesFile))
	assert.GreaterOrEqual(t, calls, 4, "one token per network call")

	// A revoked token's error does not show it.
	valid = map[string]bool{}
	err = ws.Sync(context.Background())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "ghs_second-token")
	mintErr = errors.New("mint refused")
	err = ws.Sync(context.Background())
	require.ErrorContains(t, err, "mint refused")

	_, err = Open(context.Background(), Options{Name: "x", URL: "git@example.com:acme/x.git", CacheDir: t.TempDir(), Token: func(context.Context) (string, error) { return "t", nil }})
	assert.ErrorContains(t, err, "a minted token needs an https URL")
}

func TestSameFileAndIsAncestor(t *testing.T) {
	g, opts := newRepo(t)
	ws := open(t, opts)
	first := ws.Base()
	g.Commit("platform", map[string]string{"README.md": "changed\n"}, "unrelated", "Ann <ann@example.com>")
	second := g.Commit("platform", map[string]string{"other.txt": "new\n"}, "unrelated too", "Ann <ann@example.com>")
	require.NoError(t, ws.Sync(context.Background()))
	third := g.Commit("platform", map[string]string{valuesFile: values("5")}, "a person scales", "Ann <ann@example.com>")
	require.NoError(t, ws.Sync(context.Background()))

	for _, tc := range []struct {
		name, a, b, file string
		same             bool
	}{
		{name: "untouched by unrelated commits", a: first, b: second, file: valuesFile, same: true},
		{name: "changed", a: first, b: third, file: valuesFile, same: false},
		{name: "added", a: first, b: second, file: "other.txt", same: false},
		{name: "absent in both", a: first, b: third, file: "nope.yaml", same: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			same, err := ws.SameFile(tc.a, tc.b, tc.file)
			require.NoError(t, err)
			assert.Equal(t, tc.same, same)
		})
	}
	for _, tc := range []struct {
		a, b string
		want bool
	}{{first, third, true}, {third, first, false}, {second, second, true}, {strings.Repeat("1", 40), third, false}} {
		ok, err := ws.IsAncestor(tc.a, tc.b)
		require.NoError(t, err)
		assert.Equal(t, tc.want, ok, "%s is ancestor of %s", tc.a[:7], tc.b[:7])
	}
}
