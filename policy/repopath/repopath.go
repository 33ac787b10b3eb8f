package repopath

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Clean checks a repository-relative path and returns it cleaned, with forward slashes. It
// refuses an empty path, an absolute one (a leading slash, a volume name, a UNC prefix), a `..`
// that leaves the root, and any path inside .git (in any letter case, as on case-insensitive
// file systems). "." is the root itself, which a directory may be.
func Clean(rel string) (string, error) {
	if rel == "" {
		return "", errors.New("empty path")
	}
	slashed := filepath.ToSlash(rel)
	if filepath.IsAbs(rel) || path.IsAbs(slashed) || filepath.VolumeName(rel) != "" || strings.HasPrefix(slashed, "//") {
		return "", fmt.Errorf("path %q is absolute; it must be relative to the repository root", rel)
	}
	clean := path.Clean(slashed)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("path %q leaves the repository root", rel)
	}
	if InGitDir(clean) {
		return "", fmt.Errorf("path %q is inside .git", rel)
	}
	return clean, nil
}

// InGitDir reports whether a clean, slash-separated path is .git or inside it, in any letter
// case.
func InGitDir(clean string) bool {
	for _, part := range strings.Split(clean, "/") {
		if strings.EqualFold(part, ".git") {
			return true
		}
	}
	return false
}

// Root is a repository root on disk, its own symlinks resolved once.
type Root struct {
	dir  string // as given, absolute
	real string // with symlinks resolved
}

// Open returns the root at dir, which must exist.
func Open(dir string) (Root, error) {
	if dir == "" {
		return Root{}, errors.New("repository root is empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return Root{}, fmt.Errorf("repository root: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return Root{}, fmt.Errorf("repository root: %w", err)
	}
	return Root{dir: abs, real: real}, nil
}

// Dir is the root with its symlinks resolved: every path Join returns is under it.
func (r Root) Dir() string { return r.real }

// Contains reports whether a path with its symlinks resolved is the root or under it.
func (r Root) Contains(real string) bool { return Within(r.real, real) }

// Within reports whether real is the directory realRoot or under it; both have their symlinks
// resolved. It is the test Join applies to where a path leads.
func Within(realRoot, real string) bool {
	return real == realRoot || strings.HasPrefix(real, realRoot+string(filepath.Separator))
}

// Join checks rel (Clean's rule) and returns where it is on disk, with its symlinks resolved,
// after checking that every symlink along it resolves inside the root. A path that does not
// exist yet is checked up to its deepest existing parent, so a file can be created there; a
// dangling symlink is refused, because what it would create is not known.
func (r Root) Join(rel string) (string, error) {
	clean, err := Clean(rel)
	if err != nil {
		return "", err
	}
	real, err := resolveExisting(filepath.Join(r.real, filepath.FromSlash(clean)))
	if err != nil {
		return "", fmt.Errorf("path %q: %w", rel, r.relative(err))
	}
	if !r.Contains(real) {
		return "", fmt.Errorf("path %q leaves the repository root through a symlink", rel)
	}
	return real, nil
}

// Join is Open(root) and Root.Join(rel) in one.
func Join(root, rel string) (string, error) {
	r, err := Open(root)
	if err != nil {
		return "", err
	}
	return r.Join(rel)
}

// resolveExisting evaluates the symlinks of p's deepest existing prefix and appends the rest.
func resolveExisting(p string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err == nil {
		return real, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if fi, lerr := os.Lstat(p); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return "", errors.New("dangling symlink")
	}
	parent := filepath.Dir(p)
	if parent == p {
		return "", err
	}
	rp, err := resolveExisting(parent)
	if err != nil {
		return "", err
	}
	return filepath.Join(rp, filepath.Base(p)), nil
}

// relative makes the path of an *fs.PathError repository-relative: errors name repository
// paths, not the machine's.
func (r Root) relative(err error) error {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return err
	}
	for _, base := range []string{r.real, r.dir} {
		if rel, rerr := filepath.Rel(base, pe.Path); rerr == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return &fs.PathError{Op: pe.Op, Path: filepath.ToSlash(rel), Err: pe.Err}
		}
	}
	return pe.Err
}

// HasDotDot is whether a slash-separated path has a ".." element.
func HasDotDot(p string) bool {
	for _, e := range strings.Split(p, "/") {
		if e == ".." {
			return true
		}
	}
	return false
}
