package yamlnode

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestMappingValue(t *testing.T) {
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte("spec: {replicas: 3}\n? [a]\n: list key\nspec: second\n"), &doc))
	m := doc.Content[0]
	for _, tt := range []struct {
		name string
		m    *yaml.Node
		key  string
		want string
	}{
		{"the first key of that name", m, "spec", "{replicas: 3}"},
		{"nested", MappingValue(m, "spec"), "replicas", "3"},
		{"absent", m, "status", ""},
		{"a key that is not a scalar never matches", m, "[a]", ""},
		{"not a mapping", MappingValue(MappingValue(m, "spec"), "replicas"), "x", ""},
		{"nil", nil, "spec", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := MappingValue(tt.m, tt.key)
			if tt.want == "" {
				assert.Nil(t, got)
				return
			}
			require.NotNil(t, got)
			out, err := yaml.Marshal(got)
			require.NoError(t, err)
			assert.Equal(t, tt.want+"\n", string(out))
		})
	}
}

func TestDocuments(t *testing.T) {
	for _, tt := range []struct {
		name    string
		data    string
		want    []string // each document's value of "kind", "-" for one without
		wantErr string   // the error yielded after them, "" for none
	}{
		{"no document", "", nil, ""},
		{"one document", "kind: A\n", []string{"A"}, ""},
		{"several, in order", "kind: A\n---\nkind: B\n---\nkind: C\n", []string{"A", "B", "C"}, ""},
		{"a leading marker opens no empty document", "---\nkind: A\n", []string{"A"}, ""},
		{"an empty document between markers is yielded", "kind: A\n---\n---\nkind: B\n", []string{"A", "-", "B"}, ""},
		{"a document that is not a mapping", "kind: A\n---\n- x\n", []string{"A", "-"}, ""},
		{"the documents before a syntax error, then the error, then nothing",
			"kind: A\n---\nkind: [B\n---\nkind: C\n", []string{"A"}, "did not find expected"},
		{"a syntax error in the first document", "kind: \"A\n", nil, "found unexpected end of stream"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			var gotErr error
			for doc, err := range Documents([]byte(tt.data)) {
				require.NoError(t, gotErr, "a document was yielded after the error")
				if err != nil {
					assert.Nil(t, doc)
					gotErr = err
					continue
				}
				require.Equal(t, yaml.DocumentNode, doc.Kind)
				kind := "-"
				if len(doc.Content) > 0 {
					if v := MappingValue(doc.Content[0], "kind"); v != nil {
						kind = v.Value
					}
				}
				got = append(got, kind)
			}
			assert.Equal(t, tt.want, got)
			if tt.wantErr == "" {
				assert.NoError(t, gotErr)
			} else {
				require.Error(t, gotErr)
				assert.Contains(t, gotErr.Error(), tt.wantErr)
			}
		})
	}
}

// TestYAMLDocumentsStopsWhenTheCallerDoes holds the loop to a caller's break: no document is
// decoded past it, so a caller that found what it looked for reads no further.
func TestDocumentsStopsWhenTheCallerDoes(t *testing.T) {
	n := 0
	for _, err := range Documents([]byte("kind: A\n---\nkind: B\n---\nkind: [C\n")) {
		require.NoError(t, err)
		n++
		if n == 2 {
			break
		}
	}
	assert.Equal(t, 2, n)
}
