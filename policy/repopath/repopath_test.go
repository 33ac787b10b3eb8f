package repopath

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJoin is the one table of the path rule: lexical refusals, symlinks inside and out, paths
// that do not exist yet, and what Join returns.
func TestJoin(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "envs", "prod"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "envs", "prod", "values.yaml"), nil, 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "out")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "dangling")))
	up, err := filepath.Rel(filepath.Join(root, "envs"), outside)
	require.NoError(t, err)
	require.NoError(t, os.Symlink(up, filepath.Join(root, "envs", "up")))
	require.NoError(t, os.Symlink("prod", filepath.Join(root, "envs", "current")))
	require.NoError(t, os.Symlink(filepath.Join(root, "envs", "prod"), filepath.Join(root, "envs", "absolute-inside")))
	realRoot, err := filepath.EvalSymlinks(root)
	require.NoError(t, err)

	tests := []struct {
		name    string
		rel     string
		want    string // relative to the real root
		wantErr string
	}{
		{name: "plain", rel: "envs/prod/values.yaml", want: "envs/prod/values.yaml"},
		{name: "the root itself", rel: ".", want: "."},
		{name: "not yet existing", rel: "envs/staging/values.yaml", want: "envs/staging/values.yaml"},
		{name: "dot segments inside", rel: "envs/./prod/../prod/values.yaml", want: "envs/prod/values.yaml"},
		{name: "backslashes are separators here only on Windows", rel: filepath.FromSlash("envs/prod"), want: "envs/prod"},
		{name: "symlink inside the root", rel: "envs/current/values.yaml", want: "envs/prod/values.yaml"},
		{name: "absolute symlink that stays inside", rel: "envs/absolute-inside/values.yaml", want: "envs/prod/values.yaml"},
		{name: "parent escape", rel: "../x", wantErr: `path "../x" leaves the repository root`},
		{name: "deep escape", rel: "envs/../../x", wantErr: `path "envs/../../x" leaves the repository root`},
		{name: "absolute", rel: "/etc/passwd", wantErr: `path "/etc/passwd" is absolute; it must be relative to the repository root`},
		{name: "UNC-like", rel: "//server/share", wantErr: "is absolute"},
		{name: "empty", rel: "", wantErr: "empty path"},
		{name: "git dir", rel: ".git/config", wantErr: `path ".git/config" is inside .git`},
		{name: "git dir any case, anywhere", rel: "a/.GIT/hooks/x", wantErr: "is inside .git"},
		{name: "git dir reached by dot-dot", rel: "envs/../.git/HEAD", wantErr: "is inside .git"},
		{name: "a name that only starts with .git", rel: ".github/workflows/ci.yaml", want: ".github/workflows/ci.yaml"},
		{name: "symlink outside", rel: "out/passwd", wantErr: `path "out/passwd" leaves the repository root through a symlink`},
		{name: "the symlink outside itself", rel: "out", wantErr: "leaves the repository root through a symlink"},
		{name: "symlinked dir outside, relative link", rel: "envs/up/passwd", wantErr: "leaves the repository root through a symlink"},
		{name: "dangling symlink", rel: "dangling", wantErr: `path "dangling": dangling symlink`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Join(root, tt.rel)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), root, "errors name repository paths")
				assert.NotContains(t, err.Error(), outside, "errors name repository paths")
				assert.Empty(t, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, filepath.Join(realRoot, filepath.FromSlash(tt.want)), got)
		})
	}
}

func TestClean(t *testing.T) {
	tests := []struct {
		rel, want, wantErr string
	}{
		{rel: "envs/prod/values.yaml", want: "envs/prod/values.yaml"},
		{rel: "./envs//prod/", want: "envs/prod"},
		{rel: "a/../b", want: "b"},
		{rel: ".", want: "."},
		{rel: "a/..", want: "."},
		{rel: "..", wantErr: "leaves the repository root"},
		{rel: "/abs", wantErr: "is absolute"},
		{rel: ".git", wantErr: "is inside .git"},
		{rel: "", wantErr: "empty path"},
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			got, err := Clean(tt.rel)
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRoot(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(dir, link))
	r, err := Open(link)
	require.NoError(t, err)
	real, err := filepath.EvalSymlinks(dir)
	require.NoError(t, err)
	assert.Equal(t, real, r.Dir(), "the root's own symlinks are resolved")
	assert.True(t, r.Contains(real))
	assert.True(t, r.Contains(filepath.Join(real, "a", "b")))
	assert.False(t, r.Contains(real+"-sibling"), "a sibling sharing the prefix is outside")
	assert.False(t, r.Contains(filepath.Dir(real)))

	_, err = Open(filepath.Join(dir, "missing"))
	assert.ErrorContains(t, err, "repository root")
	_, err = Open("")
	assert.EqualError(t, err, "repository root is empty")
}

// TestErrorsNameRepositoryPaths checks that a file system error other than "does not exist"
// is reported with its repository-relative path, and never with the machine's.
func TestErrorsNameRepositoryPaths(t *testing.T) {
	r := Root{dir: "/srv/cache/link", real: "/srv/cache/platform"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "under the real root", err: &fs.PathError{Op: "lstat", Path: "/srv/cache/platform/envs/x", Err: syscall.EACCES}, want: "lstat envs/x: permission denied"},
		{name: "under the root as given", err: &fs.PathError{Op: "open", Path: "/srv/cache/link/a", Err: syscall.EACCES}, want: "open a: permission denied"},
		{name: "elsewhere: the cause alone", err: &fs.PathError{Op: "lstat", Path: "/etc/x", Err: syscall.ELOOP}, want: "too many levels of symbolic links"},
		{name: "not a path error", err: errors.New("boom"), want: "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.EqualError(t, r.relative(tt.err), tt.want)
		})
	}
}
