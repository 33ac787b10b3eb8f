package convert

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

var update = flag.Bool("update", false, "rewrite the golden expected.yaml files of testdata")

// importCase imports testdata/<name>/input.yaml with the case's adapter.yaml and config.yaml,
// if any, and returns what `import` writes: every policy document, then the errors.
func importCase(t *testing.T, dir string) (*Result, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
	require.NoError(t, err)
	var opts Options
	if a, err := os.ReadFile(filepath.Join(dir, "adapter.yaml")); err == nil {
		opts.Adapter, err = ParseAdapterConfig("adapter.yaml", a)
		require.NoError(t, err)
	}
	if c, err := os.ReadFile(filepath.Join(dir, "config.yaml")); err == nil {
		docs, err := policy.LoadDocuments("config.yaml", c)
		require.NoError(t, err)
		require.Len(t, docs.Configs, 1)
		opts.Servers = docs.Configs[0].Prometheus
	}
	res, importErr := Import([]Input{{File: "input.yaml", Data: data}}, opts)
	var out bytes.Buffer
	for i, imp := range res.Policies {
		if i > 0 {
			out.WriteString("---\n")
		}
		b, err := Marshal(imp)
		require.NoError(t, err)
		out.Write(b)
	}
	if importErr != nil {
		out.WriteString("# Errors:\n")
		for _, line := range strings.Split(importErr.Error(), "\n") {
			out.WriteString("#   " + line + "\n")
		}
	}
	return res, out.Bytes()
}

// TestGolden imports every case of testdata and compares the result with expected.yaml byte
// for byte; -update rewrites them. Every policy written must load through the same loader
// `validate` uses.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*")
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			res, got := importCase(t, dir)
			golden := filepath.Join(dir, "expected.yaml")
			if *update {
				require.NoError(t, os.WriteFile(golden, got, 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -update to create it")
			assert.Equal(t, string(want), string(got))
			for _, imp := range res.Policies {
				b, err := Marshal(imp)
				require.NoError(t, err)
				_, err = policy.LoadPolicies("out.yaml", b)
				assert.NoError(t, err, "%s: the written policy must validate", imp.From)
			}
		})
	}
}
