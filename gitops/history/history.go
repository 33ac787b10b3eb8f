package history

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/edit"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// Query selects one policy's past changes of its target.
type Query struct {
	// PolicyID is the policy's "namespace/name", as in the Autoscaler-Policy trailer.
	PolicyID string
	// Target is where the count lives; commits that changed the value there are events.
	Target policy.ReplicasLocation
	// Since ends the walk at the first commit older than it: pass now minus the longest window
	// the policy needs (holds, cooldowns, rate-limit periods), never the whole history.
	Since time.Time
	// Max caps the commits visited (default gitrepo.DefaultHistoryMax).
	Max int
}

// Repository is what reading history needs of a workspace: a walk of the base branch's first
// parents that visits the commits touching one file or one key, a commit by its hash, and a
// file's version by its blob. *gitrepo.Workspace is one.
type Repository interface {
	WalkBaseTouching(since time.Time, max int, file, key string, keys gitrepo.KeyFunc,
		visit func(*gitrepo.PastCommit) (bool, error)) (window, visited int, err error)
	LookupCommit(sha string) (*gitrepo.PastCommit, bool)
	ReadBlob(id string) (data []byte, ok bool, err error)
}

// Read reads a policy's events from the first-parent history of the remote base branch,
// newest first from the base back to q.Since, and returns them oldest first:
//   - a commit with our trailers for the policy: EventDecision, or EventManualScale, with
//     From and To from its trailers;
//   - a `git revert` of one of the policy's commits ("This reverts commit <sha>."):
//     EventRevert, with From and To the values before and after it;
//   - any other commit that changed the value at the target: EventManualEdit.
//
// Only the commits that can be one of these are classified: those that changed the target file
// and those whose keys (Keys) name the policy — its own, and reverts of its own. The others of
// the window cannot be an event of this policy (classify would find nothing), so the walk
// skips them through the workspace's index; its answer is the same as a walk of every commit's
// (docs/design.md §6, "Reading history"). Only the target file's versions are decoded (the
// file's blob against the first parent's). A commit whose file does not parse, or that creates
// or deletes the file, is not an edit of the count and is skipped. The policies share commit
// reads, message parsing and tree diffs (gitrepo.PastCommit.Memo), within a sync and across.
func Read(repo Repository, q Query) ([]engine.Event, error) {
	events, _, err := read(repo, q)
	return events, err
}

// walked is what one read walked: the commits of its window, and those of them it classified.
type walked struct {
	window, classified int
}

// read is Read, also returning what it walked.
func read(repo Repository, q Query) ([]engine.Event, walked, error) {
	r := &reader{repo: repo, q: q, values: map[string]value{}}
	var events []engine.Event
	var w walked
	var err error
	w.window, w.classified, err = repo.WalkBaseTouching(q.Since, q.Max, q.Target.File, q.PolicyID, Keys(repo), func(c *gitrepo.PastCommit) (bool, error) {
		e, ok, err := r.classify(c)
		if err != nil {
			return false, fmt.Errorf("commit %s: %w", c.SHA, err)
		}
		if ok {
			events = append(events, e)
		}
		return true, nil
	})
	if err != nil {
		return nil, w, fmt.Errorf("read history of %s: %w", q.PolicyID, err)
	}
	for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
		events[i], events[j] = events[j], events[i]
	}
	return events, w, nil
}

// Keys names the policies a commit can be an event of besides by its file: the one its
// trailers name, and the one whose commit it reverts ("This reverts commit <sha>." naming a
// commit of ours in the clone). They depend on the commit alone — its message and the commit
// it names — as gitrepo.KeyFunc asks.
func Keys(repo Repository) gitrepo.KeyFunc {
	return func(c *gitrepo.PastCommit) ([]string, error) {
		m := parse(c)
		var keys []string
		if m.ours {
			keys = append(keys, m.trailers.PolicyID)
		}
		if m.reverts != "" {
			if rc, ok := repo.LookupCommit(m.reverts); ok {
				if rm := parse(rc); rm.ours {
					keys = append(keys, rm.trailers.PolicyID)
				}
			}
		}
		return keys, nil
	}
}

// revertRE finds the commit a `git revert` message names.
var revertRE = regexp.MustCompile(`(?m)^This reverts commit ([0-9a-f]{40}|[0-9a-f]{64})\b`)

// message is what a commit's message says to history, parsed once (PastCommit.Memo).
type message struct {
	trailers commitmsg.Trailers
	ours     bool   // trailers present
	reverts  string // the sha a `git revert` message names, if any
}

func parse(c *gitrepo.PastCommit) message {
	memo := c.Memo()
	if m, ok := (*memo).(message); ok {
		return m
	}
	var m message
	m.trailers, m.ours = commitmsg.ParseTrailers(c.Message)
	if sub := revertRE.FindStringSubmatch(c.Message); sub != nil {
		m.reverts = sub[1]
	}
	*memo = m
	return m
}

// value is the count a version of the target file holds; ok is false when the file is
// absent, too large to read, or the value cannot be read there.
type value struct {
	n  int
	ok bool
}

// reader classifies the commits of one query, remembering decoded values by blob: consecutive
// commits mostly share the file's blob.
type reader struct {
	repo   Repository
	q      Query
	values map[string]value // blob → its value
}

func (r *reader) classify(c *gitrepo.PastCommit) (engine.Event, bool, error) {
	e := engine.Event{At: c.At, Commit: c.SHA, Author: c.Author, Subject: firstLine(c.Message)}
	m := parse(c)
	if m.ours && m.trailers.PolicyID == r.q.PolicyID {
		tr := m.trailers
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

	before, after, changed, err := r.fileChange(c)
	if err != nil {
		return e, false, err
	}
	if m.reverts != "" {
		if reverted, ok := r.ours(m.reverts); ok {
			e.Kind, e.Reverts = engine.EventRevert, m.reverts
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

// ours returns the trailers of the commit sha when it is one of the policy's.
func (r *reader) ours(sha string) (commitmsg.Trailers, bool) {
	c, ok := r.repo.LookupCommit(sha)
	if !ok {
		return commitmsg.Trailers{}, false // not in this history (another branch, a shallow edge)
	}
	m := parse(c)
	return m.trailers, m.ours && m.trailers.PolicyID == r.q.PolicyID
}

// fileChange returns the target's value before (first parent) and after a commit, and whether
// the commit changed the file at all. Unchanged files are not decoded.
func (r *reader) fileChange(c *gitrepo.PastCommit) (before, after value, changed bool, err error) {
	prev, cur, changed, err := c.FileChange(r.q.Target.File)
	if err != nil || !changed {
		return before, after, false, err
	}
	if before, err = r.value(prev); err != nil {
		return before, after, true, err
	}
	after, err = r.value(cur)
	return before, after, true, err
}

// value decodes the target's count from a blob.
func (r *reader) value(blob string) (value, error) {
	if blob == "" {
		return value{}, nil
	}
	if v, ok := r.values[blob]; ok {
		return v, nil
	}
	data, ok, err := r.repo.ReadBlob(blob)
	if err != nil {
		return value{}, err
	}
	var v value
	if ok {
		// Not read when larger than limits.git.maxFileBytes: unreadable at this version.
		if n, err := edit.ReadReplicas(data, r.q.Target); err == nil {
			v = value{n: n, ok: true}
		}
	}
	r.values[blob] = v
	return v, nil
}

func firstLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\n")
	return strings.TrimRight(line, "\r ")
}
