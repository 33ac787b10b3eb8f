package gitrepo

import (
	"errors"
	"fmt"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// historyCache shares the work of reading history among the policies of one cycle (one sync
// of a workspace, which starts a new cache): each commit is decoded and its tree diffed
// against its first parent once, and what a caller derives from it (its parsed message, in
// Commit.Memo) kept, however many policies walk it. Without it every policy re-reads the same commits and
// trees — after a cycle that scaled 1,000 policies, the next one read a million trees.
// It is not safe for concurrent use.
type historyCache struct {
	repo    *git.Repository
	commits map[plumbing.Hash]*cachedCommit
	// maxFile is limits.git.maxFileBytes: a version of a file larger than it is not read.
	maxFile int64
}

// cachedCommit is what history needs of one commit, computed on first use.
type cachedCommit struct {
	commit *object.Commit

	// past is the commit as walks hand it out (walked), and memo the caller's: what it derived
	// from the commit (PastCommit.Memo).
	past *PastCommit
	memo any

	// changes maps each file the commit changed against its first parent to its blob before
	// and after (zero: absent, or not a file); nil until diffed.
	changes map[string][2]plumbing.Hash
}

// newHistoryCache returns an empty cache over a repository.
func newHistoryCache(repo *git.Repository, maxFile int64) *historyCache {
	return &historyCache{repo: repo, commits: map[plumbing.Hash]*cachedCommit{}, maxFile: maxFile}
}

func (hc *historyCache) get(h plumbing.Hash) (*cachedCommit, error) {
	if cc, ok := hc.commits[h]; ok {
		return cc, nil
	}
	c, err := hc.repo.CommitObject(h)
	if err != nil {
		return nil, err
	}
	cc := &cachedCommit{commit: c}
	hc.commits[h] = cc
	return cc, nil
}

// commit returns a commit object, decoded once.
func (hc *historyCache) commit(h plumbing.Hash) (*object.Commit, error) {
	cc, err := hc.get(h)
	if err != nil {
		return nil, err
	}
	return cc.commit, nil
}

// parent returns a commit's first parent, decoded once.
func (hc *historyCache) parent(c *object.Commit) (*object.Commit, error) {
	if c.NumParents() == 0 {
		return nil, object.ErrParentNotFound
	}
	return hc.commit(c.ParentHashes[0])
}

// change returns the blobs of file before (first parent) and after a commit; equal when the
// commit did not change it.
func (hc *historyCache) change(c *object.Commit, file string) (before, after plumbing.Hash, err error) {
	cc, err := hc.get(c.Hash)
	if err != nil {
		return before, after, err
	}
	if cc.changes == nil {
		if cc.changes, err = hc.diff(c); err != nil {
			return before, after, fmt.Errorf("diff commit %s: %w", c.Hash, err)
		}
	}
	ch, ok := cc.changes[file]
	if !ok {
		return before, after, nil
	}
	return ch[0], ch[1], nil
}

// diff lists the files a commit changed against its first parent (or, for a root commit or
// the edge of a shallow clone, the files it has).
func (hc *historyCache) diff(c *object.Commit) (map[string][2]plumbing.Hash, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	var ptree *object.Tree
	if p, err := hc.parent(c); err == nil {
		if ptree, err = p.Tree(); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, object.ErrParentNotFound) && !errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, err
	}
	changes, err := object.DiffTree(ptree, tree)
	if err != nil {
		return nil, err
	}
	out := make(map[string][2]plumbing.Hash, len(changes))
	fileBlob := func(e object.ChangeEntry) plumbing.Hash {
		if e.Name == "" || !e.TreeEntry.Mode.IsFile() {
			return plumbing.ZeroHash
		}
		return e.TreeEntry.Hash
	}
	for _, ch := range changes {
		name := ch.To.Name
		if name == "" {
			name = ch.From.Name
		}
		if ch.From.Name != "" && ch.To.Name != "" && ch.From.Name != ch.To.Name {
			// Not produced without rename detection; keep both sides apart to be safe.
			out[ch.From.Name] = [2]plumbing.Hash{fileBlob(ch.From), plumbing.ZeroHash}
			out[ch.To.Name] = [2]plumbing.Hash{plumbing.ZeroHash, fileBlob(ch.To)}
			continue
		}
		out[name] = [2]plumbing.Hash{fileBlob(ch.From), fileBlob(ch.To)}
	}
	return out, nil
}
