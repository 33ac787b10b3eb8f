package gitrepo

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// KeyFunc names what a commit is about beyond the files it changes — for gitops/history, the
// policy its trailers name and the policy whose commit a `git revert` undoes. It must depend
// on the commit alone (its message, and commits it names): a commit's keys are asked once
// and kept with it across syncs.
type KeyFunc func(*PastCommit) ([]string, error)

// chain is the first-parent history of one head, newest first, as far back as walks have
// asked, indexed by the files each commit changed and by its keys: a walk for one file and one
// key visits the commits that touch them, not every commit of the window.
type chain struct {
	head    plumbing.Hash
	commits []*cachedCommit
	// oldest[i] is the earliest committer time among commits[0..i]: a walk stops at the first
	// commit older than its since, the first i with oldest[i] before it.
	oldest []time.Time
	// end is set once the root or the edge of a shallow clone was reached.
	end    bool
	byFile map[string][]int // positions in commits, ascending (newest first)
	byKey  map[string][]int
}

// chainOf returns the chain of head, built afresh when the head moved.
func (hc *historyCache) chainOf(head plumbing.Hash) *chain {
	if hc.chain == nil || hc.chain.head != head {
		hc.chain = &chain{head: head, byFile: map[string][]int{}, byKey: map[string][]int{}}
	}
	return hc.chain
}

// grow adds the next older commit to the chain, diffed and keyed (once per commit, whatever
// the syncs: the cache keeps both), or sets end.
func (hc *historyCache) grow(ch *chain, keys KeyFunc) error {
	h := ch.head
	if n := len(ch.commits); n > 0 {
		last := ch.commits[n-1]
		if last.numParents == 0 {
			ch.end = true
			return nil
		}
		h = last.parent
	}
	cc, err := hc.get(h)
	if err != nil {
		if len(ch.commits) > 0 && errors.Is(err, plumbing.ErrObjectNotFound) {
			ch.end = true // the edge of a shallow clone
			return nil
		}
		if len(ch.commits) == 0 {
			return fmt.Errorf("read commit %s: %w", h, err)
		}
		return fmt.Errorf("read first parent: %w", err)
	}
	if err := hc.diffed(cc); err != nil {
		return err
	}
	if !cc.keyed && keys != nil {
		if cc.keys, err = keys(cc.past); err != nil {
			return fmt.Errorf("commit %s: %w", cc.past.SHA, err)
		}
		cc.keyed = true
	}
	pos := len(ch.commits)
	oldest := cc.when
	if pos > 0 && ch.oldest[pos-1].Before(oldest) {
		oldest = ch.oldest[pos-1]
	}
	ch.commits = append(ch.commits, cc)
	ch.oldest = append(ch.oldest, oldest)
	for name := range cc.changes {
		ch.byFile[name] = append(ch.byFile[name], pos)
	}
	for _, k := range cc.keys {
		if l := ch.byKey[k]; len(l) == 0 || l[len(l)-1] != pos { // a key said twice counts once
			ch.byKey[k] = append(l, pos)
		}
	}
	return nil
}

// walkTouching is walkFirstParent restricted to the commits that changed file or that keys
// names key: it calls visit for those among the commits WalkBase would visit (the same since,
// max, root and shallow edge), newest first. window is how many commits WalkBase would have
// visited, visited how many visit was called for.
func (hc *historyCache) walkTouching(head plumbing.Hash, since time.Time, max int, file, key string, keys KeyFunc,
	visit func(*PastCommit) (bool, error)) (window, visited int, err error) {
	if max <= 0 {
		max = DefaultHistoryMax
	}
	ch := hc.chainOf(head)
	for !ch.end && len(ch.commits) < max && (len(ch.commits) == 0 || !ch.oldest[len(ch.commits)-1].Before(since)) {
		if err := hc.grow(ch, keys); err != nil {
			return 0, 0, err
		}
	}
	n := min(len(ch.commits), max)
	window = sort.Search(n, func(i int) bool { return ch.oldest[i].Before(since) })
	files, ks := ch.byFile[cleanPath(file)], ch.byKey[key]
	for i, j := 0, 0; ; {
		pos := -1
		switch {
		case i < len(files) && (j >= len(ks) || files[i] <= ks[j]):
			pos = files[i]
			if j < len(ks) && ks[j] == pos {
				j++
			}
			i++
		case j < len(ks):
			pos = ks[j]
			j++
		}
		if pos < 0 || pos >= window {
			return window, visited, nil
		}
		cc := ch.commits[pos]
		cc.gen = hc.gen
		visited++
		more, err := visit(cc.past)
		if err != nil || !more {
			return window, visited, err
		}
	}
}

// WalkBaseTouching is WalkBase for one file and one key: it visits, newest first, only the
// commits of the walk that changed file (as FileChange sees it) or that keys names key, and
// returns how many commits WalkBase would have visited (window) and how many it visited.
// The commits of the base's first-parent history are indexed once per sync, by the files each
// changed and by its keys, both remembered across syncs: a cycle of N policies over a window
// of H commits diffs only the commits new since the last sync, and each policy visits its own
// commits rather than H (docs/design.md §6, "Reading history").
func (w *Workspace) WalkBaseTouching(since time.Time, max int, file, key string, keys KeyFunc,
	visit func(*PastCommit) (bool, error)) (window, visited int, err error) {
	return w.history.walkTouching(w.base, since, max, file, key, keys, visit)
}
