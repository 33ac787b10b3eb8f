package edit

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

var update = flag.Bool("update", false, "rewrite testdata/*/expected.{yaml,err} from the editor's output")

// editCase is a golden case's case.json: what to edit. The outcome is expected.yaml (the edited
// file; equal to input.yaml for a "leave" case) or expected.err (the exact error).
type editCase struct {
	Path     string                   `json:"path"`
	Document *policy.DocumentSelector `json:"document,omitempty"`
	N        int                      `json:"n"`
}

func (c editCase) location() policy.ReplicasLocation {
	return policy.ReplicasLocation{File: "values.yaml", Path: c.Path, Document: c.Document}
}

type goldenCase struct {
	name  string
	dir   string
	c     editCase
	input []byte
}

func loadGoldenCases(tb testing.TB) []goldenCase {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*", "case.json"))
	require.NoError(tb, err)
	require.NotEmpty(tb, files, "no golden cases")
	var cases []goldenCase
	for _, f := range files {
		dir := filepath.Dir(f)
		raw, err := os.ReadFile(f)
		require.NoError(tb, err)
		var c editCase
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		require.NoError(tb, dec.Decode(&c), f)
		input, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
		require.NoError(tb, err)
		cases = append(cases, goldenCase{name: filepath.Base(dir), dir: dir, c: c, input: input})
	}
	return cases
}

// commonAffixes returns the lengths of the longest common prefix and suffix of a and b, the
// suffix not overlapping the prefix in either.
func commonAffixes(a, b []byte) (prefix, suffix int) {
	for prefix < len(a) && prefix < len(b) && a[prefix] == b[prefix] {
		prefix++
	}
	for suffix < len(a)-prefix && suffix < len(b)-prefix && a[len(a)-1-suffix] == b[len(b)-1-suffix] {
		suffix++
	}
	return prefix, suffix
}

func TestSetReplicasGolden(t *testing.T) {
	for _, gc := range loadGoldenCases(t) {
		t.Run(gc.name, func(t *testing.T) {
			loc := gc.c.location()
			expYAML := filepath.Join(gc.dir, "expected.yaml")
			expErr := filepath.Join(gc.dir, "expected.err")
			out, changed, err := SetReplicas(gc.input, loc, gc.c.N)

			if *update {
				if err != nil {
					require.NoError(t, os.WriteFile(expErr, []byte(err.Error()+"\n"), 0o644))
					require.NoError(t, removeIfExists(expYAML))
				} else {
					require.NoError(t, os.WriteFile(expYAML, out, 0o644))
					require.NoError(t, removeIfExists(expErr))
				}
			}

			if err != nil {
				want, rerr := os.ReadFile(expErr)
				require.NoError(t, rerr, "unexpected error: %v", err)
				assert.Equal(t, strings.TrimSuffix(string(want), "\n"), err.Error())
				assert.NoFileExists(t, expYAML)
				assert.Nil(t, out)
				assert.False(t, changed)
				assert.NotErrorIs(t, err, errInconsistent, "a refusal must be about the input, not the editor")
				return
			}
			want, rerr := os.ReadFile(expYAML)
			require.NoError(t, rerr, "no error, but no expected.yaml either")
			assert.NoFileExists(t, expErr)
			assert.Equal(t, string(want), string(out))

			leave := bytes.Equal(gc.input, want)
			assert.Equal(t, !leave, changed, "changed")
			if leave {
				require.NotEmpty(t, out)
				assert.Same(t, &gc.input[0], &out[0], "a leave case returns the caller's bytes")
			} else {
				// The output differs from the input only inside the target scalar's span.
				tgt, err := locate(gc.input, loc, true)
				require.NoError(t, err)
				prefix, suffix := commonAffixes(gc.input, out)
				assert.GreaterOrEqual(t, prefix, tgt.start, "a byte before the scalar changed")
				assert.LessOrEqual(t, len(gc.input)-suffix, tgt.end, "a byte after the scalar changed")
			}

			got, err := ReadReplicas(out, loc)
			require.NoError(t, err)
			assert.Equal(t, gc.c.N, got, "the edited file reads back")

			// Idempotence: applying the same edit to the expected output changes nothing.
			again, changedAgain, err := SetReplicas(want, loc, gc.c.N)
			require.NoError(t, err)
			assert.False(t, changedAgain)
			assert.Equal(t, string(want), string(again))
		})
	}
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

func TestReadReplicas(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		path string
		doc  *policy.DocumentSelector
		want int
		err  string
	}{
		{name: "plain", yaml: "a:\n  b: 7\n", path: "a.b", want: 7},
		{name: "double quoted", yaml: "a: {b: \"12\"}\n", path: "a.b", want: 12},
		{name: "zero", yaml: "b: 0\n", path: "b", want: 0},
		{name: "largest", yaml: "b: 2147483647\n", path: "b", want: MaxReplicaCount},
		{name: "too large", yaml: "b: 2147483648\n", path: "b", err: `path b: value "2147483648" is out of range [0, 2147483647]`},
		{name: "reads an alias target", yaml: "base: &base 5\nweb:\n  replicas: *base\n", path: "web.replicas", want: 5},
		{name: "reads a quoted value written with escapes", yaml: "b: \"\\x33\"\n", path: "b", want: 3},
		{name: "reads through an alias", yaml: "d: &d\n  replicas: 4\nweb: *d\n", path: "web.replicas", want: 4},
		{name: "alias list item", yaml: "w: &w {name: x, replicas: 6}\nlist:\n  - *w\n", path: "list[name=x].replicas", want: 6},
		{name: "document by kind only", yaml: "kind: Service\nspec: {replicas: 1}\n---\nkind: Deployment\nspec: {replicas: 2}\n", path: "spec.replicas", doc: &policy.DocumentSelector{Kind: "Deployment"}, want: 2},
		{name: "merge key", yaml: "d: &d\n  replicas: 4\nweb:\n  <<: *d\n", path: "web.replicas", err: "merge key"},
		{name: "key under a scalar", yaml: "a: 3\n", path: "a.b", err: `path a.b: a is a scalar ("3"), not a mapping`},
		{name: "selector on a mapping", yaml: "a: {b: 3}\n", path: "a[name=x].b", err: "path a[name=x].b: a is a mapping, not a list"},
		{name: "two matching items", yaml: "l:\n  - {name: x, r: 1}\n  - {name: x, r: 2}\n", path: "l[name=x].r", err: "2 items with name=x in l"},
		{name: "root is a list", yaml: "- 1\n", path: "a", err: "the document root is a list, not a mapping"},
		{name: "empty file", yaml: "", path: "a", err: "path a: the file has no YAML document"},
		{name: "comments only", yaml: "# nothing\n", path: "a", err: "path a: the file has no YAML document"},
		{name: "not YAML", yaml: "a: [1\n", path: "a", err: "path a: parse YAML: "},
		{name: "bad path", yaml: "a: 1\n", path: "a..b", err: "replicas path: "},
		{name: "not found in any document", yaml: "a: 1\n---\nb: 2\n", path: "c", err: "path c: not found in any of the 2 documents"},
		{name: "selector matches two", yaml: "kind: A\n---\nkind: A\n", path: "c", doc: &policy.DocumentSelector{Kind: "A"}, err: "path c: 2 documents match kind A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadReplicas([]byte(tt.yaml), policy.ReplicasLocation{Path: tt.path, Document: tt.doc})
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestSetReplicasRefusesOutOfRangeCounts(t *testing.T) {
	data := []byte("replicas: 3\n")
	loc := policy.ReplicasLocation{Path: "replicas"}
	for _, n := range []int{-1, MaxReplicaCount + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			out, changed, err := SetReplicas(data, loc, n)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "path replicas: replicas")
			assert.Contains(t, err.Error(), "out of range")
			assert.Nil(t, out)
			assert.False(t, changed)
		})
	}
	out, changed, err := SetReplicas(data, loc, MaxReplicaCount)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, "replicas: 2147483647\n", string(out))
}

// TestSetReplicasLineBreaks covers line endings golden files cannot show readably: the
// parser counts CR, NEL, LS and PS as line breaks, and the byte offset must agree with it.
func TestSetReplicasLineBreaks(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "LF", in: "a: 1\nreplicas: 3\n", want: "a: 1\nreplicas: 10\n"},
		{name: "CRLF", in: "a: 1\r\nreplicas: 3\r\n", want: "a: 1\r\nreplicas: 10\r\n"},
		{name: "CR only", in: "a: 1\rreplicas: 3\r", want: "a: 1\rreplicas: 10\r"},
		{name: "NEL in a quoted string", in: "a: \"x\u0085y\"\nreplicas: 3\n", want: "a: \"x\u0085y\"\nreplicas: 10\n"},
		{name: "LS between entries", in: "a: 1\u2028replicas: 3\n", want: "a: 1\u2028replicas: 10\n"},
		{name: "PS after a comment", in: "a: 1 # c\u2029replicas: 3\n", want: "a: 1 # c\u2029replicas: 10\n"},
		{name: "tab after the colon", in: "a:\t1\nreplicas:\t3\t# c\n", want: "a:\t1\nreplicas:\t10\t# c\n"},
		{name: "document end and start markers", in: "a: 1\n...\n---\n# doc 2\nreplicas: 3\n", want: "a: 1\n...\n---\n# doc 2\nreplicas: 10\n"},
		{name: "no final newline", in: "replicas: 3", want: "replicas: 10"},
		{name: "value on the next line", in: "replicas:\n  3\n", want: "replicas:\n  10\n"},
		{name: "tag and anchor across lines", in: "replicas: !!int &r # c\n  3\n", want: "replicas: !!int &r # c\n  10\n"},
		{name: "verbatim tag", in: "replicas: !<tag:yaml.org,2002:int> 3\n", want: "replicas: !<tag:yaml.org,2002:int> 10\n"},
		{name: "multibyte key before", in: "{ключ: ✓, replicas: 3}\n", want: "{ключ: ✓, replicas: 10}\n"},
	}
	loc := policy.ReplicasLocation{Path: "replicas"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := SetReplicas([]byte(tt.in), loc, 10)
			require.NoError(t, err)
			assert.True(t, changed)
			assert.Equal(t, tt.want, string(out))
		})
	}
}

// TestVerifyEditCatchesBadSplices feeds the safety net wrong splices directly: each must be an
// error of the editor, never an accepted result.
func TestVerifyEditCatchesBadSplices(t *testing.T) {
	in := []byte("a: 1 # one\nreplicas: 3\nb: [x, y]\n")
	tgt, err := locate(in, policy.ReplicasLocation{Path: "replicas"}, true)
	require.NoError(t, err)
	tests := []struct {
		name, out, want string
	}{
		{name: "other value changed", out: "a: 2 # one\nreplicas: 4\nb: [x, y]\n", want: "value at line 1 changed"},
		{name: "comment changed", out: "a: 1 # two\nreplicas: 4\nb: [x, y]\n", want: "comments at line 1 changed"},
		{name: "target not written", out: "a: 1 # one\nreplicas: 3\nb: [x, y]\n", want: `target reads "3", want "4"`},
		{name: "structure changed", out: "a: 1 # one\nreplicas: 4\nb: [x]\n", want: "children"},
		{name: "line moved", out: "a: 1 # one\n\nreplicas: 4\nb: [x, y]\n", want: "changed shape"},
		{name: "broken YAML", out: "a: 1 # one\nreplicas: [4\n", want: "does not parse"},
		{name: "extra document", out: "a: 1 # one\nreplicas: 4\nb: [x, y]\n---\nc: 1\n", want: "2 documents, not 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyEdit(tgt, []byte(tt.out), "4")
			require.Error(t, err)
			assert.ErrorIs(t, err, errInconsistent)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	assert.NoError(t, verifyEdit(tgt, []byte("a: 1 # one\nreplicas: 4\nb: [x, y]\n"), "4"))
}

func TestNodeOffset(t *testing.T) {
	tests := []struct {
		name      string
		data      string
		line, col int
		want      int
		err       string
	}{
		{name: "first byte", data: "abc", line: 1, col: 1, want: 0},
		{name: "after BOM", data: "\xef\xbb\xbfab", line: 1, col: 2, want: 4},
		{name: "runes not bytes", data: "éé x", line: 1, col: 4, want: 5},
		{name: "CRLF is one break", data: "a\r\nbc", line: 2, col: 2, want: 4},
		{name: "PS is a break", data: "a\u2029bc", line: 2, col: 1, want: 4},
		{name: "line past the end", data: "a\n", line: 3, col: 1, err: "fewer than 3 lines"},
		{name: "column past the line", data: "ab\ncd", line: 1, col: 4, err: "fewer than 4 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := nodeOffset([]byte(tt.data), tt.line, tt.col)
			if tt.err != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, errInconsistent)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestSetReplicasAgreesWithParser checks the positions against the parser on every scalar of
// every golden input: the located span of each integer scalar holds exactly its digits (or,
// for a quoted one written with escapes, is refused as such).
func TestSetReplicasAgreesWithParser(t *testing.T) {
	for _, gc := range loadGoldenCases(t) {
		docs, err := parseDocuments(gc.input)
		if err != nil || bytes.HasPrefix(gc.input, []byte("\xff\xfe")) {
			continue // refusal cases with input the editor does not parse
		}
		var check func(n *yaml.Node)
		check = func(n *yaml.Node) {
			if n.Kind == yaml.ScalarNode && isDecimal(n.Value) && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
				start, end, err := scalarSpan(gc.input, n)
				assert.NotErrorIs(t, err, errInconsistent, "%s line %d", gc.name, n.Line)
				if err == nil {
					assert.Equal(t, n.Value, string(gc.input[start:end]), "%s line %d", gc.name, n.Line)
				}
			}
			for _, c := range n.Content {
				check(c)
			}
		}
		for _, d := range docs {
			check(d)
		}
	}
}

// benchValues builds a values file of about 200 lines in the shape of a real chart's values.
func benchValues() []byte {
	var b strings.Builder
	b.WriteString("# Default values for laravel.\n# This is a YAML-formatted file.\n\n")
	for i := range 12 {
		fmt.Fprintf(&b, "component%d:\n", i)
		fmt.Fprintf(&b, "  # -- how many pods of component %d\n", i)
		fmt.Fprintf(&b, "  replicaCount: %d # managed\n", i+1)
		b.WriteString("  image:\n    repository: ghcr.io/acme/laravel\n    tag: \"1.4.2\"\n    pullPolicy: IfNotPresent\n")
		b.WriteString("  resources:\n    requests: {cpu: 100m, memory: 128Mi}\n    limits: {cpu: \"1\", memory: 512Mi}\n")
		b.WriteString("  env:\n    - name: APP_ENV\n      value: production\n    - name: QUEUE\n      value: 'emails'\n")
	}
	b.WriteString("laravelWeb:\n  config: |\n    replicaCount: 1\n  replicaCount: 3 # the target\n")
	return []byte(b.String())
}

func BenchmarkSetReplicas(b *testing.B) {
	data := benchValues()
	loc := policy.ReplicasLocation{Path: "laravelWeb.replicaCount"}
	out, changed, err := SetReplicas(data, loc, 7)
	require.NoError(b, err)
	require.True(b, changed)
	require.Len(b, out, len(data))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := SetReplicas(data, loc, 7); err != nil {
			b.Fatal(err)
		}
	}
}

// TestResolveTellsOneValueFromItsSpellings: the set checks compare targets by the node a path
// resolves to (docs/design.md §4), so every spelling of one value resolves to one Node and
// different values to different ones.
func TestResolveTellsOneValueFromItsSpellings(t *testing.T) {
	data := []byte(`# workers
workers:
  - name: web
    replicas: 2
  - name: mail
    replicas: &mail 3
defaults: {replicas: *mail}
---
kind: Deployment
metadata: {name: api}
spec:
  replicas: 4
`)
	loc := func(path string) policy.ReplicasLocation { return policy.ReplicasLocation{Path: path} }
	apiDoc := &policy.DocumentSelector{Kind: "Deployment", Name: "api"}
	tests := []struct {
		name string
		locs []policy.ReplicasLocation
		want Node
	}{
		{name: "by index and by name", locs: []policy.ReplicasLocation{loc("workers[0].replicas"), loc("workers[name=web].replicas")},
			want: Node{Line: 4, Column: 15, Value: 2}},
		{name: "an alias and its anchor", locs: []policy.ReplicasLocation{loc("workers[1].replicas"), loc("workers[name=mail].replicas"), loc("defaults.replicas")},
			want: Node{Line: 6, Column: 15, Value: 3}},
		{name: "a later document's lines count from the top of the file",
			locs: []policy.ReplicasLocation{loc("spec.replicas"), {Path: "spec.replicas", Document: apiDoc}, {Path: "spec.replicas", Document: &policy.DocumentSelector{Name: "api"}}},
			want: Node{Line: 12, Column: 13, Value: 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, l := range tt.locs {
				got, err := Resolve(data, l)
				require.NoError(t, err, l.Path)
				assert.Equal(t, tt.want, got, l.Path)
			}
		})
	}
	_, err := Resolve(data, loc("workers[2].replicas"))
	assert.Error(t, err, "a path that is not there resolves to nothing")
}
