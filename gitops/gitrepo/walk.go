package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// DefaultHistoryMax caps the commits one walk visits when its max is 0: a bound on the work of
// a busy repository, far beyond a few hours of commits.
const DefaultHistoryMax = 5000

// PastCommit is one commit of a walk, as the readers of history see it: what it says, who made it
// and when, and, through FileChange, what it did to one file. What a commit means — a decision,
// a revert, a person's edit — is the caller's to say (package gitops/history); this package
// only reads Git.
type PastCommit struct {
	// SHA is the commit's hash in hex.
	SHA string
	// At is the committer's time.
	At time.Time
	// Author is "Name <email>".
	Author string
	// Message is the whole message.
	Message string

	cc    *cachedCommit
	cache *historyCache
}

// Memo is a slot for what a caller derives from the commit alone (its parsed message): it
// lives as long as the workspace keeps the commit (across syncs, see historyCache), so every
// policy's walk over the commit shares it.
func (c *PastCommit) Memo() *any { return &c.cc.memo }

// FileChange returns the blob of file before (first parent) and after the commit, as hex
// hashes ("" where the file is absent or not a regular file), and whether the commit changed
// it. A commit's changes are diffed once, whatever the file asked.
func (c *PastCommit) FileChange(file string) (before, after string, changed bool, err error) {
	b, a, err := c.cache.changeOf(c.cc, cleanPath(file))
	if err != nil || b == a {
		return "", "", false, err
	}
	return blobID(b), blobID(a), true, nil
}

// cleanPath is a repository path as diffs name it.
func cleanPath(file string) string { return path.Clean(strings.TrimPrefix(file, "./")) }

func blobID(h plumbing.Hash) string {
	if h.IsZero() {
		return ""
	}
	return h.String()
}

// WalkBase calls visit for each first-parent commit from the remote base branch, newest
// first, until a commit older than since, max commits (DefaultHistoryMax when 0), the root,
// the edge of a shallow clone, or visit returning false. It returns the number of commits
// visited. Commits are decoded and diffed once, shared by every walk (see historyCache).
//
// The walk starts at the base, not at the local head: the cycle's own commits so far are
// other policies' decisions on other targets, never history of the one being read.
func (w *Workspace) WalkBase(since time.Time, max int, visit func(*PastCommit) (bool, error)) (int, error) {
	return walkFirstParent(w.history, w.base, since, max, visit)
}

// LookupCommit returns a commit of the repository by its hex hash; ok is false when it is not
// in the clone (another branch's, or beyond a shallow edge).
func (w *Workspace) LookupCommit(sha string) (c *PastCommit, ok bool) {
	if !plumbing.IsHash(sha) {
		return nil, false
	}
	cc, err := w.history.get(plumbing.NewHash(sha))
	if err != nil {
		return nil, false
	}
	return w.history.walked(cc), true
}

// ReadBlob returns the content of a blob by its hex hash. ok is false, with no error, when
// the blob is larger than limits.git.maxFileBytes: it is not read.
func (w *Workspace) ReadBlob(id string) (data []byte, ok bool, err error) {
	return w.history.readBlob(plumbing.NewHash(id))
}

// walkFirstParent is WalkBase from any commit, through a cache.
func walkFirstParent(cache *historyCache, head plumbing.Hash, since time.Time, max int, visit func(*PastCommit) (bool, error)) (int, error) {
	if max <= 0 {
		max = DefaultHistoryMax
	}
	cc, err := cache.get(head)
	if err != nil {
		return 0, fmt.Errorf("read commit %s: %w", head, err)
	}
	visited := 0
	for visited < max {
		if cc.when.Before(since) {
			break
		}
		visited++
		more, err := visit(cache.walked(cc))
		if err != nil || !more {
			return visited, err
		}
		if cc.numParents == 0 {
			break
		}
		if cc, err = cache.get(cc.parent); err != nil {
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				break // the edge of a shallow clone
			}
			return visited, fmt.Errorf("read first parent: %w", err)
		}
	}
	return visited, nil
}

// walked is the PastCommit a walk hands out for a cached commit: made once, so that a
// thousand policies walking one commit share its hash, author line and memo.
func (hc *historyCache) walked(cc *cachedCommit) *PastCommit { return cc.past }

// readBlob reads a blob whole, unless it is larger than the cache's maxFile.
func (hc *historyCache) readBlob(h plumbing.Hash) ([]byte, bool, error) {
	b, err := hc.repo.BlobObject(h)
	if err != nil {
		return nil, false, err
	}
	limit := hc.maxFile
	if limit <= 0 {
		limit = DefaultMaxFileBytes
	}
	if b.Size > limit {
		return nil, false, nil
	}
	r, err := b.Reader()
	if err != nil {
		return nil, false, err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, false, err
	}
	return data, true, nil
}
