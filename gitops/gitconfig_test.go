package gitops

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// TestGitPlumbingDefaultsAreTheConfigs holds gitrepo's own defaults, which it keeps since it
// imports no config, equal to the service config's.
func TestGitPlumbingDefaultsAreTheConfigs(t *testing.T) {
	for _, tc := range []struct {
		name           string
		config, gitrep any
	}{
		{"branch", svcconfig.DefaultBranch, gitrepo.DefaultBranch},
		{"max file bytes", int64(svcconfig.DefaultGitMaxFileBytes), int64(gitrepo.DefaultMaxFileBytes)},
		{"max object bytes", int64(svcconfig.DefaultGitMaxObjectBytes), int64(gitrepo.DefaultMaxObjectBytes)},
		{"author name", svcconfig.DefaultAuthorName, gitrepo.DefaultAuthorName},
		{"author email", svcconfig.DefaultAuthorEmail, gitrepo.DefaultAuthorEmail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.config, tc.gitrep)
		})
	}
}

// TestGitConfigConversions holds the conversions from the config to the Git plumbing's types
// to every field. ClaimStart is a conversion of identical structs, so a field added on one
// side only does not compile; Auth and Identity are built, so a lost field shows here.
func TestGitConfigConversions(t *testing.T) {
	a := &svcconfig.GitAuth{TokenSource: svcconfig.TokenSource{TokenFile: "t", TokenEnv: "TE"}, Username: "u", PasswordFile: "p", PasswordEnv: "PE",
		SSHKeyFile: "k", KnownHostsFile: "kh"}
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"no auth", gitAuth(nil), (*gitrepo.Auth)(nil)},
		{"every auth field", *gitAuth(a), gitrepo.Auth{TokenFile: "t", TokenEnv: "TE", Username: "u", PasswordFile: "p",
			PasswordEnv: "PE", SSHKeyFile: "k", KnownHostsFile: "kh"}},
		{"identity", gitIdentity(svcconfig.CommitIdentity{AuthorName: "Bot", AuthorEmail: "bot@example.com"}),
			gitrepo.Identity{Name: "Bot", Email: "bot@example.com"}},
		{"empty identity takes gitrepo's defaults later", gitIdentity(svcconfig.CommitIdentity{}), gitrepo.Identity{}},
		{"claim start", policy.ClaimStart(gitrepo.ClaimStart{InBase: true, Began: true, Commit: "abc", Depth: 2, Bound: 3}),
			policy.ClaimStart{InBase: true, Began: true, Commit: "abc", Depth: 2, Bound: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.got)
		})
	}
}
