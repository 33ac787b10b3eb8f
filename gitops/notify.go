package gitops

import (
	"context"
	"strings"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/notify"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// Notifier calls a repository's notify webhooks after a push (package gitops/notify).
type Notifier interface {
	Notify(ctx context.Context, targets []svcconfig.Notify, p notify.Push) []notify.Outcome
}

var _ Notifier = (*notify.Client)(nil)

// notifyLanded is the notify step (docs/design.md §7, "Notify after a push"): once the
// cycle's push has landed decisions on the base branch — commits pushed, or pull requests
// AutoMerge merged — it tells the repository's GitOps controllers, so that they sync now
// rather than at their next poll. It runs after the decisions are final and never changes
// them: a failed call is only an outcome in the report (logged, counted).
func (r *Runner) notifyLanded(ctx context.Context, rc svcconfig.Repository, rep *Report) {
	if r.Notify == nil || len(rc.Notify) == 0 {
		return
	}
	p, ok := landedPush(rc, rep)
	if !ok {
		return
	}
	p.Pusher = r.Config.Commit.AuthorName
	rep.Notified = r.Notify.Notify(ctx, rc.Notify, p)
}

// landedPush is the push event of what the cycle landed: each committed result's commit and
// file, the branch's head before and after. ok is false when nothing landed.
func landedPush(rc svcconfig.Repository, rep *Report) (notify.Push, bool) {
	p := notify.Push{Repository: rc, Before: rep.Before, After: rep.Head}
	pushed := false
	for _, res := range rep.Results {
		if res.Action != ActionCommitted || res.Commit == "" {
			continue
		}
		// Target is file#path (commitmsg.Target).
		file, _, _ := strings.Cut(res.Target, "#")
		p.Commits = append(p.Commits, notify.Commit{ID: res.Commit, Files: []string{file}})
		if res.PullRequest == "" {
			pushed = true
		}
	}
	if len(p.Commits) == 0 {
		return notify.Push{}, false
	}
	if !pushed {
		// Only merges landed: the host made the commits, after the cycle's own head.
		p.Before, p.After = "", p.Commits[len(p.Commits)-1].ID
	}
	return p, true
}
