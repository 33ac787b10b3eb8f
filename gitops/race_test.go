package gitops

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// TestPushRaceReplaysWhatTheNewCommitsDidNotTouch: a person pushes between our fetch and our
// push. The policies whose inputs their commit did not touch have their commits replayed on
// the new head, not decided again; the ones it touched are decided again on their version;
// a change to a policy document decides everything again.
func TestPushRaceReplaysWhatTheNewCommitsDidNotTouch(t *testing.T) {
	tests := []struct {
		name string
		// theirs is what the person commits, from the initial content.
		theirs func(t *testing.T, files map[string]string) map[string]string
		// decidedAgain are the policies decided a second time.
		decidedAgain []string
		replayed     int
	}{
		{
			name: "an unrelated file",
			theirs: func(*testing.T, map[string]string) map[string]string {
				return map[string]string{"docs/release.md": "# 1.5.0\n"}
			},
			replayed: 3,
		},
		{
			name: "the target of one policy",
			theirs: func(t *testing.T, files map[string]string) map[string]string {
				return map[string]string{webValues: replaceOnce(t, files[webValues], `tag: "1.4.2"`, `tag: "1.5.0"`)}
			},
			decidedAgain: []string{"prod/web"},
			replayed:     2,
		},
		{
			name: "a policy document",
			theirs: func(t *testing.T, files map[string]string) map[string]string {
				return map[string]string{"policies/api.yaml": files["policies/api.yaml"] + "# reviewed\n"}
			},
			decidedAgain: []string{"prod/api", "prod/web", "prod/worker"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newCycleEnv(t, scaleUp, nil)
			theirFiles := tt.theirs(t, e.files)
			var once sync.Once
			var theirs string
			e.s.SetBeforeReceivePack(func(string) {
				once.Do(func() {
					theirs = e.s.CommitAt("platform", theirFiles, "a person's commit", "Ann <ann@example.com>", cycleAt.Add(-30*time.Second))
				})
			})

			rep := e.cycle(t, CycleOptions{})

			require.NotEmpty(t, theirs, "the concurrent push happened")
			assert.Equal(t, 1, rep.PushRetries)
			assert.Equal(t, tt.replayed, rep.Replayed, "commits replayed")
			decided := committedDecisions(t, e.logs)
			for _, id := range []string{"prod/api", "prod/web", "prod/worker"} {
				want := 1
				if slices.Contains(tt.decidedAgain, id) {
					want = 2
				}
				assert.Equal(t, want, decided[id], "%s: times decided and committed", id)
				res := resultOf(t, rep, id)
				require.Equal(t, ActionCommitted, res.Action, res.Error)
			}
			// Their commit survives, ours sit on top of it, and every result names a commit
			// that is on the remote.
			ours := e.commitsSince(theirs)
			require.Len(t, ours, 3)
			for _, res := range rep.Results {
				assert.Contains(t, ours, res.Commit, res.Policy)
			}
			assert.Equal(t, []string{theirs, e.initial}, strings.Fields(e.s.Git("platform", "rev-list", "--first-parent", "main~3")))
			for file, content := range theirFiles {
				if file == webValues {
					content = replaceOnce(t, content, "replicaCount: 3", "replicaCount: 6")
				}
				assert.Equal(t, content, e.s.ReadFile("platform", "main", file), "%s: their change kept, ours on top", file)
			}
			assert.Contains(t, e.s.ReadFile("platform", "main", webValues), "replicaCount: 6")
			assert.Equal(t, 2, e.s.Requests("platform", gittest.UploadPack), "clone, then one re-fetch after the race")
			assert.Equal(t, 2, e.s.Requests("platform", gittest.ReceivePack))
			assert.Empty(t, e.s.Git("platform", "fsck", "--strict", "--no-dangling", "--no-progress"))
		})
	}
}

// committedDecisions counts the runner's "decision committed" log lines per policy.
func committedDecisions(t *testing.T, logs *bytes.Buffer) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec struct {
			Msg    string `json:"msg"`
			Policy string `json:"policy"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if rec.Msg == "decision committed" {
			out[rec.Policy]++
		}
	}
	return out
}

func TestTouches(t *testing.T) {
	tests := []struct {
		name            string
		inputs, changed []string
		want            bool
	}{
		{"the file itself", []string{"apps/a/values.yaml"}, []string{"apps/a/values.yaml"}, true},
		{"under a directory", []string{"charts/web"}, []string{"charts/web/templates/deploy.yaml"}, true},
		{"a sibling with the same prefix", []string{"charts/web"}, []string{"charts/web-admin/values.yaml"}, false},
		{"elsewhere", []string{"charts/web", "apps/a/values.yaml"}, []string{"README.md"}, false},
		{"everything", []string{everything}, []string{"README.md"}, true},
		{"nothing changed", []string{everything}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, touches(tc.inputs, tc.changed))
		})
	}
}
