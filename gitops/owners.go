package gitops

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/edit"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/repopath"
)

// Ownership between teams (docs/design.md §4): the set checks of policy.CheckRepoSet, fed
// with what only Git tells — what each target file holds and where each path resolves in it,
// and which document claimed a name or a value first. The loop and `validate --repo` build the
// same view, one over the workspace, the other over a checkout, so they refuse the same.

// repoFacts is what the set checks are told of one repository.
type repoFacts struct {
	rc *svcconfig.Repository
	// document is a policy's document path in the repository, "" when it was given outside.
	document func(p *policy.Policy) string
	// targets are the policies' targets that could be read and resolved.
	targets map[*policy.Policy]resolvedTarget
	// starts walks the history of the repository's base (nil: no history).
	starts func([]gitrepo.Claim) ([]gitrepo.ClaimStart, error)
}

// resolvedTarget is a policy's target file, where its path resolves in it (a zero node when
// it does not), and the first document of ours the file holds.
type resolvedTarget struct {
	data     []byte
	node     edit.Node
	kind     string
	kindLine int
}

// resolveTarget reads what the set checks need of a target file. The error is the path's that
// does not resolve; the kind is read anyway.
func resolveTarget(data []byte, loc policy.ReplicasLocation) (resolvedTarget, error) {
	t := resolvedTarget{data: data}
	t.kind, t.kindLine = policy.AutoscalerKind(data)
	var err error
	t.node, err = edit.Resolve(data, loc)
	return t, err
}

// view is the policy.RepoView of the facts.
func (f *repoFacts) view() policy.RepoView {
	v := policy.RepoView{
		Repository: f.rc,
		Document:   f.document,
		Target: func(p *policy.Policy) (policy.ResolvedTarget, bool) {
			t, ok := f.targets[p]
			return policy.ResolvedTarget{Line: t.node.Line, Column: t.node.Column, Kind: t.kind, KindLine: t.kindLine}, ok
		},
	}
	if f.starts != nil {
		v.History = f
	}
	return v
}

var _ policy.ClaimHistory = (*repoFacts)(nil)

// ClaimStarts asks Git where each claimant's claim began. A name is held by a version of the
// document that declares a policy of that ID; a value by one that declares a policy writing
// the same file at a path that resolves, in today's file, to the same node — so a document
// that spelled its path another way before still held it.
func (f *repoFacts) ClaimStarts(kind policy.ClaimKind, claimants []*policy.Policy) ([]policy.ClaimStart, error) {
	out := make([]policy.ClaimStart, len(claimants))
	var claims []gitrepo.Claim
	var at []int
	for i, p := range claimants {
		doc := f.document(p)
		if doc == "" {
			continue // given outside the repository: no claim in its history
		}
		claims = append(claims, gitrepo.Claim{File: doc, Holds: f.holds(kind, p, doc)})
		at = append(at, i)
	}
	if len(claims) == 0 {
		return out, nil
	}
	starts, err := f.starts(claims)
	if err != nil {
		return nil, err
	}
	if len(starts) != len(claims) {
		return nil, errors.New("the history answered for another number of claims")
	}
	for k, i := range at {
		out[i] = policy.ClaimStart(starts[k]) // the same fields; gitrepo imports no policy
	}
	return out, nil
}

// holds is whether a version of p's document holds p's claim of a kind.
func (f *repoFacts) holds(kind policy.ClaimKind, p *policy.Policy, doc string) func([]byte) bool {
	if kind == policy.ClaimName {
		return func(data []byte) bool {
			for _, q := range policy.Declared(doc, data) {
				if q.ID() == p.ID() {
					return true
				}
			}
			return false
		}
	}
	t, ok := f.targets[p]
	resolved := ok && t.node.Line > 0
	file := path.Clean(p.Spec.Replicas.File)
	return func(data []byte) bool {
		for _, q := range policy.Declared(doc, data) {
			r := q.Spec.Replicas
			if r == nil || path.Clean(r.File) != file {
				continue
			}
			if !resolved {
				if policy.SameTarget(r, p.Spec.Replicas) {
					return true
				}
				continue
			}
			if n, err := edit.Resolve(t.data, *r); err == nil && n.Line == t.node.Line && n.Column == t.node.Column {
				return true
			}
		}
		return false
	}
}

// checkSet is the loop's set check of a repository's policies (docs/design.md §9 invariant 9):
// policies given outside the repository are the operator's, documents found under the globs
// are at their repository paths, targets are read from the workspace (cached like the
// decisions' reads), and claims are settled on the base branch's history.
func (r *Runner) checkSet(ws *gitrepo.Workspace, repo Repo, all []*policy.Policy) ([]*policy.Policy, []policy.Invalid) {
	outside := make(map[*policy.Policy]bool, len(repo.Policies))
	for _, p := range repo.Policies {
		outside[p] = true
	}
	f := &repoFacts{
		rc: &repo.Config,
		document: func(p *policy.Policy) string {
			if outside[p] {
				return ""
			}
			return p.Source.File
		},
		targets: make(map[*policy.Policy]resolvedTarget, len(all)),
		starts:  ws.ClaimStarts,
	}
	for _, p := range all {
		if p.Spec.Replicas == nil {
			continue
		}
		// A target that cannot be read or resolved is compared as written; its policy's
		// evaluation reports why. What the file holds counts all the same.
		if t, err := r.readTarget(ws, p); err == nil {
			f.targets[p] = t.resolved
		} else if data, err := ws.ReadFile(p.Spec.Replicas.File); err == nil {
			f.targets[p], _ = resolveTarget(data, *p.Spec.Replicas)
		}
	}
	return policy.CheckRepoSet(r.Config, all, f.view())
}

// CheckCheckout is the loop's set check run on a checkout of a repository at dir, for
// `validate --repo`: the policies' targets are read from dir (by repopath's rule), and
// which claim came first from the history of dir's HEAD when dir is a Git repository's
// worktree (otherwise conflicts tie, as the order cannot be told). document gives a policy's
// path relative to dir, "" when it is not inside it.
func CheckCheckout(cfg *svcconfig.Config, rc *svcconfig.Repository, dir string, policies []*policy.Policy, document func(*policy.Policy) string) ([]*policy.Policy, []policy.Invalid) {
	f := &repoFacts{rc: rc, document: document, targets: map[*policy.Policy]resolvedTarget{}}
	for _, p := range policies {
		if p.Spec.Replicas == nil {
			continue
		}
		full, err := repopath.Join(dir, p.Spec.Replicas.File)
		if err != nil {
			continue
		}
		data, err := readBounded(full)
		if err != nil {
			continue
		}
		f.targets[p], _ = resolveTarget(data, *p.Spec.Replicas)
	}
	if h, err := gitrepo.OpenHistory(dir); err == nil {
		f.starts = h.ClaimStarts
	}
	return policy.CheckRepoSet(cfg, policies, f.view())
}

// maxCheckoutTarget bounds a target file CheckCheckout reads: a larger one is not resolved
// (compared as written, never refused for what it holds — the loop's own read refuses it).
const maxCheckoutTarget = 4 << 20

// readBounded reads a file of at most maxCheckoutTarget bytes.
func readBounded(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCheckoutTarget+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCheckoutTarget {
		return nil, fmt.Errorf("larger than %d bytes", maxCheckoutTarget)
	}
	return data, nil
}
