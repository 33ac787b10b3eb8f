package gitops

import (
	"context"
	"errors"
	"strings"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/repopath"
)

// InputLister is what a Verifier may also answer: the repository-relative files and
// directories a policy's render reads, a directory standing for everything under it, and "."
// for the whole repository. Without it a render policy counts as reading everything.
type InputLister interface {
	Inputs(root string, p *policy.Policy) []string
}

// everything is the input that stands for the whole repository.
const everything = "."

// raceState is what a cycle keeps for its push races: the policies it decided and, once
// asked, the inputs of each (see moved). It answers which policies a race moved on its own,
// so that the Runner keeps only the replay.
type raceState struct {
	rc     svcconfig.Repository
	set    *policySet
	inputs map[string][]string
	// lister tells a render policy's inputs: the Runner's Verifier when it is an
	// InputLister, nil otherwise (a render policy then reads everything).
	lister InputLister
}

// inputsOf are the paths a decision of p read from the repository: its document, its target
// file, and what its render reads (InputLister). A change to any of them, or under one, may
// change the decision. Kept for the cycle: an input that changed moves the policy anyway.
func (st *raceState) inputsOf(ws *gitrepo.Workspace, p *policy.Policy) []string {
	if in, ok := st.inputs[p.ID()]; ok {
		return in
	}
	var in []string
	if p.Source.Repository == st.rc.Name && p.Source.File != "" {
		in = append(in, p.Source.File)
	}
	if p.Spec.Replicas != nil {
		// As Git's tree names it; a path that does not clean is the policy's error elsewhere,
		// and counts as everything here.
		file, err := repopath.Clean(p.Spec.Replicas.File)
		if err != nil {
			file = everything
		}
		in = append(in, file)
	}
	if p.Spec.Render != nil {
		if st.lister != nil {
			in = append(in, st.lister.Inputs(ws.Root(), p)...)
		} else {
			in = append(in, everything)
		}
	}
	if st.inputs == nil {
		st.inputs = map[string][]string{}
	}
	st.inputs[p.ID()] = in
	return in
}

// touches says whether a changed path is one of the inputs or under one.
func touches(inputs, changed []string) bool {
	for _, in := range inputs {
		for _, c := range changed {
			if in == everything || c == in || strings.HasPrefix(c, in+"/") {
				return true
			}
		}
	}
	return false
}

// moved returns the policies of the cycle whose inputs the changed paths touch, or all=true
// when the set of policies itself may have changed: a changed path under the repository's
// policy globs (a document added, edited or removed changes names, claims and owners).
func (st *raceState) moved(ws *gitrepo.Workspace, changed []string) (redo map[string]bool, all bool) {
	if st.set == nil {
		return nil, true
	}
	for _, c := range changed {
		for _, g := range st.rc.Policies {
			if svcconfig.MatchGlob(g, c) {
				return nil, true
			}
		}
	}
	redo = map[string]bool{}
	for _, p := range st.set.policies {
		if touches(st.inputsOf(ws, p), changed) {
			redo[p.ID()] = true
		}
	}
	return redo, false
}

// replayAfterRace is what a cycle does after a push race instead of deciding every policy
// again, when it can (docs/design.md §6, "Push races"): compare the new base with the old
// one; if no changed path is under the policy globs, replay — the same change as a new commit
// on the new head — every commit of a policy whose inputs were not touched, keep the other
// results of those policies as they were, and decide again only the policies whose inputs
// moved. made are the commits the failed push held, old the base they were made on. ok is
// false when it cannot (the branch was rewritten, too many paths changed, a commit does not
// apply): the workspace is then back at the new base and the caller decides everything again.
func (r *Runner) replayAfterRace(ctx context.Context, ws *gitrepo.Workspace, st *raceState, old string, made []gitrepo.Made,
	prev []Result, redecide func(only map[string]bool) ([]Result, error)) (results []Result, replayed int, ok bool, err error) {
	changed, err := ws.ChangedSince(ctx, old)
	if err != nil {
		if errors.Is(err, gitrepo.ErrNotComparable) {
			r.logger().Info("push race: the new head cannot be compared, deciding again", "repository", st.rc.Name, "reason", err.Error())
			return nil, 0, false, nil
		}
		return nil, 0, false, err
	}
	redo, all := st.moved(ws, changed)
	if all {
		r.logger().Info("push race: policy documents changed, deciding again", "repository", st.rc.Name)
		return nil, 0, false, nil
	}
	bySHA := make(map[string]gitrepo.CommitRequest, len(made))
	for _, m := range made {
		bySHA[m.SHA] = m.Request
	}
	results = make([]Result, 0, len(prev))
	for _, res := range prev {
		if redo[res.Policy] {
			results = append(results, res) // replaced below
			continue
		}
		if res.Action == ActionCommitted && res.PullRequest == "" && res.Commit != "" {
			req, found := bySHA[res.Commit]
			if !found {
				return nil, 0, false, ws.DropLocal()
			}
			sha, err := ws.Commit(ctx, req)
			if err != nil {
				r.logger().Info("push race: a commit does not replay, deciding again", "repository", st.rc.Name, "policy", res.Policy, "error", err.Error())
				return nil, 0, false, ws.DropLocal()
			}
			res.Commit = sha
			replayed++
		}
		results = append(results, res)
	}
	if len(redo) > 0 {
		again, err := redecide(redo)
		if err != nil {
			return nil, 0, false, err
		}
		byID := make(map[string]Result, len(again))
		for _, res := range again {
			byID[res.Policy] = res
		}
		for i := range results {
			if res, ok := byID[results[i].Policy]; ok && redo[results[i].Policy] {
				results[i] = res
			}
		}
	}
	r.logger().Info("push race: replayed on the new head", "repository", st.rc.Name,
		"changed_paths", len(changed), "replayed", replayed, "decided_again", len(redo))
	return results, replayed, true, nil
}
