package gitrepo

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// checkout is the clone's worktree, kept by this package rather than by a Git index: which
// tree the files on disk are, and which files the cycle's commits wrote since. A reset then
// touches only what differs — the files a fetched commit changed, the files the cycle wrote —
// where a hard reset through an index compares every file of the worktree. A repository of a
// hundred thousand files costs a tree walk once, when the workspace opens, and a few files
// per cycle after that.
//
// A marker file in .git names the tree the worktree holds. It is removed before the first
// write that makes the worktree differ from it and written again once a reset completes, so a
// process killed mid-way leaves no marker, and the next one rewrites every file.
type checkout struct {
	root string
	// read returns an object's content from the clone.
	read func(t plumbing.ObjectType, h plumbing.Hash) ([]byte, error)

	tree  plumbing.Hash        // the tree files describes; zero before the first reset
	files map[string]fileEntry // path → entry, as of tree
	// dirty are the files written since (by Commit), with what they hold now.
	dirty map[string]fileEntry
	// listed is the sorted list of regular files, rebuilt when files change.
	listed []string
}

// fileEntry is a file of a tree: its blob and mode.
type fileEntry struct {
	hash plumbing.Hash
	mode filemode.FileMode
}

func (e fileEntry) regular() bool {
	return e.mode == filemode.Regular || e.mode == filemode.Executable || e.mode == filemode.Deprecated
}

// markerName is the marker file, inside .git.
const markerName = "gitops-autoscaler-checkout"

func newCheckout(root string, read func(plumbing.ObjectType, plumbing.Hash) ([]byte, error)) *checkout {
	return &checkout{root: root, read: read, dirty: map[string]fileEntry{}}
}

func (c *checkout) markerPath() string { return filepath.Join(c.root, ".git", markerName) }

// marked is the tree the marker names, or zero.
func (c *checkout) marked() plumbing.Hash {
	b, err := os.ReadFile(c.markerPath())
	if err != nil || !plumbing.IsHash(strings.TrimSpace(string(b))) {
		return plumbing.ZeroHash
	}
	return plumbing.NewHash(strings.TrimSpace(string(b)))
}

func (c *checkout) mark(tree plumbing.Hash) error {
	return os.WriteFile(c.markerPath(), []byte(tree.String()+"\n"), 0o644)
}

func (c *checkout) unmark() error {
	if err := os.Remove(c.markerPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// resetTo makes the worktree hold tree exactly: only the files that differ are written or
// removed. A workspace just opened trusts the marker's tree (when it can still read it) and
// rewrites every file otherwise.
func (c *checkout) resetTo(tree plumbing.Hash) error {
	if c.files == nil {
		if m := c.marked(); !m.IsZero() {
			files, err := c.walk(m)
			if err == nil {
				c.tree, c.files = m, files
			}
		}
		if c.files == nil {
			return c.checkoutAll(tree)
		}
	}
	if tree == c.tree && len(c.dirty) == 0 {
		return nil
	}
	if err := c.unmark(); err != nil {
		return err
	}
	changes := map[string]*fileEntry{} // path → new entry, nil to remove
	if err := c.diff(c.tree, tree, "", changes); err != nil {
		return err
	}
	for p := range c.dirty {
		if _, ok := changes[p]; ok {
			continue
		}
		// Unchanged between the two trees: what the old one held is what the new one holds.
		if e, ok := c.files[p]; ok {
			changes[p] = &e
		} else {
			changes[p] = nil
		}
	}
	if err := c.apply(changes); err != nil {
		return err
	}
	for p, e := range changes {
		if e == nil {
			delete(c.files, p)
		} else {
			c.files[p] = *e
		}
	}
	c.tree, c.listed = tree, nil
	clear(c.dirty)
	return c.mark(tree)
}

// wrote records a file written by a commit of the cycle: the worktree no longer is the
// marker's tree.
func (c *checkout) wrote(rel string, e fileEntry) error {
	if len(c.dirty) == 0 {
		if err := c.unmark(); err != nil {
			return err
		}
	}
	if _, ok := c.files[rel]; !ok {
		c.listed = nil
	}
	c.dirty[rel] = e
	return nil
}

// settle records that the worktree, with the files the cycle wrote, is tree: the cycle's
// commits were pushed and their objects are in the clone.
func (c *checkout) settle(tree plumbing.Hash) error {
	for p, e := range c.dirty {
		c.files[p] = e
	}
	clear(c.dirty)
	c.tree, c.listed = tree, nil
	return c.mark(tree)
}

// checkoutAll rewrites the worktree from tree: every file written, anything else removed.
func (c *checkout) checkoutAll(tree plumbing.Hash) error {
	if err := c.unmark(); err != nil {
		return err
	}
	files, err := c.walk(tree)
	if err != nil {
		return err
	}
	// Remove what the tree does not hold (and what stands where a directory must be).
	dirs := dirSet(files)
	err = filepath.WalkDir(c.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == c.root {
			return nil
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, c.root+string(filepath.Separator)))
		if d.IsDir() && rel == ".git" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			if !dirs[rel] {
				if err := os.RemoveAll(p); err != nil {
					return err
				}
				return filepath.SkipDir
			}
			return nil
		}
		if _, ok := files[rel]; !ok {
			return os.Remove(p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clean worktree: %w", unroot(err, c.root))
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if err := c.write(p, files[p]); err != nil {
			return err
		}
	}
	c.tree, c.files, c.listed = tree, files, nil
	clear(c.dirty)
	return c.mark(tree)
}

// dirSet is every directory the files lie in.
func dirSet(files map[string]fileEntry) map[string]bool {
	dirs := map[string]bool{}
	for p := range files {
		for d := path.Dir(p); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	return dirs
}

// walk lists the files of a tree.
func (c *checkout) walk(tree plumbing.Hash) (map[string]fileEntry, error) {
	files := map[string]fileEntry{}
	var visit func(h plumbing.Hash, prefix string) error
	visit = func(h plumbing.Hash, prefix string) error {
		raw, err := c.read(plumbing.TreeObject, h)
		if err != nil {
			return fmt.Errorf("read tree %s: %w", h, err)
		}
		entries, err := decodeTree(raw)
		if err != nil {
			return fmt.Errorf("read tree %s: %w", h, err)
		}
		for _, e := range entries {
			p := prefix + e.Name
			if e.Mode == filemode.Dir {
				if err := visit(e.Hash, p+"/"); err != nil {
					return err
				}
				continue
			}
			files[p] = fileEntry{hash: e.Hash, mode: e.Mode}
		}
		return nil
	}
	if tree.IsZero() {
		return files, nil
	}
	return files, visit(tree, "")
}

// diff records into changes every file that differs between trees a and b: its entry in b,
// or nil when b does not have it. Directories whose hashes match are skipped unread.
func (c *checkout) diff(a, b plumbing.Hash, prefix string, changes map[string]*fileEntry) error {
	if a == b {
		return nil
	}
	ea, err := c.entries(a)
	if err != nil {
		return err
	}
	eb, err := c.entries(b)
	if err != nil {
		return err
	}
	gone := func(e fileEntry, p string) error {
		if e.mode == filemode.Dir {
			sub, err := c.walk(e.hash)
			if err != nil {
				return err
			}
			for q := range sub {
				changes[p+"/"+q] = nil
			}
			return nil
		}
		changes[p] = nil
		return nil
	}
	added := func(e fileEntry, p string) error {
		if e.mode == filemode.Dir {
			sub, err := c.walk(e.hash)
			if err != nil {
				return err
			}
			for q, f := range sub {
				changes[p+"/"+q] = &f
			}
			return nil
		}
		changes[p] = &e
		return nil
	}
	for name, x := range ea {
		p := prefix + name
		y, ok := eb[name]
		switch {
		case !ok:
			if err := gone(x, p); err != nil {
				return err
			}
		case x == y:
		case x.mode == filemode.Dir && y.mode == filemode.Dir:
			if err := c.diff(x.hash, y.hash, p+"/", changes); err != nil {
				return err
			}
		default:
			if err := gone(x, p); err != nil {
				return err
			}
			if err := added(y, p); err != nil {
				return err
			}
		}
	}
	for name, y := range eb {
		if _, ok := ea[name]; !ok {
			if err := added(y, prefix+name); err != nil {
				return err
			}
		}
	}
	return nil
}

// entries reads a tree's entries by name (none for the zero tree).
func (c *checkout) entries(h plumbing.Hash) (map[string]fileEntry, error) {
	out := map[string]fileEntry{}
	if h.IsZero() {
		return out, nil
	}
	raw, err := c.read(plumbing.TreeObject, h)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	es, err := decodeTree(raw)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	for _, e := range es {
		out[e.Name] = fileEntry{hash: e.Hash, mode: e.Mode}
	}
	return out, nil
}

// apply writes and removes files: removals first, so that a file may replace a directory
// and a directory a file.
func (c *checkout) apply(changes map[string]*fileEntry) error {
	paths := slices.Sorted(maps.Keys(changes))
	for _, p := range paths {
		if changes[p] != nil {
			continue
		}
		full := filepath.Join(c.root, filepath.FromSlash(p))
		if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", p, unroot(err, c.root))
		}
		// Git keeps no empty directories.
		for d := filepath.Dir(full); d != c.root && strings.HasPrefix(d, c.root); d = filepath.Dir(d) {
			if os.Remove(d) != nil {
				break
			}
		}
	}
	for _, p := range paths {
		if e := changes[p]; e != nil {
			if err := c.write(p, *e); err != nil {
				return err
			}
		}
	}
	return nil
}

// write puts one entry of a tree on disk: a file with its mode, a symlink, or the empty
// directory of a submodule.
func (c *checkout) write(rel string, e fileEntry) error {
	if strings.EqualFold(strings.SplitN(rel, "/", 2)[0], ".git") {
		return fmt.Errorf("write %s: a tree entry inside .git", rel)
	}
	full := filepath.Join(c.root, filepath.FromSlash(rel))
	if err := c.makeParents(full); err != nil {
		return fmt.Errorf("write %s: %w", rel, unroot(err, c.root))
	}
	if fi, err := os.Lstat(full); err == nil && (fi.IsDir() || fi.Mode()&fs.ModeSymlink != 0) {
		if err := os.RemoveAll(full); err != nil {
			return fmt.Errorf("write %s: %w", rel, unroot(err, c.root))
		}
	}
	switch e.mode {
	case filemode.Submodule:
		return os.MkdirAll(full, 0o755)
	case filemode.Symlink:
		target, err := c.read(plumbing.BlobObject, e.hash)
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
		_ = os.Remove(full)
		if err := os.Symlink(string(target), full); err != nil {
			return fmt.Errorf("write %s: %w", rel, unroot(err, c.root))
		}
		return nil
	}
	content, err := c.read(plumbing.BlobObject, e.hash)
	if err != nil {
		return fmt.Errorf("read %s: %w", rel, err)
	}
	perm := fs.FileMode(0o644)
	if e.mode == filemode.Executable {
		perm = 0o755
	}
	if err := os.WriteFile(full, content, perm); err != nil {
		return fmt.Errorf("write %s: %w", rel, unroot(err, c.root))
	}
	if err := os.Chmod(full, perm); err != nil {
		return fmt.Errorf("write %s: %w", rel, unroot(err, c.root))
	}
	return nil
}

// makeParents creates the directories above full, replacing a file or symlink that stands
// where one must be.
func (c *checkout) makeParents(full string) error {
	dir := filepath.Dir(full)
	if fi, err := os.Lstat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if dir != c.root {
		if err := c.makeParents(dir); err != nil {
			return err
		}
	}
	if fi, err := os.Lstat(dir); err == nil {
		if fi.IsDir() {
			return nil
		}
		if err := os.Remove(dir); err != nil {
			return err
		}
	}
	return os.Mkdir(dir, 0o755)
}

// regularFiles lists the regular files of the worktree (as of the cycle's commits too), in
// lexical order.
func (c *checkout) regularFiles() []string {
	if c.listed == nil {
		seen := make(map[string]bool, len(c.files)+len(c.dirty))
		for p, e := range c.files {
			if e.regular() {
				seen[p] = true
			}
		}
		for p, e := range c.dirty {
			seen[p] = e.regular()
		}
		c.listed = make([]string, 0, len(seen))
		for p, ok := range seen {
			if ok {
				c.listed = append(c.listed, p)
			}
		}
		slices.Sort(c.listed)
	}
	return c.listed
}

// blob is the blob a regular file of the worktree holds now.
func (c *checkout) blob(rel string) (plumbing.Hash, bool) {
	if e, ok := c.dirty[rel]; ok {
		return e.hash, e.regular()
	}
	e, ok := c.files[rel]
	return e.hash, ok && e.regular()
}
