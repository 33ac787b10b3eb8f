package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
)

// TestScaleRecordsThePersonAndHoldsForItsFlag is item 3 of issue 21: `scale` records who asked
// (--requested-by, else the Git config, else $USER) as Autoscaler-Requested-By and, for
// "Name <email>", Co-authored-by; and --hold, not afterManualEditSeconds (3600 by default),
// decides how long the policy then leaves the count alone.
func TestScaleRecordsThePersonAndHoldsForItsFlag(t *testing.T) {
	cases := []struct {
		name      string
		args      []string
		gitConfig string // the global Git config; none is read beyond it
		user      string // $USER
		who       string // the Autoscaler-Requested-By trailer
		coAuthor  bool
		hold      string // the Autoscaler-Hold trailer
		heldAt    time.Duration
		freeAt    time.Duration // after the scale: the policy moves the count again
	}{
		{name: "--requested-by Name <email> and --hold 30m", args: []string{"--requested-by", "Jane Doe <jane@example.com>", "--hold", "30m"},
			who: "Jane Doe <jane@example.com>", coAuthor: true, hold: "1800", heldAt: 10 * time.Minute, freeAt: 40 * time.Minute},
		{name: "the Git config's user, and the default hold of 1h", gitConfig: "[user]\n\tname = Ops Person\n\temail = ops@example.com\n", user: "root",
			who: "Ops Person <ops@example.com>", coAuthor: true, hold: "3600", heldAt: 50 * time.Minute, freeAt: 70 * time.Minute},
		{name: "no Git user: $USER; --hold 0 holds nothing", args: []string{"--hold", "0"}, user: "jenkins",
			who: "jenkins", hold: "0", freeAt: time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "gitconfig")
			require.NoError(t, os.WriteFile(cfg, []byte(tc.gitConfig), 0o644))
			t.Setenv("GIT_CONFIG_GLOBAL", cfg)
			t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			t.Setenv("USER", tc.user)
			c := newCLIRepo(t, nil, nil)

			code, out, errb := runCLI(append([]string{"scale", "--config", c.config, "--policy", "web", "--to", "6", "--reason", "launch", "-o", "json"}, tc.args...)...)
			require.Equal(t, exitOK, code, errb)
			scaled := cliResults(t, out)[0]
			require.Equal(t, gitops.ActionCommitted, scaled.Action)
			msg := c.s.RawMessage("platform", scaled.Commit)
			tr, ok := commitmsg.ParseTrailers(msg)
			require.True(t, ok, msg)
			assert.Equal(t, tc.who, tr.RequestedBy)
			assert.Contains(t, msg, "Autoscaler-Hold: "+tc.hold+"\n")
			if tc.coAuthor {
				assert.Contains(t, msg, "Co-authored-by: "+tc.who+"\n")
			} else {
				assert.NotContains(t, msg, "Co-authored-by")
			}

			// Traffic then wants 9 (900 rps at 100 per replica).
			scaledAt := time.Now().UTC().Truncate(time.Second)
			evaluateAt := func(after time.Duration) gitops.Result {
				at := scaledAt.Add(after)
				trace := filepath.Join(write(t, map[string]string{"t.csv": fmt.Sprintf("timestamp,metric,value\n%s,web_rps,900\n%s,web_rps,900\n",
					at.Add(-time.Minute).Format(time.RFC3339), at.Add(-30*time.Second).Format(time.RFC3339))}), "t.csv")
				code, out, errb := runCLI("evaluate", "--config", c.config, "--metrics-file", trace, "--at", at.Format(time.RFC3339), "--dry-run", "-o", "json")
				require.Equal(t, exitOK, code, errb)
				return cliResults(t, out)[0]
			}
			if tc.heldAt > 0 {
				r := evaluateAt(tc.heldAt)
				assert.Equal(t, gitops.ActionHeld, r.Action, "%v", r.Reasons)
				assert.Equal(t, 6, r.To)
				assert.Contains(t, fmt.Sprint(r.Reasons), "by "+tc.who+" set 6")
				assert.Contains(t, fmt.Sprint(r.Reasons), "< its --hold "+tc.hold+"s")
			}
			r := evaluateAt(tc.freeAt)
			assert.Equal(t, gitops.ActionDryRun, r.Action, "%v", r.Reasons)
			assert.Equal(t, 9, r.To)
			assert.NotContains(t, fmt.Sprint(r.Reasons), "manual-edit hold")

			code, out, errb = runCLI("history", "--config", c.config, "--policy", "web", "--since", "1h")
			require.Equal(t, exitOK, code, errb)
			assert.Contains(t, out, tc.who, "history names the person, not the bot")
			assert.True(t, strings.Contains(out, "manual-scale"), out)
		})
	}
}
