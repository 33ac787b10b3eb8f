package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitobj"
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
	root  string
	store blobSource
	// maxFile is the largest file written (limits.git.maxFileBytes): a larger one is left out
	// of the worktree, unread, and recorded in oversize.
	maxFile int64

	tree  plumbing.Hash        // the tree files describes; zero before the first reset
	files map[string]fileEntry // path → entry, as of tree
	// dirty are the files written since (by Commit), with what they hold now.
	dirty map[string]fileEntry
	// listed is the sorted list of regular files, rebuilt when files change.
	listed []string
	// oversize are the files of tree larger than maxFile, with their size: not on disk.
	oversize map[string]int64
	// dirs are the directories made or found real (not symlinks) during one reset, by path
	// relative to the root; nil between resets.
	dirs map[string]bool
	// cur is the directory curDir opened as a root (dirRoot), during one reset.
	cur    *os.Root
	curDir string
}

// Bounds of what the checkout reads of objects other than files (files have
// limits.git.maxFileBytes): a tree (a directory of 100,000 entries is about 4 MiB) and a
// symlink's target (Linux's PATH_MAX).
const (
	maxTreeBytes    = 64 << 20
	maxSymlinkBytes = 4096
)

// blobSource is where the checkout reads objects: the clone's store.
type blobSource interface {
	// ReadObject reads an object's whole content, refusing one larger than max bytes.
	ReadObject(t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, error)
	// OpenObject opens an object's content for reading, with its size, refusing one larger
	// than max bytes (gitobj.TooLargeError) unread.
	OpenObject(t plumbing.ObjectType, h plumbing.Hash, max int64) (io.ReadCloser, int64, error)
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

func newCheckout(root string, store blobSource, maxFile int64) *checkout {
	return &checkout{root: root, store: store, maxFile: maxFile, dirty: map[string]fileEntry{},
		oversize: map[string]int64{}}
}

// readTree reads a tree object's entries, bounded by maxTreeBytes, and checks them
// (checkEntries): prefix is the tree's path, "" or ending in a slash.
func (c *checkout) readTree(h plumbing.Hash, prefix string) ([]object.TreeEntry, error) {
	raw, err := c.store.ReadObject(plumbing.TreeObject, h, maxTreeBytes)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	entries, err := gitobj.DecodeTree(raw)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	if err := checkEntries(prefix, entries); err != nil {
		return nil, err
	}
	return entries, nil
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
			files, err := c.walk(m, "")
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
	files, err := c.walk(tree, "")
	if err != nil {
		return err
	}
	r, err := c.openRoot()
	if err != nil {
		return fmt.Errorf("open worktree: %w", unroot(err, c.root))
	}
	defer c.closeRoot(r)
	// Remove what the tree does not hold (and what stands where a directory must be).
	dirs := dirSet(files)
	err = fs.WalkDir(r.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if d.IsDir() && p == ".git" {
			return fs.SkipDir
		}
		if d.IsDir() {
			if !dirs[p] {
				if err := r.RemoveAll(filepath.FromSlash(p)); err != nil {
					return err
				}
				return fs.SkipDir
			}
			return nil
		}
		if _, ok := files[p]; !ok {
			return r.Remove(filepath.FromSlash(p))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clean worktree: %w", unroot(err, c.root))
	}
	clear(c.oversize)
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if err := c.write(r, p, files[p]); err != nil {
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

// walk lists the files of a tree whose path is prefix ("" for the root, else ending in a
// slash), by their paths from the root. Every entry is checked (checkEntries) on the way.
func (c *checkout) walk(tree plumbing.Hash, prefix string) (map[string]fileEntry, error) {
	files := map[string]fileEntry{}
	var visit func(h plumbing.Hash, prefix string) error
	visit = func(h plumbing.Hash, prefix string) error {
		entries, err := c.readTree(h, prefix)
		if err != nil {
			return err
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
	return files, visit(tree, prefix)
}

// diff records into changes every file that differs between trees a and b: its entry in b,
// or nil when b does not have it. Directories whose hashes match are skipped unread.
func (c *checkout) diff(a, b plumbing.Hash, prefix string, changes map[string]*fileEntry) error {
	if a == b {
		return nil
	}
	ea, err := c.entries(a, prefix)
	if err != nil {
		return err
	}
	eb, err := c.entries(b, prefix)
	if err != nil {
		return err
	}
	gone := func(e fileEntry, p string) error {
		if e.mode == filemode.Dir {
			sub, err := c.walk(e.hash, p+"/")
			if err != nil {
				return err
			}
			for q := range sub {
				changes[q] = nil
			}
			return nil
		}
		changes[p] = nil
		return nil
	}
	added := func(e fileEntry, p string) error {
		if e.mode == filemode.Dir {
			sub, err := c.walk(e.hash, p+"/")
			if err != nil {
				return err
			}
			for q, f := range sub {
				changes[q] = &f
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

// entries reads a tree's entries by name (none for the zero tree); prefix is its path.
func (c *checkout) entries(h plumbing.Hash, prefix string) (map[string]fileEntry, error) {
	out := map[string]fileEntry{}
	if h.IsZero() {
		return out, nil
	}
	es, err := c.readTree(h, prefix)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		out[e.Name] = fileEntry{hash: e.Hash, mode: e.Mode}
	}
	return out, nil
}

// Every write and removal of the checkout goes through an os.Root opened on the clone, so
// that no path — whatever a tree entry is named, whatever symlink stands on disk — reaches
// outside it (docs/design.md §6): the kernel resolves each path beneath the root and refuses
// one that leaves. On top of that, no write goes through a symlink: a directory a path
// needs is made a real one, replacing a symlink or file that stands in its place, as Git's
// own checkout does; a removal whose parent is not a real directory removes nothing (what it
// names is not there).

// openRoot opens the clone for one reset's writes and removals.
func (c *checkout) openRoot() (*os.Root, error) {
	r, err := os.OpenRoot(c.root)
	if err != nil {
		return nil, err
	}
	c.dirs = map[string]bool{}
	return r, nil
}

func (c *checkout) closeRoot(r *os.Root) {
	c.closeDir()
	c.dirs = nil
	_ = r.Close()
}

// apply writes and removes files: removals first, so that a file may replace a directory
// and a directory a file.
func (c *checkout) apply(changes map[string]*fileEntry) error {
	r, err := c.openRoot()
	if err != nil {
		return fmt.Errorf("open worktree: %w", unroot(err, c.root))
	}
	defer c.closeRoot(r)
	paths := slices.Sorted(maps.Keys(changes))
	for _, p := range paths {
		if changes[p] != nil {
			continue
		}
		delete(c.oversize, p)
		if err := c.remove(r, p); err != nil {
			return err
		}
	}
	for _, p := range paths {
		if e := changes[p]; e != nil {
			if err := c.write(r, p, *e); err != nil {
				return err
			}
		}
	}
	return nil
}

// remove removes one file of the worktree and the directories it leaves empty (Git keeps
// none). rel was a file of a checked tree; a parent of it that is not a real directory
// means the file is not there, and nothing is removed.
func (c *checkout) remove(r *os.Root, rel string) error {
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		fi, err := r.Lstat(filepath.Join(parts[:i]...))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("remove %s: %w", rel, unroot(err, c.root))
		}
		if !fi.IsDir() {
			return nil
		}
	}
	if err := r.Remove(filepath.FromSlash(rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", rel, unroot(err, c.root))
	}
	c.closeDir()
	for i := len(parts) - 1; i > 0; i-- {
		if r.Remove(filepath.Join(parts[:i]...)) != nil {
			break
		}
	}
	return nil
}

// write puts one entry of a tree on disk: a file with its mode, a symlink, or the empty
// directory of a submodule. A file larger than maxFile is not read: whatever stood at its
// path is removed, and the file is recorded in oversize.
func (c *checkout) write(r *os.Root, rel string, e fileEntry) error {
	// The tree's entries were checked when it was read; a path is checked again here, where
	// it becomes a file, so that no caller can pass one that was not.
	for _, name := range strings.Split(rel, "/") {
		if why := checkEntryName(name, filemode.Dir); why != "" {
			return fmt.Errorf("write %s: %w", rel, &BadEntryError{Path: rel, Reason: why})
		}
	}
	if err := c.makeParents(r, rel); err != nil {
		return fmt.Errorf("write %s: %w", rel, unroot(err, c.root))
	}
	dir, name := path.Split(rel)
	d, err := c.dirRoot(r, strings.TrimSuffix(dir, "/"))
	if err != nil {
		return fmt.Errorf("write %s: %w", rel, unroot(err, c.root))
	}
	if fi, err := d.Lstat(name); err == nil && (fi.IsDir() || fi.Mode()&fs.ModeSymlink != 0) {
		for k := range c.dirs {
			if k == rel || strings.HasPrefix(k, rel+"/") {
				delete(c.dirs, k) // no longer there
			}
		}
		if err := d.RemoveAll(name); err != nil {
			return fmt.Errorf("write %s: %w", rel, unroot(err, c.root))
		}
	}
	switch e.mode {
	case filemode.Submodule:
		return d.Mkdir(name, 0o755)
	case filemode.Symlink:
		target, err := c.store.ReadObject(plumbing.BlobObject, e.hash, maxSymlinkBytes)
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
		_ = d.Remove(name)
		if err := d.Symlink(string(target), name); err != nil {
			return fmt.Errorf("write %s: %w", rel, unroot(err, c.root))
		}
		return nil
	}
	src, size, err := c.store.OpenObject(plumbing.BlobObject, e.hash, c.maxFile)
	if big := (gitobj.TooLargeError{}); errors.As(err, &big) {
		// Left out of the worktree, and never read: reading it is refused (ReadFile).
		if err := d.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write %s: %w", rel, unroot(err, c.root))
		}
		c.oversize[rel] = size
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", rel, err)
	}
	defer src.Close()
	delete(c.oversize, rel)
	perm := fs.FileMode(0o644)
	if e.mode == filemode.Executable {
		perm = 0o755
	}
	f, err := d.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", rel, unroot(err, c.root))
	}
	// Streamed: a file is never held whole in memory. Chmod covers an existing file's mode
	// and a umask-restricted create.
	_, err = io.Copy(f, io.LimitReader(src, size))
	if err == nil {
		err = f.Chmod(perm)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", rel, unroot(err, c.root))
	}
	return nil
}

// dirRoot is the directory dir of the clone (relative, "" for the root) opened as a root of
// its own, kept while the files written lie in it — the files of a tree come in order, so
// most writes then resolve one name, not their whole path. Any removal of a directory drops
// it (closeDir).
func (c *checkout) dirRoot(r *os.Root, dir string) (*os.Root, error) {
	if dir == "" {
		return r, nil
	}
	if c.cur != nil && c.curDir == dir {
		return c.cur, nil
	}
	c.closeDir()
	d, err := r.OpenRoot(filepath.FromSlash(dir))
	if err != nil {
		return nil, err
	}
	c.cur, c.curDir = d, dir
	return d, nil
}

// closeDir closes the directory dirRoot keeps.
func (c *checkout) closeDir() {
	if c.cur != nil {
		_ = c.cur.Close()
		c.cur, c.curDir = nil, ""
	}
}

// makeParents makes every directory above rel a real directory, from the root down,
// replacing a file or symlink that stands where one must be — never writing through it.
func (c *checkout) makeParents(r *os.Root, rel string) error {
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		dir := strings.Join(parts[:i], "/")
		if c.dirs[dir] {
			continue
		}
		name := filepath.FromSlash(dir)
		fi, err := r.Lstat(name)
		switch {
		case err == nil && fi.IsDir():
		case err == nil:
			c.closeDir()
			if err := r.Remove(name); err != nil {
				return err
			}
			fallthrough
		case errors.Is(err, fs.ErrNotExist):
			if err := r.Mkdir(name, 0o755); err != nil {
				return err
			}
		default:
			return err
		}
		c.dirs[dir] = true
	}
	return nil
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
