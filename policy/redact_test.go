package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedactText(t *testing.T) {
	tests := []struct {
		name, in string
		secrets  []string
		want     string
	}{
		{name: "no URL", in: "read envs/prod/values.yaml: no such file", want: "read envs/prod/values.yaml: no such file"},
		{name: "URL without userinfo", in: "http://prom:9090/api", want: "http://prom:9090/api"},
		{name: "user and password", in: "https://x:tok@github.com/a/b.git", want: "https://<redacted>@github.com/a/b.git"},
		{name: "token as the user", in: "https://tokenonly@prom", want: "https://<redacted>@prom"},
		{name: "inside a message", in: "clone https://user@h/r: 401", want: "clone https://<redacted>@h/r: 401"},
		{name: "every URL", in: "a http://u:p@h1/r and ssh://git:pw@h2/r", want: "a http://<redacted>@h1/r and ssh://<redacted>@h2/r"},
		{name: "an email address is not a URL", in: "mail bot@example.com about https://h/x?u=a@b", want: "mail bot@example.com about https://h/x?u=a@b"},
		{name: "scp-like SSH carries no secret", in: "git@github.com:a/b.git", want: "git@github.com:a/b.git"},
		{name: "secrets", in: "got Authorization=Bearer s3cr3t and s3cr3t again", secrets: []string{"s3cr3t", ""}, want: "got Authorization=Bearer <secret> and <secret> again"},
		{name: "longest secret first", in: "header dXNlcjpwdw== pw", secrets: []string{"pw", "dXNlcjpwdw=="}, want: "header <secret> <secret>"},
		{name: "both", in: "Get https://u:pw@h/x: echoed pw", secrets: []string{"pw"}, want: "Get https://<redacted>@h/x: echoed <secret>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, RedactText(tt.in, tt.secrets...))
			if tt.secrets == nil {
				assert.Equal(t, tt.want, RedactURLs(tt.in))
			}
		})
	}
}

// TestRedactedErrorKeepsClassificationNotTheText pins the one rule for scrubbed errors: the
// classification of the cause survives (errors.Is), the raw cause cannot be reached.
func TestRedactedErrorKeepsClassificationNotTheText(t *testing.T) {
	sentinel := errors.New("push race")
	raw := fmt.Errorf("push https://u:hunter2@h/r: %w", fmt.Errorf("%w: rejected (token hunter2)", sentinel))
	err := RedactError(raw, "hunter2")
	require.Error(t, err)
	assert.Equal(t, "push https://<redacted>@h/r: push race: rejected (token <secret>)", err.Error())
	assert.ErrorIs(t, err, sentinel)
	assert.Nil(t, errors.Unwrap(err), "the raw error cannot be unwrapped")
	var pe *fs.PathError
	assert.False(t, errors.As(fmt.Errorf("wrapped: %w", RedactError(&fs.PathError{Op: "open", Path: "/x/hunter2", Err: fs.ErrNotExist}, "hunter2")), &pe),
		"nor reached by errors.As")
	assert.ErrorIs(t, RedactError(fmt.Errorf("query: %w", context.DeadlineExceeded)), context.DeadlineExceeded)
	assert.NoError(t, RedactError(nil))
}
