package render

import (
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// TestSlugify: Argo CD v3.2.11's own cases (applicationset/utils TestSlugify), then the
// defaults, the one-argument form, Argo CD's normalization before the slug, and the arguments
// Argo CD's type assertions would fail on.
func TestSlugify(t *testing.T) {
	const long = "feat/a_really+long_pull_request_name_to_test_argo_slugification_and_branch_name_shortening_feature"
	const oneWord = "feat/areallylongpullrequestnametotestargoslugificationandbranchnameshorteningfeature"
	tests := []struct {
		name    string
		args    []any
		want    string
		wantErr string
	}{
		// Argo CD's table, argument for argument.
		{name: "argo: 50, no smart truncation", args: []any{50, false, long}, want: "feat-a-really-long-pull-request-name-to-test-argo"},
		{name: "argo: 53, smart truncation", args: []any{53, true, long}, want: "feat-a-really-long-pull-request-name-to-test-argo"},
		{name: "argo: one long word, smart truncation keeps the first word", args: []any{50, true, oneWord}, want: "feat"},
		{name: "argo: one long word, cut at 50", args: []any{50, false, oneWord}, want: "feat-areallylongpullrequestnametotestargoslugifica"},
		// Ours.
		{name: "the name alone: 50, smart truncation", args: []any{long}, want: "feat-a-really-long-pull-request-name-to-test-argo"},
		{name: "length and name: smart truncation stays on", args: []any{20, long}, want: "feat-a-really-long"},
		{name: "short name, unchanged but lowercased", args: []any{"Feature/Login"}, want: "feature-login"},
		{name: "normalize first: underscores and dots become dashes, ends trimmed", args: []any{"..Team_A.Web--"}, want: "team-a-web"},
		{name: "non-ASCII is normalized away before the slug, as Argo CD does", args: []any{"café-ünïcode"}, want: "caf-n-code"},
		{name: "arguments between the second and the last are ignored, as Argo CD does", args: []any{10, false, "ignored", "abcdefghijklmnop"}, want: "abcdefghij"},
		{name: "a length of zero without smart truncation is empty, as Argo CD's library makes it", args: []any{0, false, "web"}, want: ""},
		{name: "no arguments", args: nil, want: ""},
		{name: "a name that is not a string", args: []any{50, 3}, wantErr: "the last argument (the name) is a int, not a string"},
		{name: "a length that is not an int", args: []any{"50", "web"}, wantErr: "the first argument (the maximum length) is a string, not an int"},
		{name: "a negative length", args: []any{-1, "web"}, wantErr: "the maximum length -1 is negative"},
		{name: "smart truncation that is not a bool", args: []any{50, "no", "web"}, wantErr: "the second argument (smart truncation) is a string, not a bool"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := slugify(tc.args...)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestSlugifyInApplicationSet: slugify in a generated Application's goTemplate, with and
// without its options; a wrong argument names the ApplicationSet's file, line and field.
func TestSlugifyInApplicationSet(t *testing.T) {
	tests := []struct {
		name    string
		tmpl    string
		want    []string
		wantErr string
	}{
		{
			name: "default length and smart truncation",
			tmpl: `'{{slugify .branch}}'`,
			want: []string{"feat-a-really-long-pull-request-name-to-test-argo: {}"},
		},
		{
			name: "length and truncation given, piped",
			tmpl: `'{{.branch | slugify 20 false}}'`,
			want: []string{"feat-a-really-long-p: {}"},
		},
		{
			name:    "a string for the length",
			tmpl:    `'{{slugify "20" .branch}}'`,
			wantErr: "argocd/apps.yaml:9: spec.template.metadata.name: failed to execute go template",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			appset := appSetHead + "  goTemplate: true\n  generators:\n    - list: {elements: [{branch: 'feat/a_really+long_pull_request_name_to_test_argo_slugification_and_branch_name_shortening_feature'}]}\n  template:\n    metadata: {name: " + tc.tmpl + "}\n    spec: {}\n"
			got, err := generated(t, appset)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, err, "not an int")
				var fe *policy.FieldError
				require.True(t, errors.As(err, &fe), "a *policy.FieldError: %v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestSlugifyConcurrent: the library's settings are package variables; concurrent calls with
// different settings each get their own (run with -race to see the lock matter).
func TestSlugifyConcurrent(t *testing.T) {
	const name = "feat/a_really+long_pull_request_name"
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for i := range 200 {
		wg.Go(func() {
			n, smart, want := 10, false, "feat-a-rea"
			if i%2 == 1 {
				n, smart, want = 12, true, "feat-a"
			}
			if got, _ := slugify(n, smart, name); got != want {
				errs <- got
			}
		})
	}
	wg.Wait()
	close(errs)
	for got := range errs {
		t.Errorf("a slug made with another call's settings: %q", got)
	}
}
