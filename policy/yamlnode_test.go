package policy

import (
	"os"
	"path/filepath"
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

func TestReadYAMLFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"b.yaml": "b", "a.yml": "a", "sub/c.yaml": "c", "notes.txt": "x", ".hidden/d.yaml": "d", "sub/.e.yaml": "e",
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	single := filepath.Join(dir, "notes.txt")
	missing := filepath.Join(dir, "nope.yaml")

	files, err := ReadYAMLFiles("manifests", dir, missing, single)

	require.Error(t, err)
	assert.Equal(t, "read manifests: stat "+missing+": no such file or directory", err.Error())
	assert.Equal(t, []YAMLFile{
		{Name: filepath.Join(dir, "a.yml"), Data: []byte("a"), InDirectory: true},
		{Name: filepath.Join(dir, "b.yaml"), Data: []byte("b"), InDirectory: true},
		{Name: filepath.Join(dir, "sub", "c.yaml"), Data: []byte("c"), InDirectory: true},
		{Name: single, Data: []byte("x")},
	}, files, "a directory's YAML files in order (InDirectory), hidden ones skipped; a file named is read whatever its name; one bad path hides nothing else")
}
