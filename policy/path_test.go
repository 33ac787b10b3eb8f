package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Path
		err  string
	}{
		{name: "single key", in: "replicaCount", want: Path{{Kind: PathKey, Key: "replicaCount"}}},
		{name: "dotted", in: "laravelWeb.replicaCount", want: Path{{Kind: PathKey, Key: "laravelWeb"}, {Kind: PathKey, Key: "replicaCount"}}},
		{name: "match selector", in: "workers[name=emails].replicas", want: Path{
			{Kind: PathKey, Key: "workers"}, {Kind: PathMatch, Key: "name", Value: "emails"}, {Kind: PathKey, Key: "replicas"}}},
		{name: "index and nested", in: "a[0][name=x].b", want: Path{
			{Kind: PathKey, Key: "a"}, {Kind: PathIndex, Index: 0}, {Kind: PathMatch, Key: "name", Value: "x"}, {Kind: PathKey, Key: "b"}}},
		{name: "empty", in: "", err: "empty path"},
		{name: "empty segment", in: "a..b", err: "segment 2 has no key"},
		{name: "leading selector", in: "[0].a", err: "segment 1 has no key"},
		{name: "unclosed", in: "a[name=x", err: "unclosed"},
		{name: "bad selector", in: "a[x]", err: "neither field=value nor an index"},
		{name: "negative index", in: "a[-1]", err: "neither field=value nor an index"},
		{name: "empty value", in: "a[name=]", err: "needs field=value"},
		{name: "junk after selector", in: "a[0]b", err: "unexpected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePath(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.in, got.String(), "round trip")
		})
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"a.b", "items[name=web].replicas", "a[0]", "a[", "a]b", ".", "a[x=y][1].c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		again, err := ParsePath(p.String())
		if err != nil {
			t.Fatalf("String() of a parsed path does not parse: %q → %q: %v", s, p.String(), err)
		}
		if len(again) != len(p) {
			t.Fatalf("round trip changed the path: %q → %q", s, p.String())
		}
	})
}
