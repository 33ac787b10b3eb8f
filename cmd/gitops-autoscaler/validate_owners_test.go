package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// teamDoc is a policy of namespace ns named name that writes file at path; metadata.name is on
// line 3, spec.replicas on line 6.
func teamDoc(ns, name, file, path string) string {
	return fmt.Sprintf(`apiVersion: autoscaler.gitops.dev/v1alpha1
kind: PrometheusAutoscaler
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  targetRef: {kind: Deployment, name: %[1]s}
  replicas: {file: %[3]s, path: '%[4]s'}
  maxReplicas: 10
  metrics:
    - name: rps
      promQL: sum(rate(http_requests_total[2m]))
      target: {type: AverageValue, averageValue: 100}
`, name, ns, file, path)
}

// ownersConfig is a config of the repository "shared"; extra is appended to its entry.
func ownersConfig(extra string) string {
	return `apiVersion: autoscaler.gitops.dev/v1alpha1
kind: AutoscalerConfig
repositories:
  - name: shared
    url: https://github.com/acme/shared-gitops.git
    policies: ["teams/**/*.yaml"]
` + extra + `prometheus:
  - {name: default, url: "http://prometheus.monitoring:9090"}
`
}

const teamOwners = `    owners:
      - {policies: "teams/a/**", targets: ["apps/a/**"]}
      - {policies: "teams/b/**", targets: ["apps/b/**"]}
`

// TestValidateRepoOwnership: `validate --repo` reports what the loop refuses across the
// repository, each with file:line and field, reading which claim came first from the history
// of the checkout's HEAD: a copy not committed yet is the newcomer.
func TestValidateRepoOwnership(t *testing.T) {
	base := map[string]string{
		"teams/a/web.yaml":    teamDoc("a", "web", "apps/a/values.yaml", "web.replicas"),
		"teams/b/web.yaml":    teamDoc("b", "web", "apps/b/values.yaml", "web.replicas"),
		"apps/a/values.yaml":  "web:\n  replicas: 2\n",
		"apps/a/other.yaml":   "r: 1\n",                // written by the copies the cases add
		"apps/c/values.yaml":  "web:\n  replicas: 2\n", // validate --repo also checks that replicas.file exists
		"apps/x.yaml":         "r: 1\n",
		"apps/b/values.yaml":  "web:\n  replicas: 2\nworkers:\n  - name: mail\n    replicas: 2\n",
		"deploy/config.yaml":  ownersConfig(""),
		"docs/example.yaml":   teamDoc("x", "example", "apps/x.yaml", "r"),
		".gitlab-ci.yml":      "test:\n  parallel: 2\n",
		"teams/README.md":     "policies by team\n",
		"apps/b/workers.yaml": "workers:\n  - name: mail\n    replicas: 2\n",
	}
	tests := []struct {
		name      string
		config    string
		committed map[string]string // pushed after the initial commit, in one commit
		written   map[string]string // in the checkout only
		flags     []string          // before --repo
		args      []string          // after --repo {dir} {config}; default: {dir}/teams
		wantCode  int
		want      []string // stderr lines; {dir} is the checkout, {commit} the committed commit's sha
	}{
		{name: "the repository as it is", config: ownersConfig(teamOwners), wantCode: exitOK},
		{name: "another team's file", config: ownersConfig(teamOwners),
			written:  map[string]string{"teams/a/mail.yaml": teamDoc("a", "mail", "apps/b/values.yaml", "workers[0].replicas")},
			wantCode: exitUsage, want: []string{
				"{dir}/teams/a/mail.yaml:6: spec.replicas.file: apps/b/values.yaml is not a target of the policies in teams/a/mail.yaml: repository shared's owners let them write apps/a/** (owners[0])",
			}},
		{name: "a document no owners entry covers", config: ownersConfig(teamOwners),
			written:  map[string]string{"teams/c/web.yaml": teamDoc("c", "web", "apps/c/values.yaml", "web.replicas")},
			wantCode: exitUsage, want: []string{
				"{dir}/teams/c/web.yaml:3: metadata: no owners entry of repository shared covers teams/c/web.yaml: with owners declared, a policy document must be under one entry's policies",
			}},
		{name: "what no policy may write", config: ownersConfig(""), written: map[string]string{
			"teams/a/p1.yaml": teamDoc("a", "p1", "teams/b/web.yaml", "spec.maxReplicas"),
			"teams/a/p2.yaml": teamDoc("a", "p2", "deploy/config.yaml", "queryConcurrency"),
			"teams/a/p3.yaml": teamDoc("a", "p3", "docs/example.yaml", "spec.maxReplicas"),
			"teams/a/p4.yaml": teamDoc("a", "p4", ".gitlab-ci.yml", "test.parallel"),
		}, wantCode: exitUsage, want: []string{
			"{dir}/teams/a/p4.yaml:6: spec.replicas.file: .gitlab-ci.yml is Git or CI configuration (.gitlab-ci.yml): a policy may never write it",
			"{dir}/teams/a/p1.yaml:6: spec.replicas.file: teams/b/web.yaml is a policy document (the repository's policies: teams/**/*.yaml): a policy may never write it",
			"{dir}/teams/a/p2.yaml:6: spec.replicas.file: deploy/config.yaml holds an AutoscalerConfig (line 2): a policy may never write it",
			"{dir}/teams/a/p3.yaml:6: spec.replicas.file: docs/example.yaml holds a PrometheusAutoscaler (line 2): a policy may never write it",
		}},
		{name: "a copied name, not committed yet", config: ownersConfig(teamOwners),
			written:  map[string]string{"teams/a/copy.yaml": teamDoc("b", "web", "apps/a/values.yaml", "other.replicas")},
			wantCode: exitUsage, want: []string{
				"{dir}/teams/a/copy.yaml:3: metadata.name: policy b/web is already claimed by {dir}/teams/b/web.yaml:3, first in Git history (this one is not in the branch's history yet); this one is refused",
			}},
		{name: "a copied target, committed", config: ownersConfig(""),
			committed: map[string]string{"teams/a/copy.yaml": teamDoc("a", "copy", "./apps/b/values.yaml", "web.replicas")},
			wantCode:  exitUsage, want: []string{
				"{dir}/teams/a/copy.yaml:6: spec.replicas.path: the value it writes (apps/b/values.yaml line 2, column 13) is already claimed by policy b/web ({dir}/teams/b/web.yaml:6), first in Git history (this document claimed it later, in commit {commit}); this one is refused",
			}},
		{name: "two spellings in one commit", config: ownersConfig(""),
			committed: map[string]string{
				"teams/b/mail.yaml":  teamDoc("b", "mail", "apps/b/workers.yaml", "workers[name=mail].replicas"),
				"teams/b/first.yaml": teamDoc("b", "first", "apps/b/workers.yaml", "workers[0].replicas"),
			},
			wantCode: exitUsage, want: []string{
				"{dir}/teams/b/first.yaml:6: spec.replicas.path: the value it writes (apps/b/workers.yaml line 3, column 15) is claimed by policy b/mail ({dir}/teams/b/mail.yaml:6) too, and both claimed it in commit {commit}: neither is evaluated until one gives it up",
				"{dir}/teams/b/mail.yaml:6: spec.replicas.path: the value it writes (apps/b/workers.yaml line 3, column 15) is claimed by policy b/first ({dir}/teams/b/first.yaml:6) too, and both claimed it in commit {commit}: neither is evaluated until one gives it up",
			}},
		{name: "only one document given, the repository's are weighed too", config: ownersConfig(""),
			written: map[string]string{"teams/a/copy.yaml": teamDoc("b", "web", "apps/a/other.yaml", "r")},
			args:    []string{"{dir}/teams/a/copy.yaml"}, wantCode: exitUsage, want: []string{
				"{dir}/teams/a/copy.yaml:3: metadata.name: policy b/web is already claimed by {dir}/teams/b/web.yaml:3, first in Git history (this one is not in the branch's history yet); this one is refused",
			}},
		{name: "CODEOWNERS without owners", config: ownersConfig(""), written: map[string]string{".github/CODEOWNERS": "/teams/a/ @acme/a\n"},
			wantCode: exitOK, want: []string{
				"{config}:4: warning: repositories[0].owners: {dir} has .github/CODEOWNERS, but repository shared declares no owners: every policy may write any file no rule forbids; declare which policies may write which files (docs/design.md §4)",
			}},
		{name: "several repositories: the one the documents are under", wantCode: exitUsage,
			config:  strings.Replace(ownersConfig(teamOwners), "repositories:\n", "repositories:\n  - {name: other, url: 'https://github.com/acme/other.git', policies: [autoscaling/*.yaml]}\n", 1),
			written: map[string]string{"teams/a/mail.yaml": teamDoc("a", "mail", "apps/b/values.yaml", "workers[0].replicas")},
			want: []string{
				"{dir}/teams/a/mail.yaml:6: spec.replicas.file: apps/b/values.yaml is not a target of the policies in teams/a/mail.yaml: repository shared's owners let them write apps/a/** (owners[0])",
			}},
		{name: "several repositories, none told", wantCode: exitUsage, args: []string{"{dir}/docs/example.yaml"},
			config: strings.Replace(ownersConfig(""), "repositories:\n", "repositories:\n  - {name: other, url: 'https://github.com/acme/other.git'}\n", 1),
			want:   []string{"error: --repo with {config}, which has several repositories (other, shared): name the one {dir} is a checkout of with --repository NAME"}},
		{name: "--repository names it", wantCode: exitOK, flags: []string{"--repository", "shared"}, args: []string{"{dir}/docs/example.yaml"},
			config: strings.Replace(ownersConfig(""), "repositories:\n", "repositories:\n  - {name: other, url: 'https://github.com/acme/other.git'}\n", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := gittest.NewServer(t)
			s.CreateRepo("shared", base)
			commit := ""
			if tt.committed != nil {
				commit = s.Commit("shared", tt.committed, "new policies", "Team A <a@example.com>")
			}
			dir := s.Clone("shared")
			for name, body := range tt.written {
				p := filepath.Join(dir, filepath.FromSlash(name))
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
			}
			config := filepath.Join(t.TempDir(), "config.yaml")
			require.NoError(t, os.WriteFile(config, []byte(tt.config), 0o644))
			expand := strings.NewReplacer("{dir}", dir, "{config}", config, "{commit}", gitname.Short(commit))
			args := append(append([]string{"validate"}, tt.flags...), "--repo", dir, config)
			if tt.args == nil {
				tt.args = []string{"{dir}/teams"}
			}
			for _, a := range tt.args {
				args = append(args, expand.Replace(a))
			}

			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)

			assert.Equal(t, tt.wantCode, code, "stderr: %s", stderr.String())
			want := ""
			for _, line := range tt.want {
				want += expand.Replace(line) + "\n"
			}
			assert.Equal(t, want, stderr.String())
		})
	}
}
