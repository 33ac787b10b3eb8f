package strictyaml

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// doc is a small document type: the decoder knows none of the product's.
type doc struct {
	Name       string            `yaml:"name"`
	Count      int               `yaml:"count,omitempty"`
	Ratio      float64           `yaml:"ratio,omitempty"`
	On         bool              `yaml:"on,omitempty"`
	Every      Duration          `yaml:"every,omitempty"`
	Items      []item            `yaml:"items,omitempty"`
	Headers    map[string]string `yaml:"headers,omitempty"`
	Skip       string            `yaml:"-"`
	secretPair `yaml:",inline"`
}

// secretPair is a pair of fields several document types share, inline.
type secretPair struct {
	KeyFile string `yaml:"keyFile,omitempty"`
	KeyEnv  string `yaml:"keyEnv,omitempty"`
}

type item struct {
	Path string `yaml:"path"`
}

// decodeAll runs EachDocument, the Decoder and a Checker over data, as a loader does, and
// returns every problem's text in file:line order.
func decodeAll(data string) ([]doc, []string) {
	var docs []doc
	var problems []*FieldError
	EachDocument("f.yaml", []byte(data), func(root *yaml.Node, syntax *FieldError) {
		if syntax != nil {
			problems = append(problems, syntax)
			return
		}
		var d doc
		dec := NewDecoder("f.yaml")
		dec.Decode(root, reflect.ValueOf(&d).Elem(), "")
		c := &Checker{Src: dec.Source(root.Line), Failed: dec.Failed()}
		if d.Count < 0 {
			c.Errorf("count", "must be at least 0, got %d", d.Count)
		}
		if d.Name == "" {
			c.Errorf("name", "required")
		}
		problems = append(problems, append(dec.Errors(), c.Errs...)...)
		docs = append(docs, d)
	})
	err := Join(problems)
	if err == nil {
		return docs, nil
	}
	return docs, strings.Split(err.Error(), "\n")
}

func TestDecodeProblemsAreFileLineField(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       []string
	}{
		{"valid", "name: a\ncount: 2\nevery: 90s\nitems:\n  - path: x\n", nil},
		{"unknown field names the one meant", "name: a\ncuont: 2\n", []string{"f.yaml:2: cuont: unknown field (did you mean count?)"}},
		{"a secret inline", "name: a\ntoken: x\n", []string{"f.yaml:2: token: unknown field: secrets are read only from files or the environment; use the field's File or Env form"}},
		{"wrong type, checked once", "name: a\ncount: many\n", []string{`f.yaml:2: count: must be an integer, got "many"`}},
		{"duration", "name: a\nevery: 10\n", []string{"f.yaml:2: every: must be a duration such as 90s or 10h, got \"10\""}},
		{"duplicate key", "name: a\nname: b\n", []string{"f.yaml:2: name: duplicate key (first at line 1)"}},
		{"deep, in a list", "name: a\nitems:\n  - path: x\n  - pth: y\n", []string{"f.yaml:4: items[1].pth: unknown field (did you mean path?)"}},
		{"a header's value is never echoed", "name: a\nheaders:\n  X-Key: [1]\n", []string{"f.yaml:3: headers.X-Key: must be a string, got a list"}},
		{"a checker's problem at its field's line", "\nname: a\ncount: -1\n", []string{"f.yaml:3: count: must be at least 0, got -1"}},
		{"a field left out is located at the document", "count: 1\n", []string{"f.yaml:1: name: required"}},
		{"a syntax error spoils only its document", "name: a\n---\nname: [\n---\nname: c\ncount: x\n",
			[]string{"f.yaml:3: invalid YAML: did not find expected node content", `f.yaml:6: count: must be an integer, got "x"`}},
		{"an inline struct's fields are the document's", "name: a\nkeyFile: k\nkeyEnv: K\n", nil},
		{"an inline struct's fields are checked as the document's", "name: a\nkeyFlie: k\n", []string{"f.yaml:2: keyFlie: unknown field (did you mean keyFile?)"}},
		{"not a number", "name: a\nratio: .nan\n", []string{"f.yaml:2: ratio: must be a finite number, got \".nan\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := decodeAll(tc.data)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDecodeFills(t *testing.T) {
	docs, problems := decodeAll("base: &b\n  count: 3\nname: a\n<<: *b\nevery: 1m30s\non: true\nitems:\n  - path: x\nheaders:\n  a.b/c: v\n---\n---\nname: second\n")
	// base is not a field of doc: the first document is decoded, with that problem.
	require.Len(t, docs, 2)
	assert.Equal(t, doc{Name: "a", Count: 3, On: true, Every: Duration{Duration: 90 * time.Second},
		Items: []item{{Path: "x"}}, Headers: map[string]string{"a.b/c": "v"}}, docs[0])
	assert.Equal(t, []string{"f.yaml:1: base: unknown field (did you mean name?)"}, problems)
	assert.Equal(t, doc{Name: "second"}, docs[1])

	docs, problems = decodeAll("name: a\nkeyEnv: K\n")
	assert.Empty(t, problems)
	assert.Equal(t, doc{Name: "a", secretPair: secretPair{KeyEnv: "K"}}, docs[0])
}

func TestSourceLineOf(t *testing.T) {
	var root yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte("name: a\nitems:\n  - path: x\n  - path: y\n"), &root))
	var d doc
	dec := NewDecoder("f.yaml")
	dec.Decode(root.Content[0], reflect.ValueOf(&d).Elem(), "")
	src := dec.Source(1)
	for _, tc := range []struct {
		field string
		line  int
	}{
		{"name", 1},
		{"items[1].path", 4},
		{"items[1].missing", 4},
		{"count", 1},
	} {
		t.Run(tc.field, func(t *testing.T) {
			assert.Equal(t, tc.line, src.LineOf(tc.field))
		})
	}
	assert.True(t, src.Written("items"))
	assert.False(t, src.Written("count"))
}

func TestSplitCutsAtDocumentMarkers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		data    string
		offsets []int
	}{
		{"one document", "a: 1\n", []int{0}},
		{"markers", "a: 1\n---\nb: 2\n--- \nc: 3\n", []int{0, 1, 3}},
		{"not a marker inside a line", "a: ---\nb: '---x'\n----\n", []int{0}},
		{"a leading marker", "---\na: 1\n", []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []int
			for _, p := range Split([]byte(tc.data)) {
				got = append(got, p.Offset)
			}
			assert.Equal(t, tc.offsets, got)
		})
	}
}
