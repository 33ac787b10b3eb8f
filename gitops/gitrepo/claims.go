package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"path"
	"sort"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// MaxClaimDocument bounds the size of one version of a document ClaimStarts reads from
// history: a larger version is not read, and counts as not holding the claim.
const MaxClaimDocument = 4 << 20

// Claim is a document that holds a claim — a policy's name, or the value it writes — since
// some commit: Holds says whether a version of the file (its bytes) still does.
type Claim struct {
	// File is the document's repository-relative path on the base.
	File  string
	Holds func(content []byte) bool
}

// ClaimStart is where one claim began on the base branch's first-parent history. Its fields
// are policy.ClaimStart's, which the set checks read (package gitops converts).
type ClaimStart struct {
	// InBase is whether the base holds the claim at all.
	InBase bool
	// Began is set when the walk found the commit the claim began with: Commit, Depth
	// first-parent commits below the base (0: the base itself). A claim InBase that did not
	// begin within the walk is older than every claim that did; Bound is then the number of
	// commits the walk read when it stopped at its bound (0: it stopped because no other
	// claim was left).
	Began  bool
	Commit string
	Depth  int
	Bound  int
}

// ClaimStarts tells where each claim began on the base branch's first-parent history, for
// the set checks to settle which of several policies claimed a name or a value first
// (docs/design.md §4, "Ownership between teams"). A claim is in the base when its file is
// there and holds it. From the base back, a claim began at the commit whose first parent
// does not hold it: the file was added there (but a file moved unchanged — deleted at its old
// path with the same blob — carries its claim along), or its earlier version does not hold it.
//
// The walk stops as soon as at most one claim still holds, so it reads back only to the
// second oldest claim's start (a newcomer's, usually recent); at the root; or after
// DefaultHistoryMax commits, where the claims still holding tie. Commits are read through the
// history cache of the sync, shared with the policies' history reads.
func (w *Workspace) ClaimStarts(claims []Claim) ([]ClaimStart, error) {
	return claimStarts(w.repo, w.base, w.history, claims, DefaultHistoryMax)
}

// History is the first-parent history of a local repository's HEAD, for checks that run on a
// checkout rather than a workspace (`validate --repo`).
type History struct {
	repo  *git.Repository
	head  plumbing.Hash
	cache *historyCache
}

// OpenHistory opens the Git repository whose worktree is dir (not a parent of it) and reads
// its HEAD. It fails when dir is not a repository's root or has no commit.
func OpenHistory(dir string) (*History, error) {
	repo, err := git.PlainOpen(dir)
	if err != nil {
		return nil, fmt.Errorf("open the Git repository of %s: %w", dir, err)
	}
	ref, err := repo.Head()
	if err != nil {
		return nil, fmt.Errorf("read HEAD of %s: %w", dir, err)
	}
	return &History{repo: repo, head: ref.Hash(), cache: newHistoryCache(repo, DefaultMaxFileBytes)}, nil
}

// ClaimStarts is Workspace.ClaimStarts on HEAD's history.
func (h *History) ClaimStarts(claims []Claim) ([]ClaimStart, error) {
	return claimStarts(h.repo, h.head, h.cache, claims, DefaultHistoryMax)
}

func claimStarts(repo *git.Repository, head plumbing.Hash, cache *historyCache, claims []Claim, max int) ([]ClaimStart, error) {
	out := make([]ClaimStart, len(claims))
	c, err := cache.commit(head)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", head, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read the tree of %s: %w", head, err)
	}
	files := make([]string, len(claims))
	held := make([]map[plumbing.Hash]bool, len(claims))
	holds := func(i int, blob plumbing.Hash) (bool, error) {
		if v, ok := held[i][blob]; ok {
			return v, nil
		}
		data, err := readClaimBlob(repo, blob)
		if err != nil {
			return false, err
		}
		v := data != nil && claims[i].Holds(data)
		held[i][blob] = v
		return v, nil
	}
	var active []int
	for i, cl := range claims {
		files[i], held[i] = path.Clean(cl.File), map[plumbing.Hash]bool{}
		f, err := tree.File(files[i])
		if errors.Is(err, object.ErrFileNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("find %s: %w", files[i], err)
		}
		ok, err := holds(i, f.Hash)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", files[i], err)
		}
		if ok {
			out[i].InBase = true
			active = append(active, i)
		}
	}
	for depth := 0; len(active) > 1; depth++ {
		if depth >= max {
			for _, i := range active {
				out[i].Bound = max
			}
			break
		}
		var still []int
		for _, i := range active {
			before, after, err := cache.change(c, files[i])
			if err != nil {
				return nil, err
			}
			began := false
			switch {
			case before == after:
			case before.IsZero():
				if from := cache.movedFrom(c, after); from != "" {
					files[i] = from // moved unchanged: the claim goes on at the old path
				} else {
					began = true
				}
			default:
				ok, err := holds(i, before)
				if err != nil {
					return nil, fmt.Errorf("read %s before %s: %w", files[i], c.Hash, err)
				}
				began = !ok
			}
			if began {
				out[i].Began, out[i].Commit, out[i].Depth = true, c.Hash.String(), depth
			} else {
				still = append(still, i)
			}
		}
		active = still
		if len(active) <= 1 {
			break
		}
		if c, err = cache.parent(c); err != nil {
			// The root and a shallow clone's edge were diffed as adding every file, so no
			// claim is left holding past them.
			return nil, fmt.Errorf("read first parent: %w", err)
		}
	}
	return out, nil
}

// movedFrom is the path a commit deleted with exactly the blob it added elsewhere — a file
// moved unchanged — or "" when there is none. Several such paths: the first in path order.
func (hc *historyCache) movedFrom(c *object.Commit, blob plumbing.Hash) string {
	cc, err := hc.get(c.Hash)
	if err != nil || cc.changes == nil {
		return ""
	}
	var from []string
	for name, ch := range cc.changes {
		if ch[0] == blob && ch[1].IsZero() {
			from = append(from, name)
		}
	}
	if len(from) == 0 {
		return ""
	}
	sort.Strings(from)
	return from[0]
}

// readClaimBlob reads a blob of at most MaxClaimDocument bytes; nil for a larger one.
func readClaimBlob(repo *git.Repository, h plumbing.Hash) ([]byte, error) {
	b, err := repo.BlobObject(h)
	if err != nil {
		return nil, err
	}
	if b.Size > MaxClaimDocument {
		return nil, nil
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, MaxClaimDocument+1))
}
