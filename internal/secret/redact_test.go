package secret

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tok is a token with characters that base64 and URL encodings change.
const tok = "ghs_T0k3n+/with=Symbols&more"

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestRedact(t *testing.T) {
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
		// Finding 5 of issue 22: a Git server quoted back "Basic eC1hY2Nlc3MtdG9rZW46…".
		{name: "basic auth of x-access-token:token", in: "401: Authorization: Basic " + b64("x-access-token:"+tok) + " rejected",
			secrets: []string{tok}, want: "401: Authorization: Basic <secret> rejected"},
		{name: "basic auth of oauth2:token, no scheme quoted", in: "auth=" + b64("oauth2:"+tok) + ";",
			secrets: []string{tok}, want: "<secret>;"},
		{name: "basic auth of user:password, every alignment", in: b64("u:"+tok) + " " + b64("us:"+tok) + " " + b64("usr:"+tok),
			secrets: []string{tok}, want: "<secret> <secret> <secret>"},
		{name: "token:suffix", in: "x " + b64(tok+":x-oauth-basic") + " y", secrets: []string{tok}, want: "x <secret> y"},
		{name: "base64 of the token alone", in: "token " + b64(tok) + ".", secrets: []string{tok}, want: "token <secret>."},
		{name: "URL-safe and unpadded base64", in: base64.RawURLEncoding.EncodeToString([]byte("x-access-token:" + tok)),
			secrets: []string{tok}, want: "<secret>"},
		{name: "URL-encoded as a query value", in: "GET /?token=" + url.QueryEscape(tok) + "&x=1", secrets: []string{tok},
			want: "GET /?token=<secret>&x=1"},
		{name: "URL-encoded as a path, lower-case escapes", in: "/repos/" + strings.ReplaceAll(url.PathEscape(tok), "%2F", "%2f") + "/x", secrets: []string{tok},
			want: "/repos/<secret>/x"},
		{name: "an unknown basic credential", in: "got Basic " + b64("bot:hunter2") + " from you", want: "got Basic <secret> from you"},
		{name: "an unknown bearer token", in: "Authorization: Bearer ghp_0123456789abcdefABCDEF", want: "Authorization: Bearer <secret>"},
		{name: "prose after basic and bearer stays", in: `missing or wrong bearer token; WWW-Authenticate: Basic realm="x", Bearer realm="gitops-autoscaler"`,
			want: `missing or wrong bearer token; WWW-Authenticate: Basic realm="x", Bearer realm="gitops-autoscaler"`},
		{name: "a secret whose base64 is spelt by the mark", in: "x c2VjcmV0secr y", secrets: []string{"\xb1\xe7\x2b"},
			want: "x <secret> y"},
		{name: "a base64 word that is not a credential stays", in: "Basic dGVzdA== is a test", want: "Basic dGVzdA== is a test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Redact(tt.in, tt.secrets...))
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

// FuzzRedact: whatever surrounds it, a secret leaves Redact in none of the encodings it
// takes on the wire — as it is, URL-encoded, and in base64 alone or after any user name.
func FuzzRedact(f *testing.F) {
	f.Add("401: ", "x-access-token", tok, " quoted")
	f.Add("", "oauth2", "glpat-0123456789abcdef", "")
	f.Add("Basic ", "u", "pw12345", "==")
	f.Add("a", "", "s3cr3t-password", "b")
	f.Fuzz(func(t *testing.T, before, user, secret, after string) {
		if len(secret) < 6 || strings.ContainsAny(secret, "<>") {
			return // a secret is not shorter; and "<secret>" itself is what redaction writes
		}
		encodings := []string{secret, url.QueryEscape(secret), url.PathEscape(secret),
			b64(secret), b64(user + ":" + secret), base64.RawURLEncoding.EncodeToString([]byte(user + ":" + secret))}
		for _, enc := range encodings {
			out := Redact(before+enc+after, secret)
			for _, e := range encodings {
				if len(e) >= 8 && !strings.Contains(before+after, e) {
					assert.NotContains(t, out, e, "in %q", before+enc+after)
				}
			}
			assert.NotContains(t, out, secret)
		}
	})
}
