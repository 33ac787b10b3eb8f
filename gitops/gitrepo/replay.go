package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
)

// Made is one commit of the cycle on the local base branch: its sha, and the request that
// made it — what makes the same change again on another head.
type Made struct {
	SHA     string
	Request CommitRequest
}

// Made returns the commits this cycle made on the local base branch since the last sync or
// push, oldest first. A push that fails keeps them listed (its commits are dropped from the
// branch, not from this list) until the next Sync: the caller takes them before it syncs, to
// replay the ones whose inputs did not move (docs/design.md §6, "Push races").
func (w *Workspace) Made() []Made {
	out := make([]Made, len(w.made))
	copy(out, w.made)
	return out
}

// MaxChangedPaths bounds ChangedSince: past it the caller re-decides rather than compares.
const MaxChangedPaths = 10_000

// ErrNotComparable is ChangedSince's answer when the new base cannot be compared path by path
// with the old one: the old base is not among its ancestors (the branch was rewritten), or
// more than MaxChangedPaths paths changed.
var ErrNotComparable = errors.New("the new base cannot be compared with the old one")

// ChangedSince returns, sorted, the repository-relative paths of the files that differ
// between the tree of commit since and the tree of Base: added, removed, changed in content
// or mode — what the commits others pushed since changed. since must be an ancestor of Base,
// else the answer is ErrNotComparable. Equal subtrees are skipped by their hash, so the cost
// follows the directories that changed, not the size of the repository.
func (w *Workspace) ChangedSince(ctx context.Context, since string) ([]string, error) {
	old, err := parseSHA(since)
	if err != nil {
		return nil, err
	}
	if old == w.base {
		return nil, nil
	}
	ok, err := w.IsAncestor(since, w.base.String())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s is not an ancestor of %s", ErrNotComparable, gitname.Short(since), gitname.Short(w.base.String()))
	}
	trees := make([]*object.Tree, 2)
	for i, h := range [2]plumbing.Hash{old, w.base} {
		c, err := object.GetCommit(w.store, h)
		if err != nil {
			return nil, fmt.Errorf("read commit %s: %w", gitname.Short(h.String()), local(err))
		}
		if trees[i], err = object.GetTree(w.store, c.TreeHash); err != nil {
			return nil, fmt.Errorf("read the tree of %s: %w", gitname.Short(h.String()), local(err))
		}
	}
	changes, err := object.DiffTreeWithOptions(ctx, trees[0], trees[1], &object.DiffTreeOptions{})
	if err != nil {
		return nil, fmt.Errorf("compare %s with %s: %w", gitname.Short(since), gitname.Short(w.base.String()), local(err))
	}
	if len(changes) > MaxChangedPaths {
		return nil, fmt.Errorf("%w: %d paths changed, more than %d", ErrNotComparable, len(changes), MaxChangedPaths)
	}
	seen := make(map[string]bool, len(changes))
	out := make([]string, 0, len(changes))
	for _, c := range changes {
		for _, name := range []string{c.From.Name, c.To.Name} {
			if name != "" && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// DropLocal drops the cycle's unpushed commits and changes: the local branch and the worktree
// are back at Base, without a fetch.
func (w *Workspace) DropLocal() error {
	w.made = nil
	return w.resetTo(w.base)
}
