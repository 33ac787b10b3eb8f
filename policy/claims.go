package policy

import (
	"fmt"
	"math"
	"path"
	"strings"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/strictyaml"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// Claims between policies (docs/design.md §4, "Ownership between teams"). Two policies of one
// repository may not share a name, nor write one value: they would flip-flop. Which one keeps
// it is settled by Git history: the one whose document claimed it first, on the base
// branch's first-parent history, keeps it and is evaluated; the newcomer is refused, its
// message naming both documents. Copying another team's document therefore switches off only
// the copy. Policies that claimed it in the same commit are all refused, since either could
// be the mistake, and so are claims whose order cannot be told.

// ClaimKind is what two policies may both claim.
type ClaimKind int

const (
	// ClaimName is a policy's ID (namespace/name).
	ClaimName ClaimKind = iota
	// ClaimValue is the value spec.replicas resolves to: the YAML node in the target file,
	// however the path is spelled (workers[0].replicas and workers[name=web].replicas are one
	// value).
	ClaimValue
)

// ClaimStart is where one policy's claim began on the base branch's first-parent history, as
// a ClaimHistory found it.
type ClaimStart struct {
	// InBase is whether the base holds the claim at all. A document that is not on the branch
	// (given outside the repository, or not yet committed) claims later than any that is.
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

// ClaimHistory tells where claims began in Git history: the loop's workspace and validate's
// checkout answer it (package gitops). It is asked only about policies that claim the same
// name or value, and answers per claimant in order.
type ClaimHistory interface {
	ClaimStarts(kind ClaimKind, claimants []*Policy) ([]ClaimStart, error)
}

// ResolvedTarget is what a policy's target file holds, as its caller read it: where the policy's path
// resolves (the value's node) and the first document of ours in the file, if any.
type ResolvedTarget struct {
	// Line and Column are the resolved node's: two spellings of one value give the same. Zero
	// when the path does not resolve in the file: the location is then compared as written.
	Line, Column int
	// Kind is PrometheusAutoscaler or AutoscalerConfig when a document of the file declares
	// it (at KindLine): such a file is no policy's to write. Empty otherwise.
	Kind     string
	KindLine int
}

// RepoView is what the set checks of one repository's policies know beyond the documents: its
// configured entry, where each document lives in it, what each target resolves to, and the
// history that says which claim came first. Every field may be left out; the zero RepoView
// applies no owners, compares targets as written, and cannot tell which claim came first.
type RepoView struct {
	// Repository is the configured entry (its policy globs and owners).
	Repository *svcconfig.Repository
	// Document is a policy's document path relative to the repository root, or "" for a
	// policy given outside the repository (--policy-file): owners entries do not cover such a
	// policy, which is the operator's, and it claims later than any document on the branch.
	// Nil: Source.File.
	Document func(p *Policy) string
	// Target reports what a policy's target file holds; ok is false when it could not be
	// read (then its kind is not known, and the target is compared as written).
	Target func(p *Policy) (t ResolvedTarget, ok bool)
	// History tells which claim came first; nil: claims tie.
	History ClaimHistory
}

// CheckRepoSet is CheckSet with what the repository tells: it refuses, each at its own field,
//   - a policy that may not write its target: a policy document (by the repository's
//     policy globs, or because the file holds a PrometheusAutoscaler) or the service config
//     (a file holding an AutoscalerConfig), or, with owners declared, a file no owners entry
//     covering its document allows, and a document no entry covers;
//   - of the policies that share a name, and then of those that write one value, every one
//     but the one that claimed it first in Git history — all of them on a tie.
//
// A refused policy claims nothing: it is not weighed in the claims that follow.
func CheckRepoSet(cfg *svcconfig.Config, policies []*Policy, view RepoView) ([]*Policy, []Invalid) {
	problems := map[*Policy][]*FieldError{}
	refuse := func(p *Policy, field, msg string) {
		problems[p] = append(problems[p], &FieldError{File: p.Source.File, Line: p.Source.LineOf(field), Field: field, Msg: msg})
	}
	var eligible []*Policy
	for _, p := range policies {
		for _, c := range policyConflicts(cfg, p) {
			refuse(p, c.field, c.msg)
		}
		view.checkOwnership(p, refuse)
		if len(problems[p]) == 0 {
			eligible = append(eligible, p)
		}
	}
	eligible = view.arbitrate(ClaimName, eligible, refuse)
	view.arbitrate(ClaimValue, eligible, refuse)

	var ok []*Policy
	var bad []Invalid
	for _, p := range policies {
		fes, refused := problems[p]
		if !refused {
			ok = append(ok, p)
			continue
		}
		bad = append(bad, Invalid{File: p.Source.File, Line: p.Source.Line, Repository: p.Source.Repository, Policy: p.ID(), Err: strictyaml.Join(fes)})
	}
	return ok, bad
}

// Declared returns the policies the documents of data declare, valid or not, as far as they
// decode: enough to tell whether an older version of a document claimed a name or a value.
func Declared(file string, data []byte) []*Policy {
	var out []*Policy
	eachDocument(file, data, KindPolicy, func(d document) {
		if d.policy != nil {
			out = append(out, d.policy)
		}
	})
	return out
}

// SameTarget reports whether two replica locations name one file, path and document as
// written (the path in its normal spelling). Where the file can be read, claims compare the
// node the path resolves to instead.
func SameTarget(a, b *ReplicasLocation) bool {
	return a != nil && b != nil && targetKey("", a) == targetKey("", b)
}

func (v RepoView) document(p *Policy) string {
	if v.Document == nil {
		return p.Source.File
	}
	return v.Document(p)
}

func (v RepoView) target(p *Policy) (ResolvedTarget, bool) {
	if v.Target == nil || p.Spec.Replicas == nil {
		return ResolvedTarget{}, false
	}
	return v.Target(p)
}

// checkOwnership refuses a policy whose document no owners entry covers, or whose target it
// may not write.
func (v RepoView) checkOwnership(p *Policy, refuse func(p *Policy, field, msg string)) {
	doc := v.document(p)
	file := ""
	if r := p.Spec.Replicas; r != nil {
		file = path.Clean(r.File)
		var t *ResolvedTarget
		if tt, ok := v.target(p); ok {
			t = &tt
		}
		if msg := placeProblem(v.Repository, file, t); msg != "" {
			refuse(p, "spec.replicas.file", msg)
			return
		}
	}
	if doc == "" {
		return // the operator's: no owners entry covers it
	}
	if field, msg, ok := ownerProblem(v.Repository, doc, file); !ok {
		refuse(p, field, msg)
	}
}

// claimKey is what a policy claims of a kind: its ID, or its target — the resolved node where
// the file was read, else the location as written. "" when it claims nothing of the kind.
func (v RepoView) claimKey(kind ClaimKind, p *Policy) string {
	if kind == ClaimName {
		return p.ID()
	}
	r := p.Spec.Replicas
	if r == nil || !writes(&p.Spec) {
		return "" // a DryRun policy writes no value, so it claims none
	}
	if t, ok := v.target(p); ok && t.Line > 0 {
		return strings.Join([]string{p.Source.Repository, path.Clean(r.File), fmt.Sprintf("@%d:%d", t.Line, t.Column)}, "\x00")
	}
	return targetKey(p.Source.Repository, r)
}

// claimed is how a claim of a kind reads in a message: what is claimed, the field it is at.
func (v RepoView) claimed(kind ClaimKind, p *Policy) (field, what string) {
	if kind == ClaimName {
		return "metadata.name", "policy " + p.ID()
	}
	r := p.Spec.Replicas
	if t, ok := v.target(p); ok && t.Line > 0 {
		return "spec.replicas.path", fmt.Sprintf("the value it writes (%s line %d, column %d)", path.Clean(r.File), t.Line, t.Column)
	}
	return "spec.replicas.path", fmt.Sprintf("the value it writes (%s %s)", path.Clean(r.File), normalPath(r.Path))
}

// holder names the policy that holds a claim: its document for a name, the policy and its
// document for a value.
func holder(kind ClaimKind, p *Policy, field string) string {
	where := fmt.Sprintf("%s:%d", p.Source.File, p.Source.LineOf(field))
	if kind == ClaimName {
		return where
	}
	return fmt.Sprintf("policy %s (%s)", p.ID(), where)
}

// arbitrate settles each claim of a kind that several policies make: the one that claimed it
// first keeps it, the others are refused; on a tie, all of them. It returns the policies not
// refused here.
func (v RepoView) arbitrate(kind ClaimKind, policies []*Policy, refuse func(p *Policy, field, msg string)) []*Policy {
	groups := map[string][]*Policy{}
	var order []string
	for _, p := range policies {
		key := v.claimKey(kind, p)
		if key == "" {
			continue
		}
		if _, seen := groups[key]; !seen {
			order = append(order, key)
		}
		groups[key] = append(groups[key], p)
	}
	refused := map[*Policy]bool{}
	for _, key := range order {
		g := groups[key]
		if len(g) < 2 {
			continue
		}
		var starts []ClaimStart
		var err error
		if v.History != nil {
			starts, err = v.History.ClaimStarts(kind, g)
			if err == nil && len(starts) != len(g) {
				err = fmt.Errorf("%d answers for %d claims", len(starts), len(g))
			}
		}
		if err != nil {
			starts = nil
		}
		first, tied := firstClaims(starts, len(g))
		isTied := map[int]bool{}
		for _, i := range tied {
			isTied[i] = true
		}
		for i, p := range g {
			field, what := v.claimed(kind, p)
			switch {
			case i == first:
				continue // it keeps the claim
			case !isTied[i]:
				// A newcomer: it claimed later than the first, or than those that tie first.
				holds := first
				if holds < 0 {
					holds = tied[0]
				}
				refuse(p, field, fmt.Sprintf("%s is already claimed by %s, first in Git history (%s); this one is refused",
					what, holder(kind, g[holds], field), v.newcomerNote(p, starts[i])))
			default:
				other := g[tied[0]]
				if other == p {
					other = g[tied[1]]
				}
				refuse(p, field, fmt.Sprintf("%s is claimed by %s too, and %s: neither is evaluated until one gives it up",
					what, holder(kind, other, field), tieNote(v.History != nil, err, tied, starts)))
			}
			refused[p] = true
		}
	}
	var out []*Policy
	for _, p := range policies {
		if !refused[p] {
			out = append(out, p)
		}
	}
	return out
}

// firstClaims finds the claim that came first among n: its index, or, when several came
// first together (or the history is unknown), their indexes in tied.
func firstClaims(starts []ClaimStart, n int) (first int, tied []int) {
	if len(starts) != n {
		tied = make([]int, n)
		for i := range tied {
			tied[i] = i
		}
		return -1, tied
	}
	age := func(s ClaimStart) int {
		switch {
		case !s.InBase:
			return -1
		case s.Began:
			return s.Depth
		default:
			return math.MaxInt
		}
	}
	oldest := -2
	for _, s := range starts {
		oldest = max(oldest, age(s))
	}
	for i, s := range starts {
		if age(s) == oldest {
			tied = append(tied, i)
		}
	}
	if len(tied) == 1 {
		return tied[0], nil
	}
	return -1, tied
}

// newcomerNote says when a refused newcomer claimed.
func (v RepoView) newcomerNote(p *Policy, s ClaimStart) string {
	switch {
	case v.document(p) == "":
		return "this one was given outside the repository"
	case !s.InBase:
		return "this one is not in the branch's history yet"
	default:
		return "this document claimed it later, in commit " + gitname.Short(s.Commit)
	}
}

// tieNote says why tied claims could not be told apart.
func tieNote(known bool, err error, tied []int, starts []ClaimStart) string {
	all := "both"
	if len(tied) > 2 {
		all = fmt.Sprintf("all %d", len(tied))
	}
	switch {
	case !known:
		return "which came first is not known here"
	case err != nil:
		return "which came first could not be read from Git: " + strictyaml.SingleLine(err.Error())
	}
	s := starts[tied[0]]
	switch {
	case !s.InBase:
		return "none of them is in the branch's history yet"
	case s.Began:
		return all + " claimed it in commit " + gitname.Short(s.Commit)
	default:
		return fmt.Sprintf("%s claimed it before the last %d commits, the most the check reads", all, s.Bound)
	}
}

// normalPath is a replica path in its normal spelling, or as written when it does not parse.
func normalPath(p string) string {
	if parsed, err := ParsePath(p); err == nil {
		return parsed.String()
	}
	return p
}
