package svcconfig

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The token pair is one type (TokenSource) embedded inline in Git's auth, the hosts and the
// HTTP API: the YAML a user writes and the JSON and YAML the config is written back as keep
// tokenFile and tokenEnv where they were.
func TestTokenSourceKeepsTheShape(t *testing.T) {
	const doc = `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: AutoscalerConfig
repositories:
  - name: gh
    url: https://github.com/acme/a.git
    auth: {tokenEnv: GIT_TOKEN}
    github: {owner: acme, repo: a, tokenFile: /run/gh}
  - name: gl
    url: https://gitlab.com/acme/b.git
    gitlab: {project: acme/b, tokenEnv: GL_TOKEN}
http: {tokenEnv: API_TOKEN}
`
	cfg, err := LoadConfig("c.yaml", []byte(doc))
	require.NoError(t, err)
	for _, tc := range []struct {
		name      string
		got       TokenSource
		want      TokenSource
		value     any
		wantJSON  string
		wantYAMLs string
	}{
		{"github", cfg.Repositories[0].GitHub.TokenSource, TokenSource{TokenFile: "/run/gh"}, cfg.Repositories[0].GitHub,
			`{"owner":"acme","repo":"a","apiURL":"https://api.github.com/","tokenFile":"/run/gh"}`,
			"owner: acme\nrepo: a\napiURL: https://api.github.com/\ntokenFile: /run/gh\n"},
		{"gitlab", cfg.Repositories[1].GitLab.TokenSource, TokenSource{TokenEnv: "GL_TOKEN"}, cfg.Repositories[1].GitLab,
			`{"project":"acme/b","baseURL":"https://gitlab.com/","tokenEnv":"GL_TOKEN"}`,
			"project: acme/b\nbaseURL: https://gitlab.com/\ntokenEnv: GL_TOKEN\n"},
		{"git auth", cfg.Repositories[0].Auth.TokenSource, TokenSource{TokenEnv: "GIT_TOKEN"}, cfg.Repositories[0].Auth,
			`{"tokenEnv":"GIT_TOKEN"}`, "tokenEnv: GIT_TOKEN\n"},
		{"http", cfg.HTTP.TokenSource, TokenSource{TokenEnv: "API_TOKEN"}, cfg.HTTP,
			`{"listen":":8080","tokenEnv":"API_TOKEN"}`, "listen: :8080\ntokenEnv: API_TOKEN\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.got)
			j, err := json.Marshal(tc.value)
			require.NoError(t, err)
			assert.JSONEq(t, tc.wantJSON, string(j))
			y, err := yaml.Marshal(tc.value)
			require.NoError(t, err)
			assert.Equal(t, tc.wantYAMLs, string(y))
		})
	}
}

// Both fields of the pair at once is refused at the field the user wrote, as before.
func TestTokenSourceBothRefused(t *testing.T) {
	_, err := LoadConfig("c.yaml", []byte(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: AutoscalerConfig
repositories:
  - name: gh
    url: https://github.com/acme/a.git
    auth: {tokenFile: /run/git, tokenEnv: GIT}
    github: {owner: acme, repo: a, tokenFile: /run/gh, tokenEnv: GH}
`))
	assert.EqualError(t, err, "c.yaml:6: repositories[0].auth: set tokenFile or tokenEnv, not both\n"+
		"c.yaml:7: repositories[0].github: set tokenFile or tokenEnv, not both")
}
