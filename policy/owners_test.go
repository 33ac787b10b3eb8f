package policy

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// TestForbiddenTarget is the path rule of docs/design.md §4: Git's and CI's configuration is
// refused at any depth and in any letter case; look-alikes are not.
func TestForbiddenTarget(t *testing.T) {
	tests := []struct {
		file, want string
	}{
		{".github/workflows/deploy.yml", ".github/"},
		{".GitHub/workflows/deploy.yml", ".GitHub/"},
		{".github/dependabot.yml", ".github/"},
		{".gitlab-ci.yml", ".gitlab-ci.yml"},
		{"ci/.gitlab-ci.yml", ".gitlab-ci.yml"},
		{".gitlab/ci/build.yml", ".gitlab/"},
		{".gitmodules", ".gitmodules"},
		{"apps/.gitattributes", ".gitattributes"},
		{".gitea/workflows/a.yaml", ".gitea/"},
		{"Jenkinsfile", "Jenkinsfile"},
		{"apps/web/jenkinsfile", "jenkinsfile"},
		{"Jenkinsfile.release", "Jenkinsfile.release"},
		{"ci/deploy.Jenkinsfile", "deploy.Jenkinsfile"},
		{".circleci/config.yml", ".circleci/"},
		{"azure-pipelines.yml", "azure-pipelines.yml"},
		{"pipelines/azure-pipelines.yaml", "azure-pipelines.yaml"},
		{".azure-pipelines/build.yml", ".azure-pipelines/"},
		{".drone.yml", ".drone.yml"},
		{".buildkite/pipeline.yml", ".buildkite/"},
		{"bitbucket-pipelines.yml", "bitbucket-pipelines.yml"},
		{".travis.yml", ".travis.yml"},
		{"cloudbuild.yaml", "cloudbuild.yaml"},
		{".tekton/pipeline.yaml", ".tekton/"},
		{".woodpecker/build.yml", ".woodpecker/"},
		{"CODEOWNERS", "CODEOWNERS"},
		{"docs/CODEOWNERS", "CODEOWNERS"},
		{"OWNERS", "OWNERS"},
		{".pre-commit-config.yaml", ".pre-commit-config.yaml"},
		{"renovate.json", "renovate.json"},
		// Not forbidden: the names of ordinary values files, and look-alikes.
		{"apps/web/values.yaml", ""},
		{"github/values.yaml", ""},
		{"gitops/envs/prod/values.yaml", ""},
		{"apps/jenkins/values.yaml", ""},
		{"apps/circleci/values.yaml", ""},
		{"apps/owners/values.yaml", ""},
		{"apps/web/Jenkinsfile-values.yaml", ""},
		{"charts/drone/values.yaml", ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			assert.Equal(t, tt.want, ForbiddenTarget(tt.file))
		})
	}
}

// TestForbiddenTargetsAreInvalidDocuments: a policy that writes Git or CI configuration is an
// invalid document, whoever loads it, named at its spec.replicas.file.
func TestForbiddenTargetsAreInvalidDocuments(t *testing.T) {
	doc := strings.Replace(teamPolicy("shop", "web"), "envs/prod/shop/web/values.yaml", ".github/workflows/ci.yml", 1)
	_, err := LoadPolicies("p.yaml", []byte(doc))
	require.Error(t, err)
	assert.Equal(t, "p.yaml:6: spec.replicas.file: .github/workflows/ci.yml is Git or CI configuration (.github/): a policy may never write it", err.Error())
}

// TestAutoscalerKind finds a document of ours in a target file, whatever else the file holds,
// and nothing where there is none.
func TestAutoscalerKind(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		kind     string
		kindLine int
	}{
		{name: "a policy", data: teamPolicy("shop", "web"), kind: KindPolicy, kindLine: 2},
		{name: "the config", data: "apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: AutoscalerConfig\n", kind: KindConfig, kindLine: 2},
		{name: "second document", data: "kind: Deployment\nspec: {replicas: 2}\n---\n# the policy\nkind: PrometheusAutoscaler\n", kind: KindPolicy, kindLine: 5},
		{name: "after a document that does not parse", data: "a: [\n---\nkind: PrometheusAutoscaler\n", kind: KindPolicy, kindLine: 3},
		{name: "values", data: "web:\n  replicaCount: 3\n"},
		{name: "the word in a comment", data: "# scaled by a PrometheusAutoscaler\nreplicas: 2\n"},
		{name: "the word as a value", data: "kinds: [PrometheusAutoscaler]\nreplicas: 2\n"},
		{name: "a nested kind", data: "template:\n  kind: PrometheusAutoscaler\nreplicas: 2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, line := AutoscalerKind([]byte(tt.data))
			assert.Equal(t, tt.kind, kind)
			assert.Equal(t, tt.kindLine, line)
		})
	}
}

// claimTable is a ClaimHistory that answers from a table: where each policy's claim began, by
// kind and ID@file. It counts its calls: only conflicting claims are asked about.
type claimTable struct {
	starts map[string]ClaimStart
	err    error
	asked  int
}

func (h *claimTable) ClaimStarts(kind ClaimKind, ps []*Policy) ([]ClaimStart, error) {
	h.asked++
	if h.err != nil {
		return nil, h.err
	}
	out := make([]ClaimStart, len(ps))
	for i, p := range ps {
		out[i] = h.starts[fmt.Sprintf("%d:%s@%s", kind, p.ID(), p.Source.File)]
	}
	return out, nil
}

// began is a claim that began depth commits below the base.
func began(depth int) ClaimStart {
	return ClaimStart{InBase: true, Began: true, Depth: depth, Commit: fmt.Sprintf("%012d", depth) + strings.Repeat("f", 28)}
}

// beforeAll is a claim the walk never saw begin.
var beforeAll = ClaimStart{InBase: true}

// TestCheckRepoSet pins the set rules of docs/design.md §4 one by one: owners, what no policy
// may write, and the claims settled by Git history.
func TestCheckRepoSet(t *testing.T) {
	type doc struct{ file, ns, name, target, path string }
	load := func(t *testing.T, d doc) *Policy {
		t.Helper()
		text := strings.NewReplacer(fmt.Sprintf("envs/prod/%s/%s/values.yaml", d.ns, d.name), d.target, "path: replicaCount", "path: '"+d.path+"'").
			Replace(teamPolicy(d.ns, d.name))
		ps, err := LoadPolicies(d.file, []byte(text))
		require.NoError(t, err)
		return ps[0]
	}
	rc := &svcconfig.Repository{Name: "shared", Policies: []string{"teams/**/*.yaml"}}
	owned := &svcconfig.Repository{Name: "shared", Policies: []string{"teams/**/*.yaml"}, Owners: []svcconfig.Owner{
		{Policies: "teams/a/**", Targets: []string{"apps/a/**"}},
		{Policies: "teams/b/**", Targets: []string{"apps/b/**"}},
		{Policies: "teams/b/shared/**", Targets: []string{"apps/shared/*.yaml", "apps/common.yaml"}},
	}}
	aWeb := doc{"teams/a/web.yaml", "a", "web", "apps/a/values.yaml", "web.replicas"}
	bWeb := doc{"teams/b/web.yaml", "b", "web", "apps/b/values.yaml", "web.replicas"}
	node := func(line, col int) func(p *Policy) (ResolvedTarget, bool) {
		return func(p *Policy) (ResolvedTarget, bool) { return ResolvedTarget{Line: line, Column: col}, true }
	}
	tests := []struct {
		name    string
		docs    []doc
		repo    *svcconfig.Repository
		outside map[string]bool // files given outside the repository
		target  func(p *Policy) (ResolvedTarget, bool)
		history *claimTable
		wantOK  []string
		wantBad map[string]string // ID@file → error
		asked   int
	}{
		{name: "owners allow each team its own files", repo: owned, docs: []doc{aWeb, bWeb}, wantOK: []string{"a/web", "b/web"}},
		{name: "another team's file", repo: owned, docs: []doc{{"teams/a/w.yaml", "a", "w", "apps/b/values.yaml", "worker.replicas"}},
			wantBad: map[string]string{"a/w@teams/a/w.yaml": "teams/a/w.yaml:6: spec.replicas.file: apps/b/values.yaml is not a target of the policies in teams/a/w.yaml: " +
				"repository shared's owners let them write apps/a/** (owners[0])"}},
		{name: "the entries that cover a document add up", repo: owned, wantOK: []string{"b/x", "b/y"}, docs: []doc{
			{"teams/b/shared/x.yaml", "b", "x", "apps/shared/x.yaml", "r"}, {"teams/b/shared/y.yaml", "b", "y", "apps/b/y.yaml", "r"}}},
		{name: "every entry that covers it is named", repo: owned, docs: []doc{{"teams/b/shared/x.yaml", "b", "x", "apps/a/x.yaml", "r"}},
			wantBad: map[string]string{"b/x@teams/b/shared/x.yaml": "teams/b/shared/x.yaml:6: spec.replicas.file: apps/a/x.yaml is not a target of the policies in teams/b/shared/x.yaml: " +
				"repository shared's owners let them write apps/b/** (owners[1]); apps/shared/*.yaml, apps/common.yaml (owners[2])"}},
		{name: "a document no entry covers", repo: owned, docs: []doc{{"teams/c/web.yaml", "c", "web", "apps/c/values.yaml", "r"}},
			wantBad: map[string]string{"c/web@teams/c/web.yaml": "teams/c/web.yaml:3: metadata: no owners entry of repository shared covers teams/c/web.yaml: " +
				"with owners declared, a policy document must be under one entry's policies"}},
		{name: "a policy given outside the repository is the operator's", repo: owned, outside: map[string]bool{"local/p.yaml": true},
			docs: []doc{{"local/p.yaml", "ops", "p", "apps/b/values.yaml", "worker.replicas"}}, wantOK: []string{"ops/p"}},
		{name: "without owners any file may be written", repo: rc, docs: []doc{{"teams/a/w.yaml", "a", "w", "apps/b/values.yaml", "worker.replicas"}},
			wantOK: []string{"a/w"}},
		{name: "a policy document by the globs, owners or not", repo: owned, docs: []doc{{"teams/a/max.yaml", "a", "max", "teams/a/web.yaml", "spec.maxReplicas"}},
			wantBad: map[string]string{"a/max@teams/a/max.yaml": "teams/a/max.yaml:6: spec.replicas.file: teams/a/web.yaml is a policy document (the repository's policies: teams/**/*.yaml): a policy may never write it"}},
		{name: "a policy document by what it holds", repo: rc, docs: []doc{{"teams/a/max.yaml", "a", "max", "docs/p.yaml", "spec.maxReplicas"}},
			target: func(p *Policy) (ResolvedTarget, bool) {
				return ResolvedTarget{Line: 9, Column: 16, Kind: KindPolicy, KindLine: 2}, true
			},
			wantBad: map[string]string{"a/max@teams/a/max.yaml": "teams/a/max.yaml:6: spec.replicas.file: docs/p.yaml holds a PrometheusAutoscaler (line 2): a policy may never write it"}},
		{name: "the older name keeps it", repo: rc, docs: []doc{{"teams/a/copy.yaml", "b", "web", "apps/a/other.yaml", "r"}, bWeb},
			history: &claimTable{starts: map[string]ClaimStart{"0:b/web@teams/a/copy.yaml": began(0), "0:b/web@teams/b/web.yaml": beforeAll}},
			wantOK:  []string{"b/web"}, asked: 1,
			wantBad: map[string]string{"b/web@teams/a/copy.yaml": "teams/a/copy.yaml:3: metadata.name: policy b/web is already claimed by teams/b/web.yaml:3, " +
				"first in Git history (this document claimed it later, in commit 000000000000); this one is refused"}},
		{name: "a copy not on the branch yet", repo: rc, docs: []doc{{"teams/a/copy.yaml", "b", "web", "apps/a/other.yaml", "r"}, bWeb},
			history: &claimTable{starts: map[string]ClaimStart{"0:b/web@teams/b/web.yaml": beforeAll}}, wantOK: []string{"b/web"}, asked: 1,
			wantBad: map[string]string{"b/web@teams/a/copy.yaml": "teams/a/copy.yaml:3: metadata.name: policy b/web is already claimed by teams/b/web.yaml:3, " +
				"first in Git history (this one is not in the branch's history yet); this one is refused"}},
		{name: "the older value keeps it, however it is spelled", repo: rc, target: node(3, 15), asked: 1,
			docs:    []doc{bWeb, {"teams/a/first.yaml", "a", "first", "./apps/b/values.yaml", "workers[0].replicas"}},
			history: &claimTable{starts: map[string]ClaimStart{"1:b/web@teams/b/web.yaml": beforeAll, "1:a/first@teams/a/first.yaml": began(2)}},
			wantOK:  []string{"b/web"},
			wantBad: map[string]string{"a/first@teams/a/first.yaml": "teams/a/first.yaml:6: spec.replicas.path: the value it writes (apps/b/values.yaml line 3, column 15) " +
				"is already claimed by policy b/web (teams/b/web.yaml:6), first in Git history (this document claimed it later, in commit 000000000002); this one is refused"}},
		{name: "a tie refuses both", repo: rc, target: node(3, 15), asked: 1,
			docs:    []doc{bWeb, {"teams/a/first.yaml", "a", "first", "apps/b/values.yaml", "workers[0].replicas"}},
			history: &claimTable{starts: map[string]ClaimStart{"1:b/web@teams/b/web.yaml": began(4), "1:a/first@teams/a/first.yaml": began(4)}},
			wantBad: map[string]string{
				"b/web@teams/b/web.yaml": "teams/b/web.yaml:6: spec.replicas.path: the value it writes (apps/b/values.yaml line 3, column 15) is claimed by policy a/first (teams/a/first.yaml:6) too, " +
					"and both claimed it in commit 000000000004: neither is evaluated until one gives it up",
				"a/first@teams/a/first.yaml": "teams/a/first.yaml:6: spec.replicas.path: the value it writes (apps/b/values.yaml line 3, column 15) is claimed by policy b/web (teams/b/web.yaml:6) too, " +
					"and both claimed it in commit 000000000004: neither is evaluated until one gives it up",
			}},
		{name: "older than the walk reads", repo: rc, docs: []doc{bWeb, {"teams/b/twin.yaml", "b", "web", "apps/b/twin.yaml", "r"}}, asked: 1,
			history: &claimTable{starts: map[string]ClaimStart{"0:b/web@teams/b/web.yaml": {InBase: true, Bound: 5000}, "0:b/web@teams/b/twin.yaml": {InBase: true, Bound: 5000}}},
			wantBad: map[string]string{
				"b/web@teams/b/web.yaml": "teams/b/web.yaml:3: metadata.name: policy b/web is claimed by teams/b/twin.yaml:3 too, and both claimed it before the last 5000 commits, " +
					"the most the check reads: neither is evaluated until one gives it up",
				"b/web@teams/b/twin.yaml": "teams/b/twin.yaml:3: metadata.name: policy b/web is claimed by teams/b/web.yaml:3 too, and both claimed it before the last 5000 commits, " +
					"the most the check reads: neither is evaluated until one gives it up",
			}},
		{name: "history that cannot be read refuses both", repo: rc, docs: []doc{bWeb, {"teams/b/twin.yaml", "b", "web", "apps/b/twin.yaml", "r"}}, asked: 1,
			history: &claimTable{err: errors.New("object not found\nagain")},
			wantBad: map[string]string{
				"b/web@teams/b/web.yaml": "teams/b/web.yaml:3: metadata.name: policy b/web is claimed by teams/b/twin.yaml:3 too, and which came first could not be read from Git: " +
					"object not found again: neither is evaluated until one gives it up",
				"b/web@teams/b/twin.yaml": "teams/b/twin.yaml:3: metadata.name: policy b/web is claimed by teams/b/web.yaml:3 too, and which came first could not be read from Git: " +
					"object not found again: neither is evaluated until one gives it up",
			}},
		{name: "three claims: the oldest keeps it", repo: rc, target: node(2, 13), asked: 1, wantOK: []string{"c/z"},
			docs:    []doc{{"teams/a/x.yaml", "a", "x", "apps/v.yaml", "r"}, {"teams/b/y.yaml", "b", "y", "apps/v.yaml", "r"}, {"teams/c/z.yaml", "c", "z", "apps/v.yaml", "r"}},
			history: &claimTable{starts: map[string]ClaimStart{"1:a/x@teams/a/x.yaml": began(0), "1:b/y@teams/b/y.yaml": began(1), "1:c/z@teams/c/z.yaml": beforeAll}},
			wantBad: map[string]string{
				"a/x@teams/a/x.yaml": "teams/a/x.yaml:6: spec.replicas.path: the value it writes (apps/v.yaml line 2, column 13) is already claimed by policy c/z (teams/c/z.yaml:6), " +
					"first in Git history (this document claimed it later, in commit 000000000000); this one is refused",
				"b/y@teams/b/y.yaml": "teams/b/y.yaml:6: spec.replicas.path: the value it writes (apps/v.yaml line 2, column 13) is already claimed by policy c/z (teams/c/z.yaml:6), " +
					"first in Git history (this document claimed it later, in commit 000000000001); this one is refused",
			}},
		{name: "a policy refused for its name claims no value", repo: rc, target: node(2, 13), asked: 1, wantOK: []string{"b/web", "a/web"},
			// The copy keeps b/web's name and writes a's value: refused for the name, it does
			// not stop a/web, which no one else claims.
			docs:    []doc{bWeb, {"teams/a/copy.yaml", "b", "web", "apps/a/values.yaml", "web.replicas"}, {"teams/a/web.yaml", "a", "web", "apps/a/values.yaml", "web.replicas"}},
			history: &claimTable{starts: map[string]ClaimStart{"0:b/web@teams/b/web.yaml": beforeAll, "0:b/web@teams/a/copy.yaml": began(0)}},
			wantBad: map[string]string{"b/web@teams/a/copy.yaml": "teams/a/copy.yaml:3: metadata.name: policy b/web is already claimed by teams/b/web.yaml:3, " +
				"first in Git history (this document claimed it later, in commit 000000000000); this one is refused"}},
		{name: "a policy refused by owners claims nothing", repo: owned, asked: 0, wantOK: []string{"b/web"},
			docs: []doc{bWeb, {"teams/a/copy.yaml", "b", "web", "apps/b/values.yaml", "web.replicas"}}, history: &claimTable{},
			wantBad: map[string]string{"b/web@teams/a/copy.yaml": "teams/a/copy.yaml:6: spec.replicas.file: apps/b/values.yaml is not a target of the policies in teams/a/copy.yaml: " +
				"repository shared's owners let them write apps/a/** (owners[0])"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []*Policy
			for _, d := range tt.docs {
				ps = append(ps, load(t, d))
			}
			view := RepoView{Repository: tt.repo, Target: tt.target, Document: func(p *Policy) string {
				if tt.outside[p.Source.File] {
					return ""
				}
				return p.Source.File
			}}
			if tt.history != nil {
				view.History = tt.history
			}
			ok, bad := CheckRepoSet(&svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{{Name: "default"}}}, ps, view)
			got := map[string]string{}
			for _, iv := range bad {
				got[iv.Policy+"@"+iv.File] = iv.Error()
			}
			assert.Equal(t, tt.wantOK, nilIfNoIDs(ids(ok)))
			assert.Equal(t, tt.wantBad, nilIfNone(got))
			if tt.history != nil {
				assert.Equal(t, tt.asked, tt.history.asked, "history is asked only about conflicts")
			}
		})
	}
}

func nilIfNoIDs(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	return ids
}

func nilIfNone(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// FuzzOwnersGlob holds MatchGlob, the glob of owners and policies, to a plain recursive
// matcher of the documented semantics (each element as path.Match, `**` any number of
// directories, none included), and checks that no pattern matches a path that leaves the
// repository or that it does not share an anchor with.
func FuzzOwnersGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"teams/a/**", "teams/a/web.yaml"}, {"apps/**/values.yaml", "apps/values.yaml"}, {"**", "a/b/c"},
		{"apps/*/values.yaml", "apps/a/b/values.yaml"}, {"a/**/b/**/c", "a/x/b/y/z/c"}, {"[a-", "a"},
		{"apps/a/**", "apps/ab/values.yaml"}, {"**/**", ""}, {"a\\*", "a*"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if len(pattern) > 64 || len(name) > 64 {
			return
		}
		got := svcconfig.MatchGlob(pattern, name)
		if want := naiveGlob(strings.Split(pattern, "/"), strings.Split(name, "/")); got != want {
			t.Fatalf("MatchGlob(%q, %q) = %v, the semantics say %v", pattern, name, got, want)
		}
		if got && svcconfig.ValidateGlob(pattern) == nil && !strings.Contains(pattern, "**") &&
			strings.Count(pattern, "/") != strings.Count(name, "/") {
			t.Fatalf("%q matched %q across directories without **", pattern, name)
		}
		// A pattern whose first element is literal matches only under that directory.
		first, _, _ := strings.Cut(pattern, "/")
		if got && first != "**" && !strings.ContainsAny(first, `*?[\`) {
			if nf, _, _ := strings.Cut(name, "/"); nf != first {
				t.Fatalf("%q matched %q outside %s/", pattern, name, first)
			}
		}
	})
}

// naiveGlob is the semantics MatchGlob documents, written as plainly as possible.
func naiveGlob(pats, parts []string) bool {
	if len(pats) == 0 {
		return len(parts) == 0
	}
	if pats[0] == "**" {
		for i := 0; i <= len(parts); i++ {
			if naiveGlob(pats[1:], parts[i:]) {
				return true
			}
		}
		return false
	}
	if len(parts) == 0 {
		return false
	}
	ok, err := path.Match(pats[0], parts[0])
	return err == nil && ok && naiveGlob(pats[1:], parts[1:])
}

// BenchmarkCheckRepoSet1000 is the set check of a 1,000-policy repository without a conflict,
// the loop's case every cycle: owners, what no policy may write, and the claims grouped.
func BenchmarkCheckRepoSet1000(b *testing.B) {
	var ps []*Policy
	for i := range 1000 {
		team := fmt.Sprintf("team-%02d", i%50)
		doc := strings.Replace(teamPolicy(team, fmt.Sprintf("app-%04d", i)), "envs/prod/", "apps/", 1)
		loaded, err := LoadPolicies(fmt.Sprintf("teams/%s/app-%04d.yaml", team, i), []byte(doc))
		require.NoError(b, err)
		ps = append(ps, loaded...)
	}
	rc := &svcconfig.Repository{Name: "shared", Policies: []string{"teams/**/*.yaml"}}
	for t := range 50 {
		team := fmt.Sprintf("team-%02d", t)
		rc.Owners = append(rc.Owners, svcconfig.Owner{Policies: "teams/" + team + "/**", Targets: []string{"apps/" + team + "/**"}})
	}
	view := RepoView{Repository: rc, History: &claimTable{},
		Target: func(p *Policy) (ResolvedTarget, bool) { return ResolvedTarget{Line: 1, Column: 15}, true }}
	cfg := &svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{{Name: "default"}}}
	b.ReportAllocs()
	for b.Loop() {
		ok, bad := CheckRepoSet(cfg, ps, view)
		if len(ok) != 1000 || len(bad) != 0 {
			b.Fatalf("%d ok, %d refused: %v", len(ok), len(bad), bad)
		}
	}
}
