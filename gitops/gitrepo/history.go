package gitrepo

import (
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/edit"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// DefaultHistoryMax caps the commits one history read visits when HistoryQuery.Max is 0: a
// bound on the work of a busy repository, far beyond a few hours of commits.
const DefaultHistoryMax = 5000

// HistoryQuery selects one policy's past changes of its target.
type HistoryQuery struct {
	// PolicyID is the policy's "namespace/name", as in the Autoscaler-Policy trailer.
	PolicyID string
	// Target is where the count lives; commits that changed the value there are events.
	Target policy.ReplicasLocation
	// Since ends the walk at the first commit older than it: pass now minus the longest window
	// the policy needs (holds, cooldowns, rate-limit periods), never the whole history.
	Since time.Time
	// Max caps the commits visited (default DefaultHistoryMax).
	Max int
}

// History reads a policy's events from the first-parent history of the remote base branch,
// newest first from Base back to q.Since, and returns them oldest first:
//   - a commit with our trailers for the policy: EventDecision, or EventManualScale, with
//     From and To from its trailers;
//   - a `git revert` of one of the policy's commits ("This reverts commit <sha>."):
//     EventRevert, with From and To the values before and after it;
//   - any other commit that changed the value at the target: EventManualEdit.
//
// Only commits that changed the target file are decoded (the file's blob hash against the
// first parent's). A commit whose file does not parse, or that creates or deletes the file, is
// not an edit of the count and is skipped.
//
// The walk starts at Base, not at the local head: the cycle's own commits so far are other
// policies' decisions on other targets (two policies never share one), never events of this
// one. The policies of one sync share commit reads, trailer parsing and tree diffs.
func (w *Workspace) History(q HistoryQuery) ([]engine.Event, error) {
	events, _, err := readHistory(w.repo, w.base, w.history, q)
	return events, err
}

// decisionExists reports whether the policy's newest commit since q.Since (walking from head)
// carries decision id — that is, the branch already holds this decision. An older commit with
// the same id does not count once a later decision superseded it. It returns the commit found.
func decisionExists(repo *git.Repository, head plumbing.Hash, q HistoryQuery, id string) (plumbing.Hash, bool, error) {
	var found plumbing.Hash
	var exists bool
	_, err := walkFirstParent(repo, head, nil, q, func(c *object.Commit) (bool, error) {
		tr, ok := commitmsg.ParseTrailers(c.Message)
		if !ok || tr.PolicyID != q.PolicyID {
			return true, nil
		}
		if tr.DecisionID == id {
			found, exists = c.Hash, true
		}
		return false, nil
	})
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("find decision %s of %s: %w", id, q.PolicyID, err)
	}
	return found, exists, nil
}

// revertRE finds the commit a `git revert` message names.
var revertRE = regexp.MustCompile(`(?m)^This reverts commit ([0-9a-f]{40}|[0-9a-f]{64})\b`)

// readHistory reads the policy's events walking from head (see History), sharing the work
// through cache when it is set, and also returns the number of commits it visited.
func readHistory(repo *git.Repository, head plumbing.Hash, cache *historyCache, q HistoryQuery) ([]engine.Event, int, error) {
	file := path.Clean(strings.TrimPrefix(q.Target.File, "./"))
	h := &historyReader{repo: repo, q: q, cache: cache, parts: strings.Split(file, "/"),
		blobs: map[plumbing.Hash]plumbing.Hash{}, trees: map[treeKey]plumbing.Hash{},
		values: map[plumbing.Hash]valueResult{}}
	var events []engine.Event
	visited, err := walkFirstParent(repo, head, cache, q, func(c *object.Commit) (bool, error) {
		e, ok, err := h.classify(c)
		if err != nil {
			return false, fmt.Errorf("commit %s: %w", c.Hash, err)
		}
		if ok {
			events = append(events, e)
		}
		return true, nil
	})
	if err != nil {
		return nil, visited, fmt.Errorf("read history of %s: %w", q.PolicyID, err)
	}
	for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
		events[i], events[j] = events[j], events[i]
	}
	return events, visited, nil
}

// walkFirstParent calls visit for each first-parent commit from head, newest first, until a
// commit older than q.Since, q.Max commits, the root, or visit returning false. It returns the
// number of commits visited.
func walkFirstParent(repo *git.Repository, head plumbing.Hash, cache *historyCache, q HistoryQuery, visit func(*object.Commit) (bool, error)) (int, error) {
	max := q.Max
	if max <= 0 {
		max = DefaultHistoryMax
	}
	read, parent := repo.CommitObject, func(c *object.Commit) (*object.Commit, error) { return c.Parent(0) }
	if cache != nil {
		read, parent = cache.commit, cache.parent
	}
	c, err := read(head)
	if err != nil {
		return 0, fmt.Errorf("read commit %s: %w", head, err)
	}
	visited := 0
	for visited < max {
		if c.Committer.When.Before(q.Since) {
			break
		}
		visited++
		more, err := visit(c)
		if err != nil || !more {
			return visited, err
		}
		if c.NumParents() == 0 {
			break
		}
		if c, err = parent(c); err != nil {
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				break // the edge of a shallow clone
			}
			return visited, fmt.Errorf("read first parent: %w", err)
		}
	}
	return visited, nil
}

type valueResult struct {
	n  int
	ok bool
}

// historyReader classifies commits, remembering decoded values by blob hash: consecutive
// commits mostly share the file's blob.
type historyReader struct {
	repo   *git.Repository
	q      HistoryQuery
	cache  *historyCache                   // nil: uncached
	parts  []string                        // the file's path, split
	blobs  map[plumbing.Hash]plumbing.Hash // commit → the target file's blob
	trees  map[treeKey]plumbing.Hash       // tree at a depth of parts → the file's blob
	values map[plumbing.Hash]valueResult   // blob → its value
}

func (h *historyReader) classify(c *object.Commit) (engine.Event, bool, error) {
	e := engine.Event{
		At:      c.Committer.When,
		Commit:  c.Hash.String(),
		Author:  fmt.Sprintf("%s <%s>", c.Author.Name, c.Author.Email),
		Subject: firstLine(c.Message),
	}
	tr, ok, reverts := h.message(c)
	if ok && tr.PolicyID == h.q.PolicyID {
		e.Kind, e.From, e.To = engine.EventDecision, tr.From, tr.To
		if tr.Manual {
			// The person who asked, not the bot that committed (docs/design.md §6).
			e.Kind, e.HoldSeconds = engine.EventManualScale, tr.HoldSeconds
			if tr.RequestedBy != "" {
				e.Author = tr.RequestedBy
			}
		}
		return e, true, nil
	}

	before, after, changed, err := h.fileChange(c)
	if err != nil {
		return e, false, err
	}
	if reverts != "" {
		if reverted, ok := h.ours(reverts); ok {
			e.Kind, e.Reverts = engine.EventRevert, reverts
			e.From, e.To = before.n, after.n
			if !before.ok || !after.ok {
				// The file no longer decodes on one side: fall back to what was undone.
				e.From, e.To = reverted.To, reverted.From
			}
			return e, true, nil
		}
	}
	if changed && before.ok && after.ok && before.n != after.n {
		e.Kind, e.From, e.To = engine.EventManualEdit, before.n, after.n
		return e, true, nil
	}
	return e, false, nil
}

// message returns a commit's trailers and the commit its `git revert` message names, if any.
func (h *historyReader) message(c *object.Commit) (tr commitmsg.Trailers, ours bool, reverts string) {
	if h.cache != nil {
		return h.cache.message(c)
	}
	tr, ours = commitmsg.ParseTrailers(c.Message)
	if m := revertRE.FindStringSubmatch(c.Message); m != nil {
		reverts = m[1]
	}
	return tr, ours, reverts
}

// ours returns the trailers of the commit sha when it is one of the policy's.
func (h *historyReader) ours(sha string) (commitmsg.Trailers, bool) {
	c, err := h.repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		return commitmsg.Trailers{}, false // not in this history (another branch, a shallow edge)
	}
	tr, ok := commitmsg.ParseTrailers(c.Message)
	return tr, ok && tr.PolicyID == h.q.PolicyID
}

// fileChange returns the target's value before (first parent) and after a commit, and whether
// the commit changed the file at all. Unchanged files are not decoded.
func (h *historyReader) fileChange(c *object.Commit) (before, after valueResult, changed bool, err error) {
	if h.cache != nil {
		prev, cur, err := h.cache.change(c, strings.Join(h.parts, "/"))
		if err != nil || prev == cur {
			return before, after, false, err
		}
		if before, err = h.value(prev); err != nil {
			return before, after, true, err
		}
		after, err = h.value(cur)
		return before, after, true, err
	}
	cur, err := h.blob(c)
	if err != nil {
		return before, after, false, err
	}
	var prev plumbing.Hash
	if c.NumParents() > 0 {
		p, err := c.Parent(0)
		if err != nil && !errors.Is(err, plumbing.ErrObjectNotFound) {
			return before, after, false, err
		}
		if p != nil {
			if prev, err = h.blob(p); err != nil {
				return before, after, false, err
			}
		}
	}
	if cur == prev {
		return before, after, false, nil
	}
	if before, err = h.value(prev); err != nil {
		return before, after, true, err
	}
	after, err = h.value(cur)
	return before, after, true, err
}

// blob returns the hash of the target file's blob in a commit; zero when it is absent.
func (h *historyReader) blob(c *object.Commit) (plumbing.Hash, error) {
	if b, ok := h.blobs[c.Hash]; ok {
		return b, nil
	}
	b, err := h.findBlob(c)
	if err == nil {
		h.blobs[c.Hash] = b
	}
	return b, err
}

func (h *historyReader) findBlob(c *object.Commit) (plumbing.Hash, error) {
	return h.lookup(c.TreeHash, 0)
}

// lookup finds the file's blob below a tree at one depth of the file's path. Results are kept
// by tree hash: a commit that did not touch the file's directories shares their trees with
// its parent, so only the changed root tree is read.
func (h *historyReader) lookup(tree plumbing.Hash, depth int) (plumbing.Hash, error) {
	key := treeKey{tree, depth}
	if b, ok := h.trees[key]; ok {
		return b, nil
	}
	t, err := object.GetTree(h.repo.Storer, tree)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	var blob plumbing.Hash
	for _, e := range t.Entries {
		if e.Name != h.parts[depth] {
			continue
		}
		switch {
		case depth == len(h.parts)-1 && e.Mode.IsFile():
			blob = e.Hash
		case depth < len(h.parts)-1 && e.Mode == filemode.Dir:
			if blob, err = h.lookup(e.Hash, depth+1); err != nil {
				return plumbing.ZeroHash, err
			}
		}
		break
	}
	h.trees[key] = blob
	return blob, nil
}

type treeKey struct {
	tree  plumbing.Hash
	depth int
}

// value decodes the target's count from a blob; ok is false when the file is absent or the
// value cannot be read there.
func (h *historyReader) value(blob plumbing.Hash) (valueResult, error) {
	if blob.IsZero() {
		return valueResult{}, nil
	}
	if v, ok := h.values[blob]; ok {
		return v, nil
	}
	b, err := h.repo.BlobObject(blob)
	if err != nil {
		return valueResult{}, err
	}
	limit := int64(policy.DefaultGitMaxFileBytes)
	if h.cache != nil && h.cache.maxFile > 0 {
		limit = h.cache.maxFile
	}
	if b.Size > limit {
		// Not read (limits.git.maxFileBytes): the value is unreadable at this version.
		h.values[blob] = valueResult{}
		return valueResult{}, nil
	}
	r, err := b.Reader()
	if err != nil {
		return valueResult{}, err
	}
	data, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return valueResult{}, err
	}
	var v valueResult
	if n, err := edit.ReadReplicas(data, h.q.Target); err == nil {
		v = valueResult{n: n, ok: true}
	}
	h.values[blob] = v
	return v, nil
}

func firstLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\n")
	return strings.TrimRight(line, "\r ")
}
