package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassifyGitURL(t *testing.T) {
	tests := []struct {
		url     string
		want    GitTransport
		wantErr string
	}{
		{url: "https://github.com/acme/platform.git", want: GitHTTPS},
		{url: "http://gitea.local/acme/platform", want: GitHTTP},
		{url: "ssh://git@github.com/acme/platform", want: GitSSH},
		{url: "ssh://git@github.com:2222/acme/platform", want: GitSSH},
		{url: "git@github.com:acme/platform.git", want: GitSSH},
		{url: "github.com:acme/platform.git", want: GitSSH},
		{url: "deploy_bot@git.internal:platform", want: GitSSH},
		{url: "file:///srv/git/platform.git", want: GitFile},
		{url: "/srv/git/platform.git", want: GitLocal},
		{url: "relative/platform", want: GitLocal},
		{url: "./gitops", want: GitLocal},
		{url: "../gitops", want: GitLocal},
		{url: "platform", want: GitLocal},
		{url: "backup/a:b", want: GitLocal},
		{url: `backup\a:b`, want: GitLocal},
		{url: "", wantErr: "required: https://, ssh://, git@host:path, file:// or a local path"},
		{url: "ftp://example.com/x.git", wantErr: `unsupported scheme "ftp": use https://, ssh://, git@host:path, file:// or a local path`},
		{url: "https://exa mple.com/x", wantErr: "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := ClassifyGitURL(tt.url)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}
