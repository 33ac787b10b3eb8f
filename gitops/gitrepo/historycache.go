package gitrepo

import (
	"errors"
	"fmt"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// historyCache shares the work of reading history among the policies of a cycle and across
// cycles: each commit is decoded and its tree diffed against its first parent once, and what a
// caller derives from it (its parsed message, in Commit.Memo; its keys, see walkTouching)
// kept, however many policies walk it and however many syncs see it. Without it every policy
// re-reads the same commits and trees — after a cycle that scaled 1,000 policies, the next one
// read a million trees — and every sync re-diffs the whole window of a busy repository's
// history (docs/design.md §6, "Reading history").
//
// What it keeps is keyed by commit hash, and a commit's hash names its content, tree and
// parents: a kept diff or parsed message is never stale, whatever the branch did (a force push
// only makes other commits current). It is a cache, never state: a new process starts empty
// and reads the same answers from Git. It is bounded by use: a sync (nextSync) drops every
// commit no read touched during the two syncs before, so it holds about the commits of the
// longest window policies read (at most DefaultHistoryMax each walk), not the history.
// It is not safe for concurrent use.
type historyCache struct {
	repo    *git.Repository
	commits map[plumbing.Hash]*cachedCommit
	// maxFile is limits.git.maxFileBytes: a version of a file larger than it is not read.
	maxFile int64
	// gen counts syncs; a commit remembers the last one that used it.
	gen uint64
	// chain indexes the first-parent history of one head (the base of the last walk).
	chain *chain
	// diffs counts the commits diffed, over the cache's life.
	diffs int
}

// cachedCommit is what history needs of one commit, computed on first use.
type cachedCommit struct {
	// commit is the decoded object, read through the current repository; nil after the clone
	// was opened afresh (compaction, repair), then decoded again on use.
	commit *object.Commit

	// What walks need without the object: the first parent (zero for a root) and how many.
	parent     plumbing.Hash
	numParents int
	when       time.Time

	// past is the commit as walks hand it out (walked), and memo the caller's: what it derived
	// from the commit (PastCommit.Memo).
	past *PastCommit
	memo any

	// changes maps each file the commit changed against its first parent to its blob before
	// and after (zero: absent, or not a file); nil until diffed.
	changes map[string][2]plumbing.Hash

	// keys are what the caller's key function said of the commit (walkTouching); keyed once
	// it was asked.
	keys  []string
	keyed bool

	// gen is the last sync that used the commit.
	gen uint64
}

// newHistoryCache returns an empty cache over a repository.
func newHistoryCache(repo *git.Repository, maxFile int64) *historyCache {
	return &historyCache{repo: repo, commits: map[plumbing.Hash]*cachedCommit{}, maxFile: maxFile, gen: 1}
}

// setRepo points the cache at a clone opened afresh: the decoded objects read through the old
// one are dropped (decoded again on use), what was derived from them is kept.
func (hc *historyCache) setRepo(repo *git.Repository) {
	if repo == hc.repo {
		return
	}
	hc.repo = repo
	for _, cc := range hc.commits {
		cc.commit = nil
	}
}

// nextSync starts a sync's use of the cache: the base may have moved, so the chain is built
// again (from kept commits), and commits no read used in the last two syncs are dropped.
func (hc *historyCache) nextSync() {
	for h, cc := range hc.commits {
		if cc.gen+2 <= hc.gen {
			delete(hc.commits, h)
		}
	}
	hc.gen++
	hc.chain = nil
}

// get returns the cache's entry of a commit, reading it on first use.
func (hc *historyCache) get(h plumbing.Hash) (*cachedCommit, error) {
	if cc, ok := hc.commits[h]; ok {
		cc.gen = hc.gen
		return cc, nil
	}
	c, err := hc.repo.CommitObject(h)
	if err != nil {
		return nil, err
	}
	cc := &cachedCommit{commit: c, numParents: c.NumParents(), when: c.Committer.When, gen: hc.gen}
	if cc.numParents > 0 {
		cc.parent = c.ParentHashes[0]
	}
	cc.past = &PastCommit{SHA: c.Hash.String(), At: c.Committer.When, Author: fmt.Sprintf("%s <%s>", c.Author.Name, c.Author.Email),
		Message: c.Message, cc: cc, cache: hc}
	hc.commits[h] = cc
	return cc, nil
}

// object returns an entry's decoded commit, decoding it again after setRepo.
func (hc *historyCache) object(cc *cachedCommit) (*object.Commit, error) {
	if cc.commit == nil {
		c, err := hc.repo.CommitObject(plumbing.NewHash(cc.past.SHA))
		if err != nil {
			return nil, err
		}
		cc.commit = c
	}
	return cc.commit, nil
}

// commit returns a commit object, decoded once.
func (hc *historyCache) commit(h plumbing.Hash) (*object.Commit, error) {
	cc, err := hc.get(h)
	if err != nil {
		return nil, err
	}
	return hc.object(cc)
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
	return hc.changeOf(cc, file)
}

// changeOf is change of a cache entry.
func (hc *historyCache) changeOf(cc *cachedCommit, file string) (before, after plumbing.Hash, err error) {
	if err := hc.diffed(cc); err != nil {
		return before, after, err
	}
	ch, ok := cc.changes[file]
	if !ok {
		return before, after, nil
	}
	return ch[0], ch[1], nil
}

// diffed makes sure an entry's changes are known.
func (hc *historyCache) diffed(cc *cachedCommit) error {
	if cc.changes != nil {
		return nil
	}
	c, err := hc.object(cc)
	if err != nil {
		return err
	}
	if cc.changes, err = hc.diff(c); err != nil {
		return fmt.Errorf("diff commit %s: %w", c.Hash, err)
	}
	hc.diffs++
	return nil
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
