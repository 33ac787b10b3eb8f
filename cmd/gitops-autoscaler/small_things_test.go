package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSmallThings is item 9 of issue 21, the command line's part: each case is one of the
// small things a newcomer met, checked on what the command prints.
func TestSmallThings(t *testing.T) {
	c := newCLIRepo(t, nil, nil)
	cases := []struct {
		name   string
		args   []string
		code   int
		has    []string // substrings of stdout+stderr
		hasNot []string
	}{
		{name: "--version is a flag too", args: []string{"--version"}, code: exitOK, has: []string{"gitops-autoscaler dev\n"}},
		{name: "scale --help: --to is required, with no default -1", args: []string{"scale", "--help"}, code: exitOK,
			has: []string{"--to N", "the replica count N to set (required;", "--hold D", "(default 1h)"}, hasNot: []string{"(default -1)", "1h0m0s"}},
		{name: "history's --policy-file help is its own", args: []string{"history", "--help"}, code: exitOK,
			has: []string{"not committed to the repository yet, whose history"}, hasNot: []string{"evaluated with the repository's own policies"}},
		{name: "scale's --policy-file help is its own", args: []string{"scale", "--help"}, code: exitOK,
			has: []string{"not committed to the repository yet, whose bounds"}, hasNot: []string{"evaluated with the repository's own policies"}},
		{name: "history with nothing in range says so", args: []string{"history", "--config", c.config, "--policy", "web", "--since", "1h"}, code: exitOK,
			has: []string{"no decisions, reverts or manual edits of web since ", "(--since 1h)"}, hasNot: []string{"TIME"}},
		{name: "log lines name the repository", args: []string{"evaluate", "--config", c.config, "--metrics-file", c.trace, "--at", cliAt, "--log-level", "info"},
			code: exitOK, has: []string{`msg="decision committed" repository=platform policy=prod/web`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errb := runCLI(tc.args...)
			assert.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", out, errb)
			all := out + errb
			for _, want := range tc.has {
				assert.Contains(t, all, want)
			}
			for _, not := range tc.hasNot {
				assert.False(t, strings.Contains(all, not), "%q in:\n%s", not, all)
			}
		})
	}
}
