package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy/repopath"
)

// maxSymlinkDepth bounds directory recursion through symlinks, so a link loop inside the
// repository ends in an error instead of a hang.
const maxSymlinkDepth = 64

// repo reads files of one repository root, and nothing outside it. Overlay entries replace (or
// add) files by their repository-relative path, so an edit can be rendered without touching
// the working tree.
type repo struct {
	root    string // the root as given, cleaned and absolute
	realDir string // the root with its own symlinks resolved
	overlay map[string][]byte
	// touched, when set, records every path resolved and where it led (Inputs).
	touched map[string]bool
	// pulled are the remote charts the service pulled for this render, by chartRef.key.
	pulled map[string]pulledChart
}

func newRepo(root string, overlay map[string][]byte) (*repo, error) {
	if root == "" {
		return nil, errors.New("repository root is empty")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("repository root %q: %w", root, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("repository root %q: %w", root, err)
	}
	ov := make(map[string][]byte, len(overlay))
	for p, data := range overlay {
		clean, err := cleanRel(p)
		if err != nil {
			return nil, fmt.Errorf("overlay: %w", err)
		}
		ov[clean] = data
	}
	return &repo{root: abs, realDir: real, overlay: ov}, nil
}

// with returns a repo that reads data at the cleaned relative path rel, and everything else as r
// does.
func (r *repo) with(rel string, data []byte) *repo {
	ov := make(map[string][]byte, len(r.overlay)+1)
	for p, d := range r.overlay {
		ov[p] = d
	}
	ov[rel] = data
	return &repo{root: r.root, realDir: r.realDir, overlay: ov, pulled: r.pulled}
}

// cleanRel checks a repository-relative path from a policy or a caller and returns it cleaned,
// with forward slashes, by the one rule of policy/repopath: not empty, not absolute, no `..`
// that leaves the root, nothing inside .git.
func cleanRel(rel string) (string, error) { return repopath.Clean(rel) }

// resolve returns the real on-disk path of a cleaned relative path, after checking that every
// symlink on the way stays inside the root (policy/repopath's rule). A missing path resolves
// as far as it exists.
func (r *repo) resolve(clean string) (string, error) {
	root, err := repopath.Open(r.root)
	if err != nil {
		return "", err
	}
	real, err := root.Join(clean)
	if r.touched != nil {
		r.touched[clean] = true
		if rel, err := filepath.Rel(r.realDir, real); err == nil && real != "" {
			r.touched[filepath.ToSlash(rel)] = true
		}
	}
	return real, err
}

// inside reports whether a real path is the root or under it.
func (r *repo) inside(real string) bool { return repopath.Within(r.realDir, real) }

// readFile returns a file's content: the overlay's if it has one, else the disk's.
func (r *repo) readFile(rel string) ([]byte, error) {
	clean, err := cleanRel(rel)
	if err != nil {
		return nil, err
	}
	if data, ok := r.overlay[clean]; ok {
		return data, nil
	}
	real, err := r.resolve(clean)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(real)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", clean, pathless(err))
	}
	return data, nil
}

// isDir says whether a relative path is a directory inside the root.
func (r *repo) isDir(rel string) bool {
	clean, err := cleanRel(rel)
	if err != nil {
		return false
	}
	real, err := r.resolve(clean)
	if err != nil {
		return false
	}
	fi, err := os.Stat(real)
	return err == nil && fi.IsDir()
}

// exists says whether a relative path is a file or directory inside the root (or an overlay
// file).
func (r *repo) exists(rel string) bool {
	clean, err := cleanRel(rel)
	if err != nil {
		return false
	}
	if _, ok := r.overlay[clean]; ok {
		return true
	}
	real, err := r.resolve(clean)
	if err != nil {
		return false
	}
	_, err = os.Stat(real)
	return err == nil
}

// treeFile is one regular file of a tree read by readTree.
type treeFile struct {
	rel  string // relative to the tree's directory, forward slashes
	info fs.FileInfo
	data []byte
}

// readTree reads every regular file under the relative directory dir, following symlinks only
// while they stay inside the root, with overlay files applied. skip may prune a directory or
// file by its path relative to dir. Files come back sorted by path.
func (r *repo) readTree(ctx context.Context, dir string, skip func(rel string, fi fs.FileInfo) bool) ([]treeFile, error) {
	clean, err := cleanRel(dir)
	if err != nil {
		return nil, err
	}
	real, err := r.resolve(clean)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", clean, pathless(err))
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", clean)
	}
	files := map[string]treeFile{}
	if err := r.walk(ctx, real, "", 0, skip, files); err != nil {
		return nil, fmt.Errorf("read %s: %w", clean, err)
	}
	prefix := clean + "/"
	if clean == "." {
		prefix = ""
	}
	for p, data := range r.overlay {
		if !strings.HasPrefix(p, prefix) {
			continue
		}
		rel := strings.TrimPrefix(p, prefix)
		f, ok := files[rel]
		if !ok {
			f = treeFile{rel: rel, info: overlayInfo{name: path.Base(rel), size: int64(len(data))}}
			if skip != nil && skip(rel, f.info) {
				continue
			}
		}
		f.data = data
		files[rel] = f
	}
	out := make([]treeFile, 0, len(files))
	for _, f := range files {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out, nil
}

func (r *repo) walk(ctx context.Context, realDir, rel string, depth int, skip func(string, fs.FileInfo) bool, files map[string]treeFile) error {
	if depth > maxSymlinkDepth {
		return fmt.Errorf("%s: too many levels of directories or symlinks", rel)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(realDir)
	if err != nil {
		return pathless(err)
	}
	for _, e := range entries {
		childRel := path.Join(rel, e.Name())
		childReal := filepath.Join(realDir, e.Name())
		if e.Type()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(childReal)
			if err != nil {
				return fmt.Errorf("%s: %w", childRel, pathless(err))
			}
			if !r.inside(target) {
				return fmt.Errorf("%s is a symlink that leaves the repository root", childRel)
			}
			childReal = target
		}
		fi, err := os.Stat(childReal)
		if err != nil {
			return fmt.Errorf("%s: %w", childRel, pathless(err))
		}
		if skip != nil && skip(childRel, fi) {
			continue
		}
		switch {
		case fi.IsDir():
			if err := r.walk(ctx, childReal, childRel, depth+1, skip, files); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(childReal)
			if err != nil {
				return fmt.Errorf("%s: %w", childRel, pathless(err))
			}
			files[childRel] = treeFile{rel: childRel, info: fi, data: bytes.TrimPrefix(data, utf8BOM)}
		default:
			return fmt.Errorf("%s is not a regular file", childRel)
		}
	}
	return nil
}

// pathless drops the absolute path of an *fs.PathError: errors name repository-relative paths.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// overlayInfo is the FileInfo of a file that exists only in the overlay.
type overlayInfo struct {
	name string
	size int64
}

func (o overlayInfo) Name() string       { return o.name }
func (o overlayInfo) Size() int64        { return o.size }
func (o overlayInfo) Mode() fs.FileMode  { return 0o644 }
func (o overlayInfo) ModTime() time.Time { return time.Time{} }
func (o overlayInfo) IsDir() bool        { return false }
func (o overlayInfo) Sys() any           { return nil }

// globFiles lists the files of the repository that match a slash-separated pattern, in
// lexical order: `*`, `?` and `[…]` match within one path element, `**` any number of
// elements (doublestar's rules, which Argo CD uses for value file globs).
func globFiles(r *repo, pattern string) ([]string, error) {
	parts := strings.Split(pattern, "/")
	static := 0
	for static < len(parts) && !strings.ContainsAny(parts[static], "*?[") {
		static++
	}
	base := path.Join(parts[:static]...)
	if base == "" {
		base = "."
	}
	var rels []string
	if r.isDir(base) {
		files, err := r.readTree(context.Background(), base, func(_ string, fi fs.FileInfo) bool {
			return fi.IsDir() && fi.Name() == ".git"
		})
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			rels = append(rels, f.rel)
		}
	} else {
		for p := range r.overlay { // a directory that only the overlay has
			if rel, ok := strings.CutPrefix(p, base+"/"); ok {
				rels = append(rels, rel)
			}
		}
	}
	var out []string
	for _, rel := range rels {
		if ok, err := matchElems(parts[static:], strings.Split(rel, "/")); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", pattern, err)
		} else if ok {
			out = append(out, path.Join(base, rel))
		}
	}
	sort.Strings(out)
	return out, nil
}

// matchElems matches path elements against pattern elements, ** standing for any number.
func matchElems(pat, elems []string) (bool, error) {
	if len(pat) == 0 {
		return len(elems) == 0, nil
	}
	if pat[0] == "**" {
		for i := 0; i <= len(elems); i++ {
			if ok, err := matchElems(pat[1:], elems[i:]); ok || err != nil {
				return ok, err
			}
		}
		return false, nil
	}
	if len(elems) == 0 {
		return false, nil
	}
	ok, err := path.Match(pat[0], elems[0])
	if !ok || err != nil {
		return false, err
	}
	return matchElems(pat[1:], elems[1:])
}
