package policy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

func TestLoadConfigDesignExample(t *testing.T) {
	cfg, err := svcconfig.LoadConfig("config.yaml", mustRead(t, "testdata/config.yaml"))
	require.NoError(t, err)
	require.Len(t, cfg.Repositories, 1)
	r := cfg.Repositories[0]
	assert.Equal(t, "main", r.Branch)
	assert.Equal(t, []string{"autoscaling/**/*.yaml"}, r.Policies)
	assert.Equal(t, "/var/run/secrets/git/token", r.Auth.TokenFile)
	assert.Equal(t, "platform-gitops", r.GitHub.Repo)
	require.Len(t, cfg.Prometheus, 1)
	assert.Equal(t, 10*time.Second, cfg.Prometheus[0].Timeout.Duration)
	assert.Equal(t, map[string]string{"X-Scope-OrgID": "team-a"}, cfg.Prometheus[0].Headers)
	assert.Equal(t, svcconfig.DefaultQueryConcurrency, cfg.Prometheus[0].QueryConcurrency)
	assert.Equal(t, "gitops-autoscaler@example.com", cfg.Commit.AuthorEmail)
	assert.Equal(t, ":8080", cfg.HTTP.Listen)
	assert.Equal(t, svcconfig.DefaultCycleTimeout, cfg.CycleTimeout.Duration)
	assert.Equal(t, 12, cfg.Source.LineOf("prometheus[0].url"))
}

func TestLoadConfigForms(t *testing.T) {
	const head = "apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: AutoscalerConfig\nrepositories:\n"
	tests := []struct {
		name    string
		repo    string
		check   func(t *testing.T, c *svcconfig.Config)
		wantErr string
	}{
		{name: "ssh URL with key", repo: "  - {name: r, url: 'ssh://git@github.com/acme/x.git', auth: {sshKeyFile: k, knownHostsFile: kh}}"},
		{name: "scp-like URL with key", repo: "  - {name: r, url: 'git@github.com:acme/x.git', auth: {sshKeyFile: k, knownHostsFile: kh}}"},
		{name: "file URL without auth", repo: "  - {name: r, url: 'file:///srv/git/x.git'}"},
		{name: "local path", repo: "  - {name: r, url: ./gitops}"},
		{name: "basic auth by env", repo: "  - {name: r, url: 'https://git.example.com/x.git', auth: {username: bot, passwordEnv: GIT_PASSWORD}}"},
		{name: "github defaults its API URL", repo: "  - {name: r, url: 'https://github.com/acme/x.git', github: {owner: acme, repo: x, tokenEnv: GH_TOKEN}}",
			check: func(t *testing.T, c *svcconfig.Config) {
				assert.Equal(t, svcconfig.DefaultGitHubAPIURL, c.Repositories[0].GitHub.APIURL)
			}},
		{name: "gitlab defaults its base URL", repo: "  - {name: r, url: 'https://gitlab.com/acme/x.git', auth: {tokenEnv: GL_TOKEN}, gitlab: {project: acme/team/x, tokenEnv: GL_TOKEN}}",
			check: func(t *testing.T, c *svcconfig.Config) {
				assert.Equal(t, svcconfig.DefaultGitLabURL, c.Repositories[0].GitLab.BaseURL)
				assert.Equal(t, "acme/team/x", c.Repositories[0].GitLab.Project)
			}},
		{name: "github app without git auth", repo: "  - {name: r, url: 'https://github.com/acme/x.git', github: {owner: acme, repo: x, verifiedCommits: true, app: {appID: 1042, installationID: 7001, privateKeyFile: /k.pem}}}",
			check: func(t *testing.T, c *svcconfig.Config) {
				assert.Equal(t, &svcconfig.GitHubApp{AppID: 1042, InstallationID: 7001, PrivateKeyFile: "/k.pem"}, c.Repositories[0].GitHub.App)
				assert.True(t, c.Repositories[0].GitHub.VerifiedCommits)
			}},
		{name: "signing with an SSH key", repo: "  - {name: r, url: ./gitops}\ncommit: {signing: {sshKeyFile: /id_ed25519}}",
			check: func(t *testing.T, c *svcconfig.Config) {
				assert.Equal(t, &svcconfig.CommitSigning{SSHKeyFile: "/id_ed25519"}, c.Commit.Signing)
			}},
		{name: "a status token", repo: "  - {name: r, url: ./gitops}\nhttp: {statusTokenFile: /run/status-token}",
			check: func(t *testing.T, c *svcconfig.Config) {
				assert.Equal(t, "/run/status-token", c.HTTP.StatusTokenFile)
			}},
		{name: "a status token from a file and a variable", repo: "  - {name: r, url: ./gitops}\nhttp: {statusTokenFile: /run/t, statusTokenEnv: T}",
			wantErr: "c.yaml:5: http: set statusTokenFile or statusTokenEnv, not both"},
		{name: "token with an ssh URL", repo: "  - {name: r, url: 'git@github.com:acme/x.git', auth: {tokenFile: t}}",
			wantErr: "c.yaml:4: repositories[0].auth: an ssh URL needs sshKeyFile and knownHostsFile"},
		{name: "empty auth", repo: "  - {name: r, url: 'https://github.com/acme/x.git', auth: {}}",
			wantErr: "c.yaml:4: repositories[0].auth: set one form"},
		{name: "repository name unsafe as a directory", repo: "  - {name: ../x, url: 'https://github.com/acme/x.git'}",
			wantErr: `c.yaml:4: repositories[0].name: must be letters, digits, '.', '_' or '-', got "../x"`},
		{name: "bad branch", repo: "  - {name: r, url: 'https://github.com/acme/x.git', branch: 'feature..x'}",
			wantErr: `c.yaml:4: repositories[0].branch: not a valid branch name: "feature..x"`},
		{name: "user in an https URL", repo: "  - {name: r, url: 'https://bot@github.com/acme/x.git'}",
			wantErr: "c.yaml:4: repositories[0].url: must not carry credentials (https://bot@github.com/acme/x.git): use auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := svcconfig.LoadConfig("c.yaml", []byte(head+tt.repo+"\n"))
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			if tt.check != nil {
				tt.check(t, cfg)
			}
		})
	}
}

func TestLoadConfigDocumentCount(t *testing.T) {
	one := string(mustRead(t, "testdata/config.yaml"))
	_, err := svcconfig.LoadConfig("c.yaml", []byte(one+"---\n"+one))
	require.Error(t, err)
	assert.Equal(t, "c.yaml:20: more than one AutoscalerConfig document", err.Error())

	_, err = svcconfig.LoadConfig("c.yaml", []byte("# empty\n"))
	require.Error(t, err)
	assert.Equal(t, "c.yaml:1: no AutoscalerConfig document", err.Error())

	_, err = svcconfig.LoadConfig("c.yaml", mustRead(t, "testdata/seed.yaml"))
	require.Error(t, err)
	assert.Equal(t, `c.yaml:2: kind: must be AutoscalerConfig, got "PrometheusAutoscaler"`, err.Error())
}

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"autoscaling/**/*.yaml", "autoscaling/web.yaml", true},
		{"autoscaling/**/*.yaml", "autoscaling/prod/eu/web.yaml", true},
		{"autoscaling/**/*.yaml", "autoscaling/web.yml", false},
		{"autoscaling/**/*.yaml", "other/autoscaling/web.yaml", false},
		{"autoscaling/*.yaml", "autoscaling/prod/web.yaml", false},
		{"**", "a/b/c", true},
		{"**/policy.yaml", "policy.yaml", true},
		{"**/policy.yaml", "x/y/policy.yaml", true},
		{"a/**/b/**/c", "a/b/c", true},
		{"a/**/b/**/c", "a/x/b/y/z/c", true},
		{"a/**/b/**/c", "a/x/c", false},
		{"envs/*/policies/[a-m]*.yaml", "envs/prod/policies/laravel.yaml", true},
		{"envs/*/policies/[a-m]*.yaml", "envs/prod/policies/web.yaml", false},
		{"autoscaling/[.yaml", "autoscaling/[.yaml", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, svcconfig.MatchGlob(tt.pattern, tt.name))
		})
	}
}

func TestValidateGlob(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		wantErr string
	}{
		{name: "double star", pattern: "autoscaling/**/*.yaml"},
		{name: "class", pattern: "envs/[a-z]*/p.yaml"},
		{name: "empty", pattern: "", wantErr: "empty glob"},
		{name: "absolute", pattern: "/etc/*.yaml", wantErr: "must be relative"},
		{name: "escapes", pattern: "../*.yaml", wantErr: "no '..' elements"},
		{name: "unclosed class", pattern: "a/[b.yaml", wantErr: `bad pattern "[b.yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := svcconfig.ValidateGlob(tt.pattern)
			if tt.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestReadSecrets(t *testing.T) {
	const value = "hunter2-0123456789"
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte(value+"\n"), 0o600))
	emptyFile := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(emptyFile, []byte("\n"), 0o600))
	t.Setenv("TEST_SECRET_SET", " "+value+" ")
	t.Setenv("TEST_SECRET_EMPTY", "")

	tests := []struct {
		name    string
		read    func() (secret.Value, error)
		want    secret.Value
		wantErr string
	}{
		{name: "bearer token file, newline trimmed", read: (&svcconfig.PrometheusServer{Name: "p", BearerTokenFile: tokenFile}).ReadBearerToken, want: value},
		{name: "git token from env", read: (&svcconfig.GitAuth{TokenSource: svcconfig.TokenSource{TokenEnv: "TEST_SECRET_SET"}}).ReadToken, want: value},
		{name: "git password file", read: (&svcconfig.GitAuth{Username: "bot", PasswordFile: tokenFile}).ReadPassword, want: value},
		{name: "basic auth password env", read: (&svcconfig.BasicAuth{Username: "u", PasswordEnv: "TEST_SECRET_SET"}).ReadPassword, want: value},
		{name: "github token", read: (&svcconfig.GitHubRepo{TokenSource: svcconfig.TokenSource{TokenFile: tokenFile}}).ReadToken, want: value},
		{name: "http token", read: (&svcconfig.HTTPConfig{TokenSource: svcconfig.TokenSource{TokenEnv: "TEST_SECRET_SET"}}).ReadToken, want: value},
		{name: "none configured", read: (&svcconfig.PrometheusServer{Name: "p"}).ReadBearerToken, want: ""},
		{name: "missing file", read: (&svcconfig.GitAuth{TokenSource: svcconfig.TokenSource{TokenFile: filepath.Join(dir, "nope")}}).ReadToken,
			wantErr: "read git token: open " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{name: "empty file", read: (&svcconfig.GitHubRepo{TokenSource: svcconfig.TokenSource{TokenFile: emptyFile}}).ReadToken,
			wantErr: "read github token: file " + emptyFile + " is empty"},
		{name: "unset env", read: (&svcconfig.HTTPConfig{TokenSource: svcconfig.TokenSource{TokenEnv: "TEST_SECRET_UNSET"}}).ReadToken,
			wantErr: "read http token: environment variable TEST_SECRET_UNSET is not set"},
		{name: "empty env", read: (&svcconfig.PrometheusServer{Name: "p", BearerTokenEnv: "TEST_SECRET_EMPTY"}).ReadBearerToken,
			wantErr: "read prometheus p bearer token: environment variable TEST_SECRET_EMPTY is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.read()
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Equal(t, tt.wantErr, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			if got != "" {
				printed := fmt.Sprintf("%v %s %+v %#v", got, got, got, got)
				assert.NotContains(t, printed, value, "a Secret never prints its value")
			}
		})
	}
}

func TestValidateSet(t *testing.T) {
	cfg, err := svcconfig.LoadConfig("config.yaml", mustRead(t, "testdata/config.yaml"))
	require.NoError(t, err)
	base := string(mustRead(t, "testdata/full.yaml"))
	load := func(t *testing.T, file, repo string, replace ...string) *Policy {
		t.Helper()
		ps, err := LoadPolicies(file, []byte(strings.NewReplacer(replace...).Replace(base)))
		require.NoError(t, err)
		require.Len(t, ps, 1)
		ps[0].Source.Repository = repo
		return ps[0]
	}
	tests := []struct {
		name     string
		cfg      *svcconfig.Config
		policies func(t *testing.T) []*Policy
		want     []string
	}{
		{name: "distinct policies", cfg: cfg, policies: func(t *testing.T) []*Policy {
			return []*Policy{load(t, "a.yaml", ""), load(t, "b.yaml", "", "name: laravel-web\n", "name: worker\n", "laravelWeb.replicaCount", "worker.replicaCount")}
		}},
		{name: "same target in different repositories", cfg: cfg, policies: func(t *testing.T) []*Policy {
			return []*Policy{load(t, "a.yaml", "one"), load(t, "b.yaml", "two", "name: laravel-web\n", "name: worker\n")}
		}},
		{name: "same target, equivalent spelling", cfg: cfg, policies: func(t *testing.T) []*Policy {
			return []*Policy{load(t, "a.yaml", ""), load(t, "b.yaml", "", "name: laravel-web\n", "name: worker\n", "file: envs/prod/", "file: ./envs/prod/")}
		}, want: []string{"b.yaml:12: spec.replicas.path: policy laravel-demo/worker writes the same file and path as laravel-demo/laravel-web (a.yaml:12); the two would flip-flop"}},
		// Issue 21, item 9: a DryRun policy never writes, so beside a live one it is a shadow.
		{name: "a DryRun policy beside a live one on the same target", cfg: cfg, policies: func(t *testing.T) []*Policy {
			return []*Policy{load(t, "a.yaml", ""), load(t, "b.yaml", "", "name: laravel-web\n", "name: worker\n",
				"mode: PullRequest ", "mode: DryRun ", "  delivery: {scaleUp: Commit, scaleDown: PullRequest}", "")}
		}},
		{name: "a DryRun policy whose delivery commits still conflicts", cfg: cfg, policies: func(t *testing.T) []*Policy {
			return []*Policy{load(t, "a.yaml", ""), load(t, "b.yaml", "", "name: laravel-web\n", "name: worker\n", "mode: PullRequest ", "mode: DryRun ")}
		}, want: []string{"b.yaml:12: spec.replicas.path: policy laravel-demo/worker writes the same file and path as laravel-demo/laravel-web (a.yaml:12); the two would flip-flop"}},
		{name: "same path in another document of a manifest", cfg: cfg, policies: func(t *testing.T) []*Policy {
			return []*Policy{load(t, "a.yaml", ""), load(t, "b.yaml", "", "name: laravel-web\n", "name: worker\n", "name: web}", "name: worker}")}
		}},
		{name: "duplicate IDs", cfg: nil, policies: func(t *testing.T) []*Policy {
			return []*Policy{load(t, "a.yaml", "one"), load(t, "b.yaml", "two")}
		}, want: []string{"b.yaml:6: metadata.name: duplicate policy laravel-demo/laravel-web (first at a.yaml:6)"}},
		{name: "no config: servers are not checked", cfg: nil, policies: func(t *testing.T) []*Policy {
			return []*Policy{load(t, "a.yaml", "", "server: default", "server: thanos")}
		}},
		{name: "policy URL allowed by the config", cfg: &svcconfig.Config{AllowPolicyPrometheusURLs: true}, policies: func(t *testing.T) []*Policy {
			return []*Policy{load(t, "a.yaml", "", "{server: default}", "{url: 'http://prom:9090'}")}
		}},
		{name: "unknown server with no servers configured", cfg: &svcconfig.Config{}, policies: func(t *testing.T) []*Policy {
			return []*Policy{load(t, "a.yaml", "")}
		}, want: []string{`a.yaml:23: spec.prometheus.server: unknown Prometheus server "default": the config defines no Prometheus servers`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateSet(tt.cfg, tt.policies(t))
			if tt.want == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, strings.Join(tt.want, "\n"), err.Error())
		})
	}
}

func TestConfigValidateInCode(t *testing.T) {
	cfg := &svcconfig.Config{APIVersion: APIVersion, Kind: KindConfig}
	cfg.SetDefaults()
	err := cfg.Validate()
	require.Error(t, err)
	assert.Equal(t, "repositories: at least one repository is required", err.Error())
}

// TestLoadConfigFileResolvesWhereItIs pins the settling LoadConfigFile does after validation: a
// relative local repository is relative to the config file's directory, remote URLs and
// absolute paths stay as written, and a config without cacheDir gets DefaultCacheDir.
func TestLoadConfigFileResolvesWhereItIs(t *testing.T) {
	dir := t.TempDir()
	repos := `repositories:
  - {name: local, url: ../gitops}
  - {name: here, url: platform}
  - {name: absolute, url: /srv/git/platform.git}
  - {name: scp, url: 'git@github.com:acme/x.git', auth: {sshKeyFile: k, knownHostsFile: kh}}
  - {name: https, url: 'https://github.com/acme/x.git'}
`
	write := func(name, extra string) string {
		p := filepath.Join(dir, "conf", name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: AutoscalerConfig\n"+repos+extra), 0o600))
		return p
	}

	cfg, err := svcconfig.LoadConfigFile(write("a.yaml", ""))
	require.NoError(t, err)
	var urls []string
	for _, r := range cfg.Repositories {
		urls = append(urls, r.URL)
	}
	assert.Equal(t, []string{
		filepath.Join(dir, "gitops"),
		filepath.Join(dir, "conf", "platform"),
		"/srv/git/platform.git",
		"git@github.com:acme/x.git",
		"https://github.com/acme/x.git",
	}, urls)
	assert.Equal(t, svcconfig.DefaultCacheDir(), cfg.CacheDir)
	assert.Equal(t, "gitops-autoscaler", filepath.Base(cfg.CacheDir))

	cfg, err = svcconfig.LoadConfigFile(write("b.yaml", "cacheDir: /var/cache/autoscaler\n"))
	require.NoError(t, err)
	assert.Equal(t, "/var/cache/autoscaler", cfg.CacheDir, "a configured cacheDir stays")

	cfg, err = svcconfig.LoadConfig("c.yaml", []byte("apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: AutoscalerConfig\n"+repos))
	require.NoError(t, err)
	assert.Equal(t, "../gitops", cfg.Repositories[0].URL, "LoadConfig has no file to be relative to")
	assert.Empty(t, cfg.CacheDir)
}
