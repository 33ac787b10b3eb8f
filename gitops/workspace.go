package gitops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// DefaultNetworkTimeout bounds a network call (clone, fetch, push) whose context has no
// deadline of its own.
const DefaultNetworkTimeout = 2 * time.Minute

const remoteName = "origin"

// ErrNothingToCommit is returned by Commit when the content equals the file's: the autoscaler
// never makes an empty commit.
var ErrNothingToCommit = errors.New("nothing to commit: the file already has this content")

// WorkspaceOptions open a Workspace.
type WorkspaceOptions struct {
	// Name is the repository's name in the service config; it names the cache directory.
	Name string
	// URL is the remote: https:// or http://, ssh:// or scp-like git@host:path, file:// or a
	// local path (file remotes need the git binary, which serves them).
	URL string
	// Branch is the base branch (default main).
	Branch string
	// Auth says how to authenticate; its secrets are read once, by Open.
	Auth *policy.GitAuth
	// CacheDir holds the clones, one directory per repository.
	CacheDir string
	// Depth makes a shallow clone of that many commits. The default, 0, is full history:
	// holds and cooldowns read history back, and a shallow clone would cut it short.
	Depth int
	// NetworkTimeout bounds each network call whose context has no deadline (default
	// DefaultNetworkTimeout).
	NetworkTimeout time.Duration
	// Getenv reads environment variables for the auth (default os.Getenv).
	Getenv func(string) string
}

// Workspace is one repository's working clone, kept in the cache directory across cycles:
// cloned once, then fetched and hard-reset to the remote base branch each cycle. Commits made
// in a cycle stay local until Push sends them all at once. A Workspace is not safe for
// concurrent use; a caller serializes a repository's cycles.
type Workspace struct {
	repo    *git.Repository
	store   *objectStore
	wt      *git.Worktree
	root    string
	url     string
	branch  plumbing.ReferenceName // refs/heads/<base>
	tracker plumbing.ReferenceName // refs/remotes/origin/<base>
	creds   credentials
	depth   int
	timeout time.Duration
	base    plumbing.Hash // the remote base branch at the last sync
	// head is the local base branch: base plus the cycle's commits. Its ref is written when
	// it is pushed or reset, not at every commit — the commits it adds live in memory anyway.
	head plumbing.Hash
	// trees are the entries of the trees the last commit wrote: the next commit, on top of
	// it, starts from them instead of decoding them again.
	trees map[plumbing.Hash][]object.TreeEntry
}

// Open returns the workspace of a repository at the remote base branch's head: it clones the
// repository into the cache directory the first time, and later fetches it and hard-resets
// the worktree — one network round per call, never a re-clone. A cache directory that is not
// a usable clone of URL is replaced.
func Open(ctx context.Context, opts WorkspaceOptions) (*Workspace, error) {
	if opts.URL == "" {
		return nil, errors.New("open workspace: no remote URL")
	}
	if opts.CacheDir == "" {
		return nil, errors.New("open workspace: no cache directory")
	}
	if opts.Branch == "" {
		opts.Branch = policy.DefaultBranch
	}
	if opts.NetworkTimeout <= 0 {
		opts.NetworkTimeout = DefaultNetworkTimeout
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	creds, err := resolveAuth(opts.URL, opts.Auth, opts.Getenv)
	if err != nil {
		return nil, redact(fmt.Errorf("open workspace %s: %w", opts.URL, err), nil)
	}
	w := &Workspace{
		root:    filepath.Join(opts.CacheDir, cacheName(opts.Name, opts.URL)),
		url:     opts.URL,
		branch:  plumbing.NewBranchReferenceName(opts.Branch),
		tracker: plumbing.NewRemoteReferenceName(remoteName, opts.Branch),
		creds:   creds,
		depth:   opts.Depth,
		timeout: opts.NetworkTimeout,
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, w.fail("open workspace", err)
	}
	if w.openExisting() {
		if err := w.Sync(ctx); err != nil {
			return nil, err
		}
		return w, nil
	}
	if err := w.clone(ctx); err != nil {
		return nil, err
	}
	return w, nil
}

// openExisting opens the cached clone when it is one of this URL and branch, and removes
// whatever else is in its place.
func (w *Workspace) openExisting() bool {
	if _, err := os.Stat(w.root); errors.Is(err, fs.ErrNotExist) {
		return false
	}
	repo, st, err := openRepository(w.root)
	if err == nil {
		var rc *config.RemoteConfig
		if rc, err = remoteConfig(repo); err == nil && len(rc.URLs) == 1 && rc.URLs[0] == w.url {
			if wt, err := repo.Worktree(); err == nil {
				w.repo, w.store, w.wt = repo, st, wt
				return true
			}
		}
		_ = st.Close()
	}
	// Not a usable clone (an interrupted clone, a changed URL): start over. The directory is
	// ours — its name is derived from the URL under the cache directory.
	_ = os.RemoveAll(w.root)
	return false
}

// maxOpenPacks bounds the pack files a workspace keeps open between reads: reopening a pack
// for every object makes a history walk several times slower.
const maxOpenPacks = 16

// openRepository opens a clone with pack files kept open (bounded) and new objects kept in
// memory (objectStore); Close releases the files.
func openRepository(dir string) (*git.Repository, *objectStore, error) {
	fi, err := os.Stat(filepath.Join(dir, git.GitDirName))
	if err != nil {
		return nil, nil, err
	}
	if !fi.IsDir() {
		return nil, nil, errors.New(".git is not a directory")
	}
	st := newObjectStore(filesystem.NewStorageWithOptions(osfs.New(filepath.Join(dir, git.GitDirName)),
		cache.NewObjectLRUDefault(), filesystem.Options{MaxOpenDescriptors: maxOpenPacks}))
	repo, err := git.Open(st, osfs.New(dir))
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return repo, st, nil
}

// Close releases the files the workspace keeps open. The clone stays in the cache.
func (w *Workspace) Close() error {
	if w.store == nil {
		return nil
	}
	return w.store.Close()
}

func remoteConfig(repo *git.Repository) (*config.RemoteConfig, error) {
	r, err := repo.Remote(remoteName)
	if err != nil {
		return nil, err
	}
	return r.Config(), nil
}

// clone clones into a temporary sibling and renames it into place, so a crash never leaves a
// half clone where the next run would open it.
func (w *Workspace) clone(ctx context.Context) error {
	tmp, err := os.MkdirTemp(filepath.Dir(w.root), "."+filepath.Base(w.root)+".clone-")
	if err != nil {
		return w.fail("clone", err)
	}
	defer os.RemoveAll(tmp) // a no-op after the rename

	ctx, cancel := w.netContext(ctx)
	defer cancel()
	_, err = git.PlainCloneContext(ctx, tmp, false, &git.CloneOptions{
		URL:           w.url,
		Auth:          w.creds.method,
		RemoteName:    remoteName,
		ReferenceName: w.branch,
		SingleBranch:  true,
		Tags:          git.NoTags,
		Depth:         w.depth,
	})
	if err != nil {
		return w.fail("clone", err)
	}
	if err := os.Rename(tmp, w.root); err != nil {
		return w.fail("clone", err)
	}
	if w.repo, w.store, err = openRepository(w.root); err != nil {
		return w.fail("clone", err)
	}
	if w.wt, err = w.repo.Worktree(); err != nil {
		return w.fail("clone", err)
	}
	ref, err := w.repo.Reference(w.tracker, true)
	if err != nil {
		return w.fail("clone", err)
	}
	w.base, w.head = ref.Hash(), ref.Hash()
	return nil
}

// Sync fetches the base branch (one fetch) and hard-resets the worktree to it, dropping any
// local commit and change not pushed. Call it at the start of a cycle, and after ErrPushRace
// to re-read and re-decide on the new head.
func (w *Workspace) Sync(ctx context.Context) error {
	// Before the fetch, which asks for every commit the store lacks: should a pushed commit
	// not have been saved (see Push), the fetch brings it back.
	w.store.discard()
	nctx, cancel := w.netContext(ctx)
	defer cancel()
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", w.branch, w.tracker))
	err := w.repo.FetchContext(nctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       w.creds.method,
		Tags:       git.NoTags,
		Depth:      w.depth,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return w.fail("fetch", err)
	}
	ref, err := w.repo.Reference(w.tracker, true)
	if err != nil {
		return w.fail("fetch", err)
	}
	w.base = ref.Hash()
	return w.ResetTo(w.base)
}

// ResetTo hard-resets the base branch and the worktree to a commit, locally, and removes
// untracked files. ResetTo(Base()) drops the cycle's unpushed commits — e.g. after a pull
// request's commit was pushed to its own branch.
func (w *Workspace) ResetTo(h plumbing.Hash) error {
	if err := w.repo.Storer.SetReference(plumbing.NewHashReference(w.branch, h)); err != nil {
		return w.fail("reset", err)
	}
	w.head = h
	if err := w.repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, w.branch)); err != nil {
		return w.fail("reset", err)
	}
	if err := w.wt.Reset(&git.ResetOptions{Commit: h, Mode: git.HardReset}); err != nil {
		return w.fail("reset", err)
	}
	if err := w.wt.Clean(&git.CleanOptions{Dir: true}); err != nil {
		return w.fail("reset", err)
	}
	return nil
}

// Root is the worktree directory.
func (w *Workspace) Root() string { return w.root }

// Base is the remote base branch's head as of the last sync (or push).
func (w *Workspace) Base() plumbing.Hash { return w.base }

// Head is the local head: Base plus the commits of this cycle.
func (w *Workspace) Head() plumbing.Hash { return w.head }

// Repository is the underlying go-git repository, for reading objects.
func (w *Workspace) Repository() *git.Repository { return w.repo }

// ReadFile reads a file of the worktree by its repository-relative path (SafeJoin rules).
func (w *Workspace) ReadFile(rel string) ([]byte, error) {
	p, err := SafeJoin(w.root, rel)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, unroot(err, w.root))
	}
	return b, nil
}

// WriteFile writes a file of the worktree, keeping the mode of an existing file (new files get
// 0644). It refuses symlinks, so a write changes exactly the file it names.
func (w *Workspace) WriteFile(rel string, data []byte) error {
	p, err := SafeJoin(w.root, rel)
	if err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	if err := writeRegular(p, data); err != nil {
		return fmt.Errorf("write %s: %w", rel, unroot(err, w.root))
	}
	return nil
}

func writeRegular(p string, data []byte) error {
	mode := fs.FileMode(0o644)
	fi, err := os.Lstat(p)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return errors.New("not a regular file")
	case err == nil:
		mode = fi.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	// os.WriteFile keeps an existing file's mode; Chmod covers a umask-restricted create.
	if err := os.WriteFile(p, data, mode); err != nil {
		return err
	}
	return os.Chmod(p, mode)
}

// CommitRequest is one decision's commit: exactly one file, its new content, the message.
type CommitRequest struct {
	// File is repository-relative.
	File    string
	Content []byte
	Message string
	// Author authors and commits (empty fields take the policy defaults).
	Author policy.CommitIdentity
	// When is the commit's author and committer time; required (time is an input).
	When time.Time
}

// Commit writes the file and commits it on the local base branch, as one commit that changes
// exactly that file. It refuses an empty commit (ErrNothingToCommit). The commit stays local
// until Push.
func (w *Workspace) Commit(ctx context.Context, req CommitRequest) (plumbing.Hash, error) {
	fail := func(err error) (plumbing.Hash, error) {
		return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", req.File, err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if req.When.IsZero() {
		return fail(errors.New("no commit time"))
	}
	if strings.TrimSpace(req.Message) == "" {
		return fail(errors.New("empty message"))
	}
	p, err := SafeJoin(w.root, req.File)
	if err != nil {
		return fail(err)
	}
	old, err := os.ReadFile(p)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(unroot(err, w.root))
	}
	if err == nil && bytes.Equal(old, req.Content) {
		return fail(ErrNothingToCommit)
	}
	sig := signature(req.Author, req.When)
	parent := w.Head()
	rel := filepath.ToSlash(filepath.Clean(filepath.FromSlash(req.File)))
	h, err := w.commitFile(parent, rel, req.Content, sig, req.Message)
	if err != nil {
		return fail(err)
	}
	if err := writeRegular(p, req.Content); err != nil {
		_ = w.ResetTo(parent)
		return fail(unroot(err, w.root))
	}
	w.head = h
	return h, nil
}

// signature is the author and committer of our commits; empty fields take the defaults.
func signature(id policy.CommitIdentity, when time.Time) object.Signature {
	sig := object.Signature{Name: id.AuthorName, Email: id.AuthorEmail, When: when}
	if sig.Name == "" {
		sig.Name = policy.DefaultAuthorName
	}
	if sig.Email == "" {
		sig.Email = policy.DefaultAuthorEmail
	}
	return sig
}

// commitFile writes a commit on parent whose tree is parent's with one file's blob replaced
// (or added), built from the object store alone: a few object writes per commit however large
// the repository, where go-git's Worktree.Add and Commit read, rewrite and re-hash the whole
// index and tree (a 1,000-policy cycle spent most of its time there). Only the trees along the
// file's path change, so the commit changes exactly that file. The index is left as it was;
// nothing reads it before the next Sync or ResetTo rewrites it.
func (w *Workspace) commitFile(parent plumbing.Hash, rel string, content []byte, sig object.Signature, msg string) (plumbing.Hash, error) {
	pc, err := w.repo.CommitObject(parent)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read head commit: %w", err)
	}
	blob, err := w.writeBlob(content)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write blob: %w", err)
	}
	written := map[plumbing.Hash][]object.TreeEntry{}
	root, err := w.treeWithFile(pc.TreeHash, strings.Split(rel, "/"), blob, written)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	w.trees = written
	if root == pc.TreeHash {
		return plumbing.ZeroHash, ErrNothingToCommit
	}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: root, ParentHashes: []plumbing.Hash{parent}}
	obj := w.repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode commit: %w", err)
	}
	h, err := w.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write commit: %w", err)
	}
	return h, nil
}

// treeWithFile writes the tree that is tree (zero: a new, empty directory) with the file at
// parts pointing at blob, and the trees along the way, and returns the new tree's hash. An
// existing file keeps its mode; a symlink or a directory in the file's place is refused.
// The entries of the trees it writes go into written.
func (w *Workspace) treeWithFile(tree plumbing.Hash, parts []string, blob plumbing.Hash, written map[plumbing.Hash][]object.TreeEntry) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	if cached, ok := w.trees[tree]; ok {
		entries = slices.Clone(cached)
	} else if !tree.IsZero() {
		t, err := object.GetTree(w.repo.Storer, tree)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("read tree: %w", err)
		}
		entries = slices.Clone(t.Entries)
	}
	i := slices.IndexFunc(entries, func(e object.TreeEntry) bool { return e.Name == parts[0] })
	e := object.TreeEntry{Name: parts[0], Mode: filemode.Regular, Hash: blob}
	if len(parts) == 1 {
		if i >= 0 {
			if m := entries[i].Mode; m != filemode.Regular && m != filemode.Executable && m != filemode.Deprecated {
				return plumbing.ZeroHash, fmt.Errorf("%s is not a regular file in the commit", parts[0])
			}
			e.Mode = entries[i].Mode
			if err := w.store.deltify(blob, entries[i].Hash); err != nil {
				return plumbing.ZeroHash, err
			}
		}
	} else {
		var sub plumbing.Hash
		if i >= 0 {
			if entries[i].Mode != filemode.Dir {
				return plumbing.ZeroHash, fmt.Errorf("%s is not a directory in the commit", parts[0])
			}
			sub = entries[i].Hash
		}
		h, err := w.treeWithFile(sub, parts[1:], blob, written)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		e = object.TreeEntry{Name: parts[0], Mode: filemode.Dir, Hash: h}
	}
	if i >= 0 {
		if entries[i] == e {
			return tree, nil
		}
		entries[i] = e
	} else {
		entries = append(entries, e)
		// Git orders a tree's entries by name, a directory's name as if it ended in '/'.
		key := func(e object.TreeEntry) string {
			if e.Mode == filemode.Dir {
				return e.Name + "/"
			}
			return e.Name
		}
		slices.SortFunc(entries, func(a, b object.TreeEntry) int { return strings.Compare(key(a), key(b)) })
	}
	raw, err := encodeTree(entries)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode tree: %w", err)
	}
	h, err := w.writeObject(plumbing.TreeObject, raw)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write tree: %w", err)
	}
	if err := w.store.deltify(h, tree); err != nil {
		return plumbing.ZeroHash, err
	}
	written[h] = entries
	return h, nil
}

// encodeTree is a tree object's content, as object.Tree's Encode writes it, in one buffer:
// entries in the order given, each "<octal mode> <name>\x00<hash>".
func encodeTree(entries []object.TreeEntry) ([]byte, error) {
	n := 0
	for _, e := range entries {
		n += len(e.Name) + len(e.Hash) + 8
	}
	raw := make([]byte, 0, n)
	for _, e := range entries {
		if strings.IndexByte(e.Name, 0) >= 0 {
			return nil, fmt.Errorf("malformed filename %q", e.Name)
		}
		raw = strconv.AppendUint(raw, uint64(e.Mode), 8)
		raw = append(raw, ' ')
		raw = append(raw, e.Name...)
		raw = append(raw, 0)
		raw = append(raw, e.Hash[:]...)
	}
	return raw, nil
}

// writeBlob stores content as a blob object.
func (w *Workspace) writeBlob(content []byte) (plumbing.Hash, error) {
	return w.writeObject(plumbing.BlobObject, content)
}

// writeObject stores an object of a type with this content.
func (w *Workspace) writeObject(t plumbing.ObjectType, content []byte) (plumbing.Hash, error) {
	obj := w.repo.Storer.NewEncodedObject()
	obj.SetType(t)
	obj.SetSize(int64(len(content)))
	wr, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := wr.Write(content); err != nil {
		_ = wr.Close()
		return plumbing.ZeroHash, err
	}
	if err := wr.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return w.repo.Storer.SetEncodedObject(obj)
}

// netContext gives a network call a deadline when its context has none.
func (w *Workspace) netContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, w.timeout)
}

// fail wraps an error with the step and the (redacted) remote, scrubbed of secrets.
func (w *Workspace) fail(step string, err error) error {
	return redact(fmt.Errorf("%s %s: %w", step, w.url, err), w.creds.secrets)
}

// SafeJoin joins a repository-relative path under root and refuses any path that could leave
// it (invariant 8): empty or absolute paths, `..` escapes, anything inside .git, and symlinks —
// anywhere along the path — that resolve outside root. Paths that do not exist yet are checked
// up to their deepest existing parent; a dangling symlink is refused.
func SafeJoin(root, rel string) (string, error) {
	if rel == "" {
		return "", errors.New("empty path")
	}
	slashed := filepath.ToSlash(rel)
	if filepath.IsAbs(rel) || path.IsAbs(slashed) || filepath.VolumeName(rel) != "" || strings.HasPrefix(slashed, "//") {
		return "", fmt.Errorf("path %q is absolute; it must be relative to the repository root", rel)
	}
	clean := path.Clean(slashed)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return "", fmt.Errorf("path %q leaves the repository", rel)
	}
	if clean == "." {
		return "", fmt.Errorf("path %q names the repository root, not a file", rel)
	}
	for _, part := range strings.Split(clean, "/") {
		if strings.EqualFold(part, ".git") {
			return "", fmt.Errorf("path %q is inside .git", rel)
		}
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("resolve repository root: %w", err)
	}
	joined := filepath.Join(root, filepath.FromSlash(clean))
	resolved, err := resolveExisting(joined)
	if err != nil {
		return "", fmt.Errorf("path %q: %w", rel, unroot(err, root))
	}
	if r, err := filepath.Rel(realRoot, resolved); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("path %q resolves outside the repository through a symlink", rel)
	}
	return joined, nil
}

// resolveExisting evaluates the symlinks of p's deepest existing prefix and appends the rest.
func resolveExisting(p string) (string, error) {
	r, err := filepath.EvalSymlinks(p)
	if err == nil {
		return r, nil
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

// unroot strips the cache directory from an error's text: errors name repository paths.
func unroot(err error, root string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if r, rerr := filepath.Rel(root, pe.Path); rerr == nil && !strings.HasPrefix(r, "..") {
			return &fs.PathError{Op: pe.Op, Path: filepath.ToSlash(r), Err: pe.Err}
		}
	}
	return err
}

// cacheName is a clone's directory: the repository's name, readable, and a hash of the URL,
// so two remotes with one name never share a clone.
func cacheName(name, rawURL string) string {
	if name == "" {
		name = strings.TrimSuffix(path.Base(filepath.ToSlash(RedactURL(rawURL))), ".git")
	}
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
	safe = strings.TrimLeft(safe, ".")
	if safe == "" {
		safe = "repo"
	}
	sum := sha256.Sum256([]byte(rawURL))
	return safe + "-" + hex.EncodeToString(sum[:6])
}
