package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
)

// TestExitCodesTellTheTruth is item 2 of issue 21: a job that reads only the exit code tells
// "every policy decided" (0) from "a policy errored" (1), "invalid input" (2) and "some
// policies held blind" (3), and the JSON tells held-blind from unchanged.
func TestExitCodesTellTheTruth(t *testing.T) {
	brokenQuery := strings.Replace(cliWebPolicy, `promQL: sum(rate(http_requests_total{app="web"}[2m]))`,
		`promQL: sum(rate(http_requests_total{app="web"}[2m])`, 1)
	require.NotEqual(t, cliWebPolicy, brokenQuery)
	cases := []struct {
		name    string
		extra   map[string]string // more repository files
		trace   string            // the --metrics-file; cliTrace when empty
		args    []string          // more flags (paths are relative to a temp dir holding files)
		files   map[string]string // files for args
		code    int
		actions map[string]string // policy → action; nil: no results expected
		blind   bool              // web's result names a blind metric
		stderr  string
	}{
		{name: "every policy decided", code: 0,
			actions: map[string]string{"prod/web": gitops.ActionCommitted}},
		{name: "the trace lacks the metric: held blind", trace: "timestamp,metric,value\n2026-11-22T10:59:30Z,other,1\n", code: 3,
			actions: map[string]string{"prod/web": gitops.ActionHeldBlind}, blind: true, stderr: "blind: 1 policy could not see all its metrics"},
		{name: "a repository policy errors, another is blind: 1 wins", trace: "timestamp,metric,value\n2026-11-22T10:59:30Z,other,1\n",
			extra: map[string]string{"policies/api.yaml": strings.Replace(strings.Replace(brokenQuery, "name: web,", "name: api,", 1), "web/values.yaml", "api/values.yaml", 1)},
			code:  1, actions: map[string]string{"prod/web": gitops.ActionHeldBlind, "prod/api": gitops.ActionError}, blind: true},
		{name: "a broken query in --policy-file is invalid input, even with --metrics-file", code: 2,
			args: []string{"--policy-file", "p.yaml"}, files: map[string]string{"p.yaml": strings.Replace(brokenQuery, "name: web,", "name: extra,", 1)},
			stderr: "spec.metrics[0].promQL: parse error at 1:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCLIRepo(t, tc.extra, nil)
			trace := c.trace
			if tc.trace != "" {
				trace = filepath.Join(write(t, map[string]string{"t.csv": tc.trace}), "t.csv")
			}
			args := []string{"evaluate", "--config", c.config, "--metrics-file", trace, "--at", cliAt, "-o", "json"}
			if tc.files != nil {
				dir := write(t, tc.files)
				for i, a := range tc.args {
					if _, ok := tc.files[a]; ok {
						tc.args[i] = filepath.Join(dir, a)
					}
				}
			}
			code, out, errb := runCLI(append(args, tc.args...)...)
			assert.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", out, errb)
			assert.Contains(t, errb, tc.stderr)
			if tc.actions == nil {
				assert.Equal(t, c.initial, c.head(), "invalid input commits nothing")
				return
			}
			got := map[string]string{}
			for _, r := range cliResults(t, out) {
				got[r.Policy] = r.Action
				if r.Policy == "prod/web" {
					if tc.blind {
						require.Len(t, r.Blind, 1, "the JSON names the blind metric")
						assert.True(t, strings.HasPrefix(r.Blind[0], "web_rps: "), r.Blind[0])
						assert.Equal(t, r.From, r.To, "no change while blind")
					} else {
						assert.Empty(t, r.Blind)
					}
				}
			}
			assert.Equal(t, tc.actions, got)
		})
	}
}
