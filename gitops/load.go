package gitops

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// policySet is a repository's policies as a cycle sees them: those to evaluate, and the
// documents that could not be — invalid, or refused by a set-level check.
type policySet struct {
	// policies are the valid ones the options select, sorted by ID.
	policies []*policy.Policy
	// invalid are every invalid document of the shard; named those of them the options
	// select (all of them when the options select all).
	invalid, named []policy.Invalid
}

// noPolicy says a repository carries no policy of a name; errors.Is matches it with
// ErrUnknownPolicy, so that a caller trying several repositories goes on to the next.
type noPolicy struct{ name, repo string }

func (e noPolicy) Error() string { return fmt.Sprintf("no policy %q in repository %s", e.name, e.repo) }

func (noPolicy) Is(target error) bool { return target == ErrUnknownPolicy }

// one is the single policy a command names, or why there is none.
func (s policySet) one(cmd, name, repo string) (*policy.Policy, error) {
	if len(s.named) > 0 {
		return nil, fmt.Errorf("%s: policy %q is invalid: %w", cmd, name, s.named[0])
	}
	if len(s.policies) != 1 {
		return nil, fmt.Errorf("%s: %w", cmd, noPolicy{name: name, repo: repo})
	}
	return s.policies[0], nil
}

// parsedFiles is what a repository's files held the last time they were read, by path: the
// policy documents and the replica counts. A file is read and parsed again only when its
// content (gitrepo's FileID) changed, so a cycle over fifty thousand policies re-reads the
// few files that moved since the last one.
type parsedFiles struct {
	docs    map[string]parsedDoc
	targets map[string]parsedTarget // by file and path
}

type parsedDoc struct {
	id       string
	policies []*policy.Policy
	invalid  []policy.Invalid
}

type parsedTarget struct {
	id       string
	data     []byte
	current  int
	resolved resolvedTarget
}

// parsedFiles is what was read of the files of the workspace at root.
func (r *Runner) parsedFiles(root string) *parsedFiles {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.parsed == nil {
		r.parsed = map[string]*parsedFiles{}
	}
	pf, ok := r.parsed[root]
	if !ok {
		pf = &parsedFiles{docs: map[string]parsedDoc{}, targets: map[string]parsedTarget{}}
		r.parsed[root] = pf
	}
	return pf
}

// Policies are a repository's policies as a cycle of shard (of shards) loads them from the
// synced workspace (Synced): the valid ones, sorted by ID, and the documents that could not
// be evaluated, with where and why. Before the repository's first sync it returns an error.
func (r *Runner) Policies(repo Repo, shard, shards int) (valid []*policy.Policy, invalid []policy.Invalid, err error) {
	ws := r.Synced(repo.Config.Name)
	if ws == nil {
		return nil, nil, fmt.Errorf("policies of %s: the repository is not synced yet", repo.Config.Name)
	}
	set, err := r.policies(ws, repo, CycleOptions{Shard: shard, Shards: shards})
	return set.policies, set.invalid, err
}

// policies loads the repository's policies (its globs, in the synced worktree) plus those given
// for it, checks them as a set, and filters them by the options. An invalid document fails
// only its own policies, and a set-level conflict only the policies involved: they come back
// as Invalid, and the others are evaluated. Only failing to list the files is an error.
func (r *Runner) policies(ws *gitrepo.Workspace, repo Repo, opts CycleOptions) (policySet, error) {
	var all []*policy.Policy
	var invalid []policy.Invalid
	if len(repo.Config.Policies) > 0 {
		found, bad, err := r.loadRepoPolicies(ws, repo.Config)
		if err != nil {
			return policySet{}, fmt.Errorf("policies of %s: %w", repo.Config.Name, err)
		}
		all, invalid = found, bad
	}
	all = append(all, repo.Policies...)
	all, refused := r.checkSet(ws, repo, all)
	invalid = append(invalid, refused...)

	var set policySet
	for _, iv := range invalid {
		// A document without a legible name falls to a shard by its file, so that exactly
		// one instance reports it.
		key := iv.Policy
		if key == "" {
			key = iv.File
		}
		if !InShard(key, opts.Shard, opts.Shards) {
			continue
		}
		set.invalid = append(set.invalid, iv)
		if len(opts.Only) == 0 || (iv.Policy != "" && selectedID(iv.Policy, opts.Only)) {
			set.named = append(set.named, iv)
		}
	}
	for _, p := range all {
		if selected(p, opts.Only) && InShard(p.ID(), opts.Shard, opts.Shards) {
			set.policies = append(set.policies, p)
		}
	}
	for _, name := range opts.Only {
		if !anySelected(set.policies, name) && !anyInvalid(set.named, name) {
			return policySet{}, noPolicy{name: name, repo: repo.Config.Name}
		}
	}
	sort.Slice(set.policies, func(i, j int) bool { return set.policies[i].ID() < set.policies[j].ID() })
	return set, nil
}

// loadRepoPolicies loads every policy document under the repository's policy globs, each
// file isolated from the others and each document from its neighbours. Files whose content
// did not change since the last load are not read again.
func (r *Runner) loadRepoPolicies(ws *gitrepo.Workspace, rc svcconfig.Repository) ([]*policy.Policy, []policy.Invalid, error) {
	files, err := ws.Files(func(rel string) bool {
		for _, g := range rc.Policies {
			if svcconfig.MatchGlob(g, rel) {
				return true
			}
		}
		return false
	})
	if err != nil {
		return nil, nil, fmt.Errorf("find policies: %w", err)
	}
	pf := r.parsedFiles(ws.Root())
	seen := make(map[string]bool, len(files))
	var out []*policy.Policy
	var invalid []policy.Invalid
	for _, rel := range files {
		seen[rel] = true
		id, _ := ws.FileID(rel)
		doc, ok := pf.docs[rel]
		if !ok || id == "" || doc.id != id {
			doc = parsedDoc{id: id}
			data, err := ws.ReadFile(rel)
			if err != nil {
				doc.invalid = []policy.Invalid{{File: rel, Repository: rc.Name, Err: err}}
			} else {
				doc.policies, doc.invalid = policy.LoadEach(rel, data)
				for _, p := range doc.policies {
					p.Source.Repository = rc.Name
				}
				for i := range doc.invalid {
					doc.invalid[i].Repository = rc.Name
				}
			}
			pf.docs[rel] = doc
		}
		out = append(out, doc.policies...)
		invalid = append(invalid, doc.invalid...)
	}
	for rel := range pf.docs {
		if !seen[rel] {
			delete(pf.docs, rel)
		}
	}
	return out, invalid, nil
}

// readTarget reads the replica count the policy's target holds in the worktree. A file
// unchanged since it was last read is not read again.
func (r *Runner) readTarget(ws *gitrepo.Workspace, p *policy.Policy) (target, error) {
	if p.Spec.Replicas == nil {
		return target{}, fmt.Errorf("%s: %s: spec.replicas is not set: evaluate needs to know where the count lives", where(p, "spec"), p.ID())
	}
	t := target{loc: *p.Spec.Replicas}
	pf := r.parsedFiles(ws.Root())
	key := commitmsg.Target(t.loc)
	id, known := ws.FileID(t.loc.File)
	if c, ok := pf.targets[key]; ok && known && c.id == id {
		t.data, t.current, t.resolved = c.data, c.current, c.resolved
		return t, nil
	}
	var err error
	if t.data, err = ws.ReadFile(t.loc.File); err != nil {
		return t, fmt.Errorf("%s: spec.replicas.file: %w", where(p, "spec.replicas.file"), err)
	}
	if t.resolved, err = resolveTarget(t.data, t.loc); err != nil {
		return t, fmt.Errorf("%s: spec.replicas.path: %s: %w", where(p, "spec.replicas.path"), t.loc.File, err)
	}
	t.current = t.resolved.node.Value
	if known {
		pf.targets[key] = parsedTarget{id: id, data: t.data, current: t.current, resolved: t.resolved}
	}
	return t, nil
}

// where is "file:line" of a policy's field, for errors about what the field names: evaluate
// never reports a target it cannot read without the document, line and field that named it.
func where(p *policy.Policy, field string) string {
	if line := p.Source.LineOf(field); line > 0 {
		return fmt.Sprintf("%s:%d", p.Source.File, line)
	}
	return p.Source.File
}

// invalidResult is an invalid document's result: an error naming where it is.
func invalidResult(repo string, iv policy.Invalid, at time.Time) Result {
	return Result{Policy: iv.Policy, Repository: repo, Action: ActionError, Error: iv.Error(), Invalid: iv.Where(),
		EvaluatedAt: at, Reasons: []engine.Reason{}}
}

func selected(p *policy.Policy, only []string) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		if o == p.ID() || o == p.Metadata.Name {
			return true
		}
	}
	return false
}

// selectedID is selected for a policy known only by its ID (namespace/name).
func selectedID(id string, only []string) bool {
	_, name, ok := strings.Cut(id, "/")
	if !ok {
		name = id
	}
	for _, o := range only {
		if o == id || o == name {
			return true
		}
	}
	return false
}

func anySelected(ps []*policy.Policy, name string) bool {
	for _, p := range ps {
		if selected(p, []string{name}) {
			return true
		}
	}
	return false
}

func anyInvalid(ivs []policy.Invalid, name string) bool {
	for _, iv := range ivs {
		if iv.Policy != "" && selectedID(iv.Policy, []string{name}) {
			return true
		}
	}
	return false
}
