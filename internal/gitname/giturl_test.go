package gitname

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassifyGitURL(t *testing.T) {
	tests := []struct {
		url     string
		want    Transport
		wantErr string
	}{
		{url: "https://github.com/acme/platform.git", want: HTTPS},
		{url: "http://gitea.local/acme/platform", want: HTTP},
		{url: "ssh://git@github.com/acme/platform", want: SSH},
		{url: "ssh://git@github.com:2222/acme/platform", want: SSH},
		{url: "git@github.com:acme/platform.git", want: SSH},
		{url: "github.com:acme/platform.git", want: SSH},
		{url: "deploy_bot@git.internal:platform", want: SSH},
		{url: "file:///srv/git/platform.git", want: File},
		{url: "/srv/git/platform.git", want: Local},
		{url: "relative/platform", want: Local},
		{url: "./gitops", want: Local},
		{url: "../gitops", want: Local},
		{url: "platform", want: Local},
		{url: "backup/a:b", want: Local},
		{url: `backup\a:b`, want: Local},
		{url: "", wantErr: "required: https://, ssh://, git@host:path, file:// or a local path"},
		{url: "ftp://example.com/x.git", wantErr: `unsupported scheme "ftp": use https://, ssh://, git@host:path, file:// or a local path`},
		{url: "https://exa mple.com/x", wantErr: "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := Classify(tt.url)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestGitHubWebURL(t *testing.T) {
	for _, tc := range []struct {
		name, api, want string
	}{
		{"the public API", "https://api.github.com/", "https://github.com"},
		{"the public API without a slash", "https://api.github.com", "https://github.com"},
		{"no URL is the public API", "", "https://github.com"},
		{"GitHub Enterprise", "https://ghe.example.com/api/v3/", "https://ghe.example.com"},
		{"GitHub Enterprise on a port keeps it", "https://ghe.example.com:8443/api/v3/", "https://ghe.example.com:8443"},
		{"plain HTTP keeps its scheme", "http://127.0.0.1:4000/api/v3", "http://127.0.0.1:4000"},
		{"credentials are never part of it", "https://user:secret@ghe.example.com/api/v3/", "https://ghe.example.com"},
		{"not an http(s) URL is the public one", "ftp://ghe.example.com/", "https://github.com"},
		{"a URL that does not parse is the public one", "https://ghe example.com/%zz", "https://github.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, GitHubWebURL(tc.api))
		})
	}
}
