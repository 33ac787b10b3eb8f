package gitrepo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitobj"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/repopath"
)

// DefaultNetworkTimeout bounds a network call (clone, fetch, push) whose context has no
// deadline of its own.
const DefaultNetworkTimeout = 2 * time.Minute

// What an Options or a CommitRequest left empty takes. They equal the service config's
// defaults (internal/svcconfig's DefaultBranch, DefaultGitMaxFileBytes, DefaultGitMaxObjectBytes,
// DefaultAuthorName and DefaultAuthorEmail; a test in package gitops holds them equal), which the config
// fills in before the loop opens a workspace: these serve callers without a config.
const (
	DefaultBranch       = "main"
	DefaultMaxFileBytes = 4 << 20
	// DefaultMaxObjectBytes is GitHub's file limit (see ObjectTooLargeError).
	DefaultMaxObjectBytes = 100 << 20
	DefaultAuthorName     = "gitops-autoscaler"
	DefaultAuthorEmail    = "gitops-autoscaler@localhost"
)

const remoteName = "origin"

// ErrNothingToCommit is returned by Commit when the content equals the file's: the autoscaler
// never makes an empty commit.
var ErrNothingToCommit = gitobj.ErrNoChange

// Options open a Workspace.
type Options struct {
	// Name is the repository's name in the service config; it names the cache directory.
	Name string
	// URL is the remote: https:// or http://, ssh:// or scp-like git@host:path, file:// or a
	// local path (file remotes need the git binary, which serves them).
	URL string
	// Branch is the base branch (default main).
	Branch string
	// Auth says how to authenticate; its secrets are read once, by Open.
	Auth *Auth
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
	// Signer signs every commit the workspace makes (nil: unsigned; see Signer).
	Signer Signer
	// Token, when set, gives the HTTPS password at every network call, with the username
	// x-access-token (or Auth.Username): a token minted and refreshed while the service
	// runs, such as a GitHub App installation token. It takes the place of Auth's token.
	Token func(ctx context.Context) (string, error)
	// Publisher, when set, makes the cycle's commits on the remote through a host's API
	// instead of pushing them (see Publisher).
	Publisher Publisher
	// MaxFileBytes is limits.git.maxFileBytes (0: DefaultMaxFileBytes): a larger
	// file is left out of the worktree unread, and ReadFile refuses it (FileTooLargeError).
	MaxFileBytes int64
	// MaxObjectBytes is limits.git.maxObjectBytes (0: DefaultMaxObjectBytes): a
	// clone or fetch that brings a larger object is refused (ObjectTooLargeError) before the
	// object is inflated, and keeps nothing.
	MaxObjectBytes int64
}

// Signer signs a commit: given the commit object's bytes without its signature header, it
// returns the armored signature git keeps in the gpgsig header (OpenPGP or SSH; package
// gitops/signing makes both).
type Signer interface {
	Sign(payload []byte) ([]byte, error)
}

// Workspace is one repository's working clone, kept in the cache directory across cycles:
// cloned once, then fetched and hard-reset to the remote base branch each cycle. Commits made
// in a cycle stay local until Push sends them all at once. A Workspace is not safe for
// concurrent use; a caller serializes a repository's cycles.
type Workspace struct {
	repo    *git.Repository
	store   *gitobj.Store
	co      *checkout
	root    string
	url     string
	branch  plumbing.ReferenceName // refs/heads/<base>
	tracker plumbing.ReferenceName // refs/remotes/origin/<base>
	creds   credentials
	depth   int
	timeout time.Duration
	base    plumbing.Hash // the remote base branch at the last sync
	// head is the local base branch: base plus the cycle's commits. Its ref is written when
	// it is pushed or reset, not at every commit — the commits it adds are not in the clone
	// yet but in pack, the cycle's pack stream.
	head plumbing.Hash
	// headTree and baseTree are the trees of head and base.
	headTree, baseTree plumbing.Hash
	pack               *gitobj.Pack
	packSum            plumbing.Hash // the pack's checksum once finished	// heads builds the cycle's commits on head, bases a pull request's commit on base.
	heads, bases       *gitobj.TreeBuilder
	// history shares commit reads, trailer parsing and tree diffs among the history reads
	// of a cycle and across cycles (see historyCache); a sync drops what it no longer uses.
	history *historyCache

	signer    Signer
	token     func(ctx context.Context) (string, error)
	tokenUser string
	publisher Publisher
	// pending are the cycle's commits on the local base branch, oldest first, with the file
	// each changes: what a Publisher makes again on the remote.
	pending []pendingCommit
	// made are the cycle's commits on the local base branch, oldest first, as the requests
	// that made them: what a push race may replay (see Made).
	made []Made
	// onBase are the commits of CommitOnBase and the file each changes.
	onBase map[plumbing.Hash]string
	// pushedAs maps a commit a Publisher made again to the remote's commit.
	pushedAs map[string]string
	// maxFile is Options.MaxFileBytes, defaulted.
	maxFile int64
	// maxObject is Options.MaxObjectBytes, defaulted.
	maxObject int64
}

// Open returns the workspace of a repository at the remote base branch's head: it clones the
// repository into the cache directory the first time, and later fetches it and hard-resets
// the worktree — one network round per call, never a re-clone. A cache directory that is not
// a usable clone of URL is replaced.
func Open(ctx context.Context, opts Options) (*Workspace, error) {
	if opts.URL == "" {
		return nil, errors.New("open workspace: no remote URL")
	}
	if opts.CacheDir == "" {
		return nil, errors.New("open workspace: no cache directory")
	}
	if opts.Branch == "" {
		opts.Branch = DefaultBranch
	}
	if opts.NetworkTimeout <= 0 {
		opts.NetworkTimeout = DefaultNetworkTimeout
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.MaxObjectBytes <= 0 {
		opts.MaxObjectBytes = DefaultMaxObjectBytes
	}
	creds, err := resolveAuth(opts.URL, opts.Auth, opts.Getenv)
	if err != nil {
		return nil, secret.RedactError(fmt.Errorf("open workspace %s: %w", opts.URL, err))
	}
	w := &Workspace{
		root:      filepath.Join(opts.CacheDir, cacheName(opts.Name, opts.URL)),
		url:       opts.URL,
		branch:    plumbing.NewBranchReferenceName(opts.Branch),
		tracker:   plumbing.NewRemoteReferenceName(remoteName, opts.Branch),
		creds:     creds,
		depth:     opts.Depth,
		timeout:   opts.NetworkTimeout,
		signer:    opts.Signer,
		token:     opts.Token,
		tokenUser: tokenUser,
		publisher: opts.Publisher,
		pushedAs:  map[string]string{},
		onBase:    map[plumbing.Hash]string{},
		maxFile:   opts.MaxFileBytes,
		maxObject: opts.MaxObjectBytes,
	}
	if opts.Auth != nil && opts.Auth.Username != "" {
		w.tokenUser = opts.Auth.Username
	}
	if w.token != nil {
		if kind, err := gitname.Classify(opts.URL); err != nil || (kind != gitname.HTTPS && kind != gitname.HTTP) {
			return nil, secret.RedactError(fmt.Errorf("open workspace %s: a minted token needs an https URL", opts.URL))
		}
	}
	if err := os.MkdirAll(opts.CacheDir, 0o755); err != nil {
		return nil, w.fail("open workspace", err)
	}
	if w.openExisting() {
		err := w.Sync(ctx)
		if err == nil {
			return w, nil
		}
		if !errors.Is(err, errCorrupt) {
			return nil, err
		}
		// Objects of the cache are missing or damaged: nothing in it can be trusted.
		_ = w.store.Close()
		if rerr := os.RemoveAll(w.root); rerr != nil {
			return nil, w.fail("open workspace", rerr)
		}
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
	repo, st, err := openRepository(w.root, w.maxFile, w.maxObject)
	if err == nil {
		var rc *config.RemoteConfig
		if rc, err = remoteConfig(repo); err == nil && len(rc.URLs) == 1 && rc.URLs[0] == w.url {
			w.attach(repo, st)
			return true
		}
		_ = st.Close()
	}
	// Not a usable clone (an interrupted clone, a changed URL): start over. The directory is
	// ours — its name is derived from the URL under the cache directory.
	_ = os.RemoveAll(w.root)
	return false
}

// attach makes an opened clone the workspace's.
func (w *Workspace) attach(repo *git.Repository, st *gitobj.Store) {
	w.repo, w.store = repo, st
	w.co = newCheckout(w.root, st, w.maxFile)
	read := func(h plumbing.Hash) ([]byte, error) { return st.ReadObject(plumbing.TreeObject, h, maxTreeBytes) }
	w.heads, w.bases = gitobj.NewTreeBuilder(read), gitobj.NewTreeBuilder(read)
	if w.history == nil {
		w.history = newHistoryCache(repo, w.maxFile)
	} else {
		w.history.setRepo(repo)
	}
}

// maxOpenPacks bounds the pack files a workspace keeps open between reads: reopening a pack
// for every object makes a history walk several times slower.
const maxOpenPacks = 16

// openRepository opens a clone with pack files kept open (bounded) and new objects kept in
// memory (gitobj.Store); Close releases the files. A loose object larger than maxFile is
// read lazily, as packed ones are, so that the checkout can refuse it unread.
func openRepository(dir string, maxFile, maxObject int64) (*git.Repository, *gitobj.Store, error) {
	fi, err := os.Stat(filepath.Join(dir, git.GitDirName))
	if err != nil {
		return nil, nil, err
	}
	if !fi.IsDir() {
		return nil, nil, errors.New(".git is not a directory")
	}
	st := newStore(dir, maxFile)
	repo, err := git.Open(limitFetches(st, dir, maxObject), osfs.New(dir))
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	return repo, st, nil
}

// newStore is the object storage of the clone in dir.
func newStore(dir string, maxFile int64) *gitobj.Store {
	return gitobj.NewStore(filesystem.NewStorageWithOptions(osfs.New(filepath.Join(dir, git.GitDirName)),
		cache.NewObjectLRUDefault(), filesystem.Options{MaxOpenDescriptors: maxOpenPacks, LargeObjectThreshold: maxFile}))
}

// limitFetches is st as clones and fetches write to it: every pack received is checked
// against maxObject before it is indexed (see limitedStore).
func limitFetches(st *gitobj.Store, dir string, maxObject int64) *limitedStore {
	return &limitedStore{Store: st, limit: maxObject, packDir: filepath.Join(dir, git.GitDirName, "objects", "pack")}
}

// Close releases the files the workspace keeps open. The clone stays in the cache.
func (w *Workspace) Close() error {
	w.dropPack()
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

	auth, err := w.auth(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := w.netContext(ctx)
	defer cancel()
	// The files are checked out by the workspace itself (see checkout): go-git's checkout
	// looks every file up from the root tree, quadratic in the files of a directory.
	// The clone writes through the same size check as a fetch (limitFetches).
	st := newStore(tmp, w.maxFile)
	defer st.Close()
	_, err = git.CloneContext(ctx, limitFetches(st, tmp, w.maxObject), osfs.New(tmp), &git.CloneOptions{
		URL:           w.url,
		Auth:          auth,
		RemoteName:    remoteName,
		ReferenceName: w.branch,
		SingleBranch:  true,
		NoCheckout:    true,
		Tags:          git.NoTags,
		Depth:         w.depth,
	})
	if err != nil {
		return w.fail("clone", err)
	}
	if err := st.Close(); err != nil {
		return w.fail("clone", err)
	}
	if err := os.Rename(tmp, w.root); err != nil {
		return w.fail("clone", err)
	}
	repo, st, err := openRepository(w.root, w.maxFile, w.maxObject)
	if err != nil {
		return w.fail("clone", err)
	}
	w.attach(repo, st)
	ref, err := w.repo.Reference(w.tracker, true)
	if err != nil {
		return w.fail("clone", err)
	}
	w.base = ref.Hash()
	w.history.nextSync()
	if err := w.resetTo(w.base); err != nil {
		return err
	}
	return nil
}

// Sync fetches the base branch (one fetch) and hard-resets the worktree to it, dropping any
// local commit and change not pushed. Call it at the start of a cycle, and after ErrPushRace
// to re-read and re-decide on the new head.
func (w *Workspace) Sync(ctx context.Context) error {
	// Before the fetch, which asks for every commit the store lacks: should a pushed commit
	// not have been saved (see Push), the fetch brings it back.
	w.store.Discard()
	w.pending = nil
	w.made = nil
	w.dropPack()
	prev := w.head
	auth, err := w.auth(ctx)
	if err != nil {
		return err
	}
	nctx, cancel := w.netContext(ctx)
	defer cancel()
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", w.branch, w.tracker))
	err = w.repo.FetchContext(nctx, &git.FetchOptions{
		RemoteName: remoteName,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       auth,
		Tags:       git.NoTags,
		Depth:      w.depth,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return w.fail("fetch", local(err))
	}
	ref, err := w.repo.Reference(w.tracker, true)
	if err != nil {
		return w.fail("fetch", err)
	}
	w.base = ref.Hash()
	if err := w.compactPacks(); err != nil {
		return w.fail("compact the clone's packs", err)
	}
	w.history.nextSync()
	if w.base != prev {
		// Trees read for the old base would only take memory; those the cycle's pushed
		// commits wrote are the new base's own.
		w.heads.Reset()
	}
	w.bases.Reset()
	return w.resetTo(w.base)
}

// errCorrupt marks a clone whose objects are missing or damaged.
var errCorrupt = errors.New("the cached clone is damaged")

// local marks errors of reading the clone's own objects as errCorrupt.
func local(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if errors.Is(err, plumbing.ErrObjectNotFound) || errors.Is(err, packfile.ErrZLib) ||
		errors.Is(err, idxfile.ErrMalformedIdxFile) || strings.Contains(msg, "object not found") ||
		strings.Contains(msg, "packfile not found") {
		return fmt.Errorf("%w: %w", errCorrupt, err)
	}
	return err
}

// dropPack forgets the cycle's unpushed commits.
func (w *Workspace) dropPack() {
	w.pack.Discard()
	w.pack = nil
}

// resetTo resets the base branch and the worktree to a commit of the clone, locally: the
// worktree then holds exactly its tree. resetTo(w.base) drops the cycle's unpushed commits.
func (w *Workspace) resetTo(h plumbing.Hash) error {
	if h == w.base {
		w.pending = nil
	}
	w.dropPack()
	c, err := object.GetCommit(w.store, h)
	if err != nil {
		return w.fail("reset", local(err))
	}
	if err := w.co.resetTo(c.TreeHash); err != nil {
		return w.fail("reset", local(err))
	}
	if err := w.repo.Storer.SetReference(plumbing.NewHashReference(w.branch, h)); err != nil {
		return w.fail("reset", err)
	}
	if err := w.repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, w.branch)); err != nil {
		return w.fail("reset", err)
	}
	w.head, w.headTree = h, c.TreeHash
	if h == w.base {
		w.baseTree = c.TreeHash
	}
	return nil
}

// Root is the worktree directory.
func (w *Workspace) Root() string { return w.root }

// Base is the commit (full hex sha) of the remote base branch as of the last sync or push.
func (w *Workspace) Base() string { return w.base.String() }

// Head is the commit of the local base branch: Base plus the commits of this cycle.
func (w *Workspace) Head() string { return w.head.String() }

// FileTooLargeError is a file of the repository larger than limits.git.maxFileBytes: it is
// not in the worktree, and reading it fails with this error.
type FileTooLargeError struct {
	File        string
	Size, Limit int64
}

func (e *FileTooLargeError) Error() string {
	return fmt.Sprintf("%s is %d bytes, over the %d bytes a file may hold (limits.git.maxFileBytes): it is not read; make it smaller, or raise the limit in the service config",
		e.File, e.Size, e.Limit)
}

// ReadFile reads a file of the worktree by its repository-relative path (repopath's rule). A
// file larger than limits.git.maxFileBytes is refused (FileTooLargeError), unread.
func (w *Workspace) ReadFile(rel string) ([]byte, error) {
	p, err := w.file(rel)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	if clean, err := repopath.Clean(rel); err == nil && w.co != nil {
		if size, ok := w.co.oversize[clean]; ok {
			if _, dirty := w.co.dirty[clean]; !dirty {
				return nil, &FileTooLargeError{File: clean, Size: size, Limit: w.maxFile}
			}
		}
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, unroot(err, w.root))
	}
	defer f.Close()
	// The worktree holds no file over the limit; a file put there by other means is still
	// read no further than it.
	b, err := io.ReadAll(io.LimitReader(f, w.maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, unroot(err, w.root))
	}
	if int64(len(b)) > w.maxFile {
		size := int64(len(b))
		if fi, err := f.Stat(); err == nil {
			size = fi.Size()
		}
		return nil, &FileTooLargeError{File: filepath.ToSlash(rel), Size: size, Limit: w.maxFile}
	}
	return b, nil
}

// LeftOut lists the files at or under rel (repository-relative, a file or a directory) that
// the worktree leaves out for their size (limits.git.maxFileBytes), in lexical order, each as
// a FileTooLargeError: what a render of rel would not see.
func (w *Workspace) LeftOut(rel string) []error {
	clean, err := repopath.Clean(rel)
	if err != nil || w.co == nil {
		return nil
	}
	var out []error
	for p, size := range w.co.oversize {
		if _, dirty := w.co.dirty[p]; dirty {
			continue
		}
		if clean == "." || p == clean || strings.HasPrefix(p, clean+"/") {
			out = append(out, &FileTooLargeError{File: p, Size: size, Limit: w.maxFile})
		}
	}
	slices.SortFunc(out, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return out
}

// Files lists the regular files of the worktree whose repository-relative path (slashes)
// match selects, in lexical order: the files of the head's tree, never .git, no symlinks.
func (w *Workspace) Files(match func(rel string) bool) ([]string, error) {
	var files []string
	for _, rel := range w.co.regularFiles() {
		if match(rel) {
			files = append(files, rel)
		}
	}
	return files, nil
}

// FileID identifies the content of a regular file of the worktree (its blob): equal IDs
// mean equal bytes, so a caller may keep what it parsed of a file until its ID changes.
func (w *Workspace) FileID(rel string) (string, bool) {
	h, ok := w.co.blob(rel)
	if !ok {
		return "", false
	}
	return h.String(), true
}

// writeRegular writes a file, keeping the mode of an existing one (new files get 0644). It
// refuses symlinks, so a write changes exactly the file it names.
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
	// Author authors and commits (empty fields take DefaultAuthorName and
	// DefaultAuthorEmail).
	Author Identity
	// When is the commit's author and committer time; required (time is an input).
	When time.Time
}

// Commit writes the file and commits it on the local base branch, as one commit that changes
// exactly that file, and returns the commit's sha. It refuses an empty commit
// (ErrNothingToCommit). The commit stays local until Push.
func (w *Workspace) Commit(ctx context.Context, req CommitRequest) (string, error) {
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("commit %s: %w", req.File, err)
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
	p, err := w.file(req.File)
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
	rel := filepath.ToSlash(filepath.Clean(filepath.FromSlash(req.File)))
	if w.pack == nil {
		if w.pack, err = gitobj.NewPack(filepath.Join(w.root, git.GitDirName, "objects", "pack")); err != nil {
			return fail(err)
		}
	}
	h, tree, err := w.heads.CommitFile(w.head, w.headTree, rel, req.Content, sig, req.Message, w.signer, w.pack)
	if err != nil {
		return fail(err)
	}
	mode := filemode.Regular
	if e, ok := w.co.files[rel]; ok && e.regular() {
		mode = e.mode
	}
	// Recorded before the write: should the write fail half-way, the next reset restores
	// the file.
	if err := w.co.wrote(rel, fileEntry{hash: gitobj.Hash(plumbing.BlobObject, req.Content), mode: mode}); err != nil {
		return fail(unroot(err, w.root))
	}
	if err := writeRegular(p, req.Content); err != nil {
		return fail(unroot(err, w.root))
	}
	w.head, w.headTree = h, tree
	w.made = append(w.made, Made{SHA: h.String(), Request: CommitRequest{
		File: rel, Content: slices.Clone(req.Content), Message: req.Message, Author: req.Author, When: req.When,
	}})
	if w.publisher != nil {
		w.pending = append(w.pending, pendingCommit{sha: h, commit: PublishedCommit{
			Local: h.String(), File: rel, Mode: fmt.Sprintf("%06o", uint32(mode)), Content: slices.Clone(req.Content),
			Message: req.Message, AuthorName: sig.Name, AuthorEmail: sig.Email, When: sig.When,
		}})
	}
	return h.String(), nil
}

// Identity is the author and committer of a commit.
type Identity struct {
	Name  string
	Email string
}

// signature is the author and committer of our commits; empty fields take the defaults.
func signature(id Identity, when time.Time) object.Signature {
	sig := object.Signature{Name: id.Name, Email: id.Email, When: when}
	if sig.Name == "" {
		sig.Name = DefaultAuthorName
	}
	if sig.Email == "" {
		sig.Email = DefaultAuthorEmail
	}
	return sig
}

// CommitOnBase makes a commit on top of Base that replaces one existing file with new
// content, without touching the worktree or any branch — the tree is the base's with one blob
// swapped — and returns its sha. A pull request's commit is made so, on the remote base rather
// than on the cycle's other local commits. It refuses a path that leaves the repository, a
// file the base does not have (or that is not a regular file), and an unchanged file
// (ErrNothingToCommit).
func (w *Workspace) CommitOnBase(req CommitRequest) (string, error) {
	parent := w.base
	fail := func(err error) (string, error) {
		return "", fmt.Errorf("commit %s on %s: %w", req.File, gitname.Short(parent.String()), err)
	}
	if req.When.IsZero() {
		return fail(errors.New("no commit time"))
	}
	if strings.TrimSpace(req.Message) == "" {
		return fail(errors.New("empty message"))
	}
	rel := path.Clean(strings.ReplaceAll(req.File, `\`, "/"))
	if req.File == "" || path.IsAbs(rel) || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return fail(fmt.Errorf("path %q is not inside the repository", req.File))
	}
	parts := strings.Split(rel, "/")
	for _, p := range parts {
		if strings.EqualFold(p, ".git") {
			return fail(fmt.Errorf("path %q is inside .git", req.File))
		}
	}
	if err := w.inBase(rel); err != nil {
		return fail(err)
	}
	h, _, err := w.bases.CommitFile(parent, w.baseTree, rel, req.Content, signature(req.Author, req.When), req.Message, w.signer, w.store)
	w.bases.DropOwn()
	if err != nil {
		return fail(err)
	}
	w.onBase[h] = rel
	return h.String(), nil
}

// inBase checks that the base's tree has a regular file at rel, and says what stands in its
// way when it has not.
func (w *Workspace) inBase(rel string) error {
	tree := w.baseTree
	parts := strings.Split(rel, "/")
	for i, name := range parts {
		mode, obj, ok, err := w.bases.Entry(tree, name)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s: no such file in the base", rel)
		}
		if i == len(parts)-1 {
			if mode != filemode.Regular && mode != filemode.Executable {
				return fmt.Errorf("%s: not a regular file", rel)
			}
			return nil
		}
		if mode != filemode.Dir {
			return fmt.Errorf("%s: not a directory", strings.Join(parts[:i+1], "/"))
		}
		tree = obj
	}
	return nil
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
	return secret.RedactError(fmt.Errorf("%s %s: %w", step, w.url, err), w.creds.secrets...)
}

// file is where a file of the worktree is, by its repository-relative path: joined under the
// root by repopath's rule (docs/design.md §9 invariant 8), not the root itself, and named as
// the path says rather than where its symlinks lead — so that Commit sees a symlink as one.
func (w *Workspace) file(rel string) (string, error) {
	// A regular file of the checked-out tree has no symlink along its path — the worktree
	// holds the tree exactly, and a tree that has a file under a path has no symlink at any
	// directory of it — so the rule needs no look at the disk (lstat of every component,
	// which a cycle over fifty thousand policies would do a hundred thousand times).
	if clean, err := repopath.Clean(rel); err == nil && clean != "." && w.co != nil {
		if _, regular := w.co.blob(clean); regular {
			return filepath.Join(w.root, filepath.FromSlash(clean)), nil
		}
	}
	if _, err := repopath.Join(w.root, rel); err != nil {
		return "", err
	}
	clean, _ := repopath.Clean(rel) // Join checked it
	if clean == "." {
		return "", fmt.Errorf("path %q names the repository root, not a file", rel)
	}
	return filepath.Join(w.root, filepath.FromSlash(clean)), nil
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

// cacheName is a clone's directory: the repository's name, readable, and a hash of the name
// as given and the URL, so that two repositories share a clone only when both their names
// and their URLs are equal — not two remotes with one name, nor two names that read alike
// once made safe ("a/b" and "a_b"). The readable part holds no separator and starts with no
// dot, so no clone is the cache directory itself, its parent, or inside another's.
func cacheName(name, rawURL string) string {
	if name == "" {
		name = strings.TrimSuffix(path.Base(filepath.ToSlash(secret.RedactURLs(rawURL))), ".git")
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
	sum := sha256.Sum256([]byte(name + "\x00" + rawURL))
	return safe + "-" + hex.EncodeToString(sum[:8])
}
