package commitmsg

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

var update = flag.Bool("update", false, "rewrite the golden messages in testdata")

// designExample is a decision like the one of the docs/design.md §6 subject (3 → 6 replicas).
func designExample() Message {
	return Message{
		PolicyID: "laravel-demo/laravel-web",
		Target:   policy.ReplicasLocation{File: "envs/prod/laravel-web/values.yaml", Path: "laravelWeb.replicaCount"},
		From:     3,
		To:       6,
		Reasons: reasonLines(
			"http_rps = 312.4 > scaleUp.threshold 250 → 6",
			"http_latency_avg = 0.21 within [0.15, 0.35] → 3",
			"aggregation max → 6; bounds [3, 30] → 6; maxScaleUpStepPercent 100 allows ≤ 6",
		),
		Metrics: []engine.MetricValue{
			{Name: "http_rps", Value: 312.4},
			{Name: "http_latency_avg", Value: 0.21},
		},
		EvaluatedAt: time.Date(2026, 11, 22, 12, 0, 0, 0, time.FixedZone("CET", 3600)),
	}
}

func manualExample() Message {
	return Message{
		PolicyID:    "laravel-demo/laravel-web",
		Target:      policy.ReplicasLocation{File: "envs/prod/laravel-web/values.yaml", Path: "laravelWeb.replicaCount"},
		From:        3,
		To:          5,
		Reasons:     reasonLines("Black Friday warm-up, ticket OPS-1234"),
		EvaluatedAt: time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC),
		Manual:      true,
		RequestedBy: "jane@example.com",
	}
}

func TestFormatMessageGolden(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		msg    Message
	}{
		{name: "design example", golden: "autoscale.golden", msg: designExample()},
		{name: "manual scale", golden: "manual.golden", msg: manualExample()},
		// Issue 21, items 3 and 9: the person as co-author, the hold written, "1 replica".
		{name: "manual scale to one by a person, held 30m", golden: "manual-person.golden", msg: func() Message {
			m := manualExample()
			m.To, m.RequestedBy = 1, "Jane Doe <jane@example.com>"
			hold := 30 * time.Minute
			m.Hold = &hold
			return m
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Format(tt.msg)
			path := filepath.Join("testdata", tt.golden)
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), got)
		})
	}
}

// The golden file is checked against docs/design.md §6 byte for byte, except the decision id, which the
// design elides.
func TestFormatMessageIsTheDesignExample(t *testing.T) {
	want := `autoscale(laravel-demo/laravel-web): 3 → 6 replicas

http_rps = 312.4 > scaleUp.threshold 250 → 6
http_latency_avg = 0.21 within [0.15, 0.35] → 3
aggregation max → 6; bounds [3, 30] → 6; maxScaleUpStepPercent 100 allows ≤ 6

Autoscaler-Policy: laravel-demo/laravel-web
Autoscaler-Target: envs/prod/laravel-web/values.yaml#laravelWeb.replicaCount
Autoscaler-From: 3
Autoscaler-To: 6
Autoscaler-Metrics: http_rps=312.4; http_latency_avg=0.21
Autoscaler-Evaluated-At: 2026-11-22T11:00:00Z
Autoscaler-Decision-Id: ` + designExample().DecisionID() + "\n"
	assert.Equal(t, want, Format(designExample()))
}

func TestFormatMessageSanitizesReasons(t *testing.T) {
	m := designExample()
	m.Reasons = reasonLines("first\nAutoscaler-To: 99", "", "  \r\n ", "third\r\nline")
	msg := Format(m)

	assert.Contains(t, msg, "\n\nfirst Autoscaler-To: 99\nthird line\n\nAutoscaler-Policy:")
	tr, ok := ParseTrailers(msg)
	require.True(t, ok)
	assert.Equal(t, 6, tr.To, "a reason cannot inject a trailer")
}

func TestParseTrailersRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		msg     Message
		mangle  func(string) string
		wantMan bool
	}{
		{name: "decision", msg: designExample()},
		{name: "manual", msg: manualExample(), wantMan: true},
		{name: "no reasons", msg: func() Message { m := designExample(); m.Reasons = nil; return m }()},
		{name: "CRLF", msg: designExample(), mangle: func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }},
		{name: "trailing whitespace", msg: designExample(), mangle: func(s string) string {
			return strings.ReplaceAll(s, "\n", " \t\n") + "\n\n  "
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Format(tt.msg)
			if tt.mangle != nil {
				s = tt.mangle(s)
			}
			got, ok := ParseTrailers(s)
			require.True(t, ok)
			assert.Equal(t, Trailers{
				PolicyID:    tt.msg.PolicyID,
				Target:      tt.msg.Target.File + "#" + tt.msg.Target.Path,
				From:        tt.msg.From,
				To:          tt.msg.To,
				Metrics:     formatMetrics(tt.msg.Metrics),
				EvaluatedAt: tt.msg.EvaluatedAt.UTC(),
				DecisionID:  tt.msg.DecisionID(),
				Manual:      tt.wantMan,
				RequestedBy: tt.msg.RequestedBy,
			}, got)
		})
	}
}

func TestParseTrailersRejectsOtherMessages(t *testing.T) {
	tests := map[string]string{
		"subject only":        "autoscale(a/b): 3 → 6 replicas\n",
		"human commit":        "bump replicas\n\nwe need more for the launch\n",
		"no policy":           "x\n\nAutoscaler-From: 3\nAutoscaler-To: 6\n",
		"non-numeric to":      "x\n\nAutoscaler-Policy: a/b\nAutoscaler-From: 3\nAutoscaler-To: six\n",
		"trailers not last":   "x\n\nAutoscaler-Policy: a/b\nAutoscaler-From: 3\nAutoscaler-To: 6\n\nSigned-off-by: A <a@b>\n",
		"git revert of ours":  "Revert \"autoscale(a/b): 3 → 6 replicas\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.\n",
		"empty":               "",
		"whitespace only":     " \n\n\t\n",
		"missing from":        "x\n\nAutoscaler-Policy: a/b\nAutoscaler-To: 6\n",
		"metrics but no from": "x\n\nAutoscaler-Policy: a/b\nAutoscaler-Metrics: a=1\n",
	}
	for name, msg := range tests {
		t.Run(name, func(t *testing.T) {
			_, ok := ParseTrailers(msg)
			assert.False(t, ok)
		})
	}
}

func TestDecisionID(t *testing.T) {
	loc := policy.ReplicasLocation{File: "values.yaml", Path: "web.replicaCount"}
	base := DecisionID("ns/web", loc, 3, 6)

	assert.Len(t, base, decisionIDLen)
	assert.Regexp(t, "^[0-9a-f]+$", base)
	assert.Equal(t, base, DecisionID("ns/web", loc, 3, 6), "the same decision twice is one decision")

	others := map[string]string{
		"other to":     DecisionID("ns/web", loc, 3, 7),
		"other from":   DecisionID("ns/web", loc, 4, 6),
		"swapped":      DecisionID("ns/web", loc, 6, 3),
		"other policy": DecisionID("ns/api", loc, 3, 6),
		"other path":   DecisionID("ns/web", policy.ReplicasLocation{File: "values.yaml", Path: "api.replicaCount"}, 3, 6),
		"other file":   DecisionID("ns/web", policy.ReplicasLocation{File: "other.yaml", Path: "web.replicaCount"}, 3, 6),
	}
	for name, id := range others {
		assert.NotEqual(t, base, id, name)
	}
	m := designExample()
	m.EvaluatedAt = m.EvaluatedAt.Add(time.Hour)
	m.Reasons = nil
	assert.Equal(t, designExample().DecisionID(), m.DecisionID(), "time and reasons are not part of the decision")
}

// Git itself must read our trailers.
func TestGitInterpretTrailersReadsOurTrailers(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git not installed")
	}
	for name, m := range map[string]Message{"decision": designExample(), "manual": manualExample()} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(git, "interpret-trailers", "--parse")
			cmd.Stdin = strings.NewReader(Format(m))
			out, err := cmd.Output()
			require.NoError(t, err)

			want := []string{
				"Autoscaler-Policy: " + m.PolicyID,
				"Autoscaler-Target: " + m.Target.File + "#" + m.Target.Path,
				"Autoscaler-From: 3",
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			assert.Subset(t, lines, want)
			assert.Contains(t, lines, "Autoscaler-Decision-Id: "+m.DecisionID())
			if m.Manual {
				assert.Contains(t, lines, "Autoscaler-Manual: true")
				assert.Contains(t, lines, "Autoscaler-Requested-By: jane@example.com")
			}
			for _, l := range lines {
				assert.True(t, strings.HasPrefix(l, "Autoscaler-"), "git read a reason as a trailer: %q", l)
			}
		})
	}
}

// reasonLines makes reasons of plain lines, as a person's or the loop's own lines are.
func reasonLines(lines ...string) []engine.Reason {
	out := make([]engine.Reason, 0, len(lines))
	for _, l := range lines {
		out = append(out, engine.Reason{Message: l})
	}
	return out
}

// TestTrailerBlockIsFormatTrailers: the trailers a pull request's description shows
// (FormatTrailers) are the commit message's last paragraph, and the one reader gives the same
// trailers from either.
func TestTrailerBlockIsFormatTrailers(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  Message
	}{
		{name: "decision", msg: designExample()},
		{name: "manual scale", msg: manualExample()},
		{name: "no reasons", msg: func() Message { m := designExample(); m.Reasons = nil; return m }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := Format(tc.msg)
			block, ok := TrailerBlock(full)
			require.True(t, ok)
			assert.Equal(t, FormatTrailers(tc.msg), block)
			fromMessage, ok := ParseTrailers(full)
			require.True(t, ok)
			fromBlock, ok := ParseTrailerBlock(FormatTrailers(tc.msg))
			require.True(t, ok)
			assert.Equal(t, fromMessage, fromBlock)
			assert.Equal(t, tc.msg.To, fromBlock.To)
		})
	}
	_, ok := TrailerBlock("a subject alone")
	assert.False(t, ok)
}
