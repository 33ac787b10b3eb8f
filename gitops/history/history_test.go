package history

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

const valuesFile = "envs/prod/web/values.yaml"

var (
	webLoc   = policy.ReplicasLocation{File: valuesFile, Path: "web.replicaCount"}
	t0       = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)
	identity = gitrepo.Identity{Name: "gitops-autoscaler", Email: "bot@example.com"}
)

const bot = "gitops-autoscaler <bot@example.com>"

func values(n string) string { return "# web\nweb:\n  replicaCount: " + n + "  # managed\n" }

// newRepo is a Git server with the platform repository and a workspace's options for it.
func newRepo(t testing.TB) (*gittest.Server, gitrepo.Options) {
	t.Helper()
	s := gittest.NewServer(t)
	s.CreateRepo("platform", map[string]string{valuesFile: values("3"), "README.md": "hi\n"})
	return s, optionsFor(t, s)
}

// optionsFor are a workspace's options for the platform repository of s, with a cache of its
// own.
func optionsFor(t testing.TB, s *gittest.Server) gitrepo.Options {
	return gitrepo.Options{Name: "platform", URL: s.URL("platform"), CacheDir: t.TempDir(),
		Auth:   &gitrepo.Auth{Username: s.User(), PasswordEnv: "GIT_PASSWORD"},
		Getenv: func(k string) string { return map[string]string{"GIT_PASSWORD": s.Password()}[k] }}
}

func open(t testing.TB, opts gitrepo.Options) *gitrepo.Workspace {
	t.Helper()
	ws, err := gitrepo.Open(context.Background(), opts)
	require.NoError(t, err)
	return ws
}

// decide commits and pushes one of our decisions, as the loop does: sync, commit, push.
func decide(t *testing.T, ws *gitrepo.Workspace, m commitmsg.Message, at time.Time) string {
	t.Helper()
	require.NoError(t, ws.Sync(context.Background()))
	m.EvaluatedAt = at
	h, err := ws.Commit(context.Background(), gitrepo.CommitRequest{
		File: m.Target.File, Content: []byte(values(fmt.Sprint(m.To))), Message: commitmsg.Format(m), Author: identity, When: at,
	})
	require.NoError(t, err)
	require.NoError(t, ws.Push(context.Background()))
	return h
}

func webDecision(from, to int) commitmsg.Message {
	return commitmsg.Message{PolicyID: "prod/web", Target: webLoc, From: from, To: to, Reasons: reasonLines("rps high")}
}

// historyFixture is a repository whose main branch holds, newest last:
//
//	now-3h   ours      3 → 4            (older than the window)
//	now-50m  ours      4 → 6            decision
//	now-40m  Ann       README only      nothing
//	now-30m  Bob       git revert 4 → 6 revert 6 → 4
//	now-20m  Ann       values 4 → 8     manual edit
//	now-15m  Ann       comment only     nothing
//	now-10m  ours      8 → 5 (manual)   manual scale by jane
//	now-5m   ours      api policy       nothing (another policy, another file)
type historyFixture struct {
	s                                *gittest.Server
	ws                               *gitrepo.Workspace
	now                              time.Time
	old, decision, revert, edit, man string
}

func newHistoryFixture(t *testing.T) historyFixture {
	t.Helper()
	s, opts := newRepo(t)
	ws := open(t, opts)
	now := t0
	f := historyFixture{s: s, ws: ws, now: now}

	f.old = decide(t, ws, webDecision(3, 4), now.Add(-3*time.Hour))
	f.decision = decide(t, ws, webDecision(4, 6), now.Add(-50*time.Minute))
	s.CommitAt("platform", map[string]string{"README.md": "docs\n"}, "docs", "Ann <ann@example.com>", now.Add(-40*time.Minute))
	f.revert = s.Revert("platform", f.decision, "Bob <bob@example.com>", now.Add(-30*time.Minute))
	f.edit = s.CommitAt("platform", map[string]string{valuesFile: values("8")}, "launch day", "Ann <ann@example.com>", now.Add(-20*time.Minute))
	s.CommitAt("platform", map[string]string{valuesFile: "# web (prod)\nweb:\n  replicaCount: 8  # managed\n"}, "comment", "Ann <ann@example.com>", now.Add(-15*time.Minute))
	require.NoError(t, ws.Sync(context.Background()))
	manual := commitmsg.Message{PolicyID: "prod/web", Target: webLoc, From: 8, To: 5, Reasons: reasonLines("cost review"),
		Manual: true, RequestedBy: "jane", EvaluatedAt: now.Add(-10 * time.Minute)}
	h, err := ws.Commit(context.Background(), gitrepo.CommitRequest{
		File: valuesFile, Content: []byte("# web (prod)\nweb:\n  replicaCount: 5  # managed\n"),
		Message: commitmsg.Format(manual), Author: identity, When: now.Add(-10 * time.Minute),
	})
	require.NoError(t, err)
	f.man = h
	api := commitmsg.Message{PolicyID: "prod/api", Target: policy.ReplicasLocation{File: "api.yaml", Path: "replicas"}, From: 2, To: 3}
	_, err = ws.Commit(context.Background(), gitrepo.CommitRequest{
		File: "api.yaml", Content: []byte("replicas: 3\n"), Message: commitmsg.Format(api), Author: identity, When: now.Add(-5 * time.Minute),
	})
	require.NoError(t, err)
	require.NoError(t, ws.Push(context.Background()))
	return f
}

func TestReadHistoryClassifiesEvents(t *testing.T) {
	f := newHistoryFixture(t)

	events, visited, err := read(f.ws, Query{PolicyID: "prod/web", Target: webLoc, Since: f.now.Add(-time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, 7, visited.window, "the commits of the last hour, and not one more")
	assert.Equal(t, 5, visited.classified, "of them, those that changed the file or name the policy: not the README's, not prod/api's")

	at := func(d time.Duration) time.Time { return f.now.Add(-d) }
	want := []engine.Event{
		{Kind: engine.EventDecision, From: 4, To: 6, Commit: f.decision, Author: bot, At: at(50 * time.Minute),
			Subject: "autoscale(prod/web): 4 → 6 replicas"},
		{Kind: engine.EventRevert, From: 6, To: 4, Commit: f.revert, Reverts: f.decision,
			Author: "Bob <bob@example.com>", At: at(30 * time.Minute), Subject: `Revert "autoscale(prod/web): 4 → 6 replicas"`},
		{Kind: engine.EventManualEdit, From: 4, To: 8, Commit: f.edit, Author: "Ann <ann@example.com>",
			At: at(20 * time.Minute), Subject: "launch day"},
		// A manual scale's author is the person who asked (Autoscaler-Requested-By), not the bot.
		{Kind: engine.EventManualScale, From: 8, To: 5, Commit: f.man, Author: "jane", At: at(10 * time.Minute),
			Subject: "scale(prod/web): 8 → 5 replicas (manual)"},
	}
	require.Len(t, events, len(want))
	for i := range want {
		assert.True(t, want[i].At.Equal(events[i].At), "event %d at %s, want %s", i, events[i].At, want[i].At)
		events[i].At = want[i].At
		assert.Equal(t, want[i], events[i], "event %d", i)
	}

}

func TestReadHistoryIsBounded(t *testing.T) {
	f := newHistoryFixture(t)
	tests := []struct {
		name        string
		since       time.Time
		max         int
		wantVisited walked
		wantKinds   []engine.EventKind
	}{
		{name: "window of 12 minutes", since: f.now.Add(-12 * time.Minute), wantVisited: walked{window: 2, classified: 1},
			wantKinds: []engine.EventKind{engine.EventManualScale}},
		{name: "max 3 commits", since: f.now.Add(-time.Hour), max: 3, wantVisited: walked{window: 3, classified: 2},
			wantKinds: []engine.EventKind{engine.EventManualScale}},
		{name: "four hours reach the old decision", since: f.now.Add(-4 * time.Hour), wantVisited: walked{window: 8, classified: 6},
			wantKinds: []engine.EventKind{engine.EventDecision, engine.EventDecision, engine.EventRevert,
				engine.EventManualEdit, engine.EventManualScale}},
		{name: "window in the future", since: f.now.Add(time.Hour), wantVisited: walked{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, visited, err := read(f.ws, Query{PolicyID: "prod/web", Target: webLoc, Since: tt.since, Max: tt.max})
			require.NoError(t, err)
			assert.Equal(t, tt.wantVisited, visited)
			var kinds []engine.EventKind
			for _, e := range events {
				kinds = append(kinds, e.Kind)
			}
			assert.Equal(t, tt.wantKinds, kinds)
		})
	}
}

// A revert of a human commit is a manual edit, not a revert hold; a revert of another
// policy's commit is nothing to this policy.
func TestReadHistoryRevertOfOthers(t *testing.T) {
	s, opts := newRepo(t)
	ws := open(t, opts)
	human := s.CommitAt("platform", map[string]string{valuesFile: values("9")}, "nine", "Ann <ann@example.com>", t0.Add(-20*time.Minute))
	rev := s.Revert("platform", human, "Bob <bob@example.com>", t0.Add(-10*time.Minute))
	require.NoError(t, ws.Sync(context.Background()))

	events, err := Read(ws, Query{PolicyID: "prod/web", Target: webLoc, Since: t0.Add(-time.Hour)})
	require.NoError(t, err)
	require.Len(t, events, 2)
	assert.Equal(t, engine.EventManualEdit, events[1].Kind)
	assert.Equal(t, rev, events[1].Commit)
	assert.Equal(t, [2]int{9, 3}, [2]int{events[1].From, events[1].To})
	assert.Empty(t, events[1].Reverts)
}

func BenchmarkReadHistory(b *testing.B) {
	s := gittest.NewServer(b)
	s.CreateRepo("platform", map[string]string{valuesFile: values("3")})
	const n = 1000
	start := t0.Add(-n * time.Minute)
	commits := make([]gittest.ImportCommit, 0, n)
	cur := 3
	for i := range n {
		when := start.Add(time.Duration(i) * time.Minute)
		switch i % 4 {
		case 0: // one of ours
			next := 3 + (i/4)%7
			commits = append(commits, gittest.ImportCommit{
				Files:   map[string]string{valuesFile: values(fmt.Sprint(next))},
				Message: commitmsg.Format(commitmsg.Message{PolicyID: "prod/web", Target: webLoc, From: cur, To: next, EvaluatedAt: when}),
				Author:  bot, When: when,
			})
			cur = next
		case 1: // a human edit of the count
			cur++
			commits = append(commits, gittest.ImportCommit{
				Files: map[string]string{valuesFile: values(fmt.Sprint(cur))}, Message: "bump", Author: "Ann <ann@example.com>", When: when,
			})
		default: // unrelated work
			commits = append(commits, gittest.ImportCommit{
				Files: map[string]string{fmt.Sprintf("apps/app%d.yaml", i%50): fmt.Sprintf("v: %d\n", i)}, Message: "app change",
				Author: "Ann <ann@example.com>", When: when,
			})
		}
	}
	s.Import("platform", commits)
	ws := open(b, optionsFor(b, s))
	q := Query{PolicyID: "prod/web", Target: webLoc, Since: start.Add(n*time.Minute - time.Hour)}

	events, visited, err := read(ws, q)
	require.NoError(b, err)
	require.Equal(b, walked{window: 60, classified: 30}, visited)
	require.Len(b, events, 30)

	b.ResetTimer()
	for b.Loop() {
		if _, _, err := read(ws, q); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReadAgreesWithAFreshSync: the commits, diffs and parsed messages a sync shares between
// the policies' reads change no answer — every query, in any order, twice, through one
// workspace gives what a workspace opened afresh for that one query gives.
func TestReadAgreesWithAFreshSync(t *testing.T) {
	f := newHistoryFixture(t)
	tests := []struct {
		name  string
		query Query
	}{
		{name: "web, last hour", query: Query{PolicyID: "prod/web", Target: webLoc, Since: f.now.Add(-time.Hour)}},
		{name: "web, everything", query: Query{PolicyID: "prod/web", Target: webLoc, Since: f.now.Add(-24 * time.Hour)}},
		{name: "web, bounded", query: Query{PolicyID: "prod/web", Target: webLoc, Since: f.now.Add(-24 * time.Hour), Max: 3}},
		{name: "api", query: Query{PolicyID: "prod/api", Target: policy.ReplicasLocation{File: "api.yaml", Path: "replicas"}, Since: f.now.Add(-time.Hour)}},
		{name: "someone else's file", query: Query{PolicyID: "prod/docs", Target: policy.ReplicasLocation{File: "README.md", Path: "x"}, Since: f.now.Add(-time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fresh := open(t, optionsFor(t, f.s))
			want, wantVisited, err := read(fresh, tt.query)
			require.NoError(t, err)
			for range 2 {
				got, visited, err := read(f.ws, tt.query)
				require.NoError(t, err)
				assert.Equal(t, want, got)
				assert.Equal(t, wantVisited, visited)
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

// TestReadClassifiesOnlyItsCommitsAsHistoryGrows: a policy's read classifies the commits that
// changed its file or name it, however many other commits the window holds (issue 23: with a
// person pushing every second, every policy walked the whole hour on every cycle). The window
// still counts them all, and the events are the same.
func TestReadClassifiesOnlyItsCommitsAsHistoryGrows(t *testing.T) {
	var want []engine.Event
	for _, tt := range []struct {
		name  string
		other int // unrelated commits in the window, interleaved with the policy's
	}{
		{name: "a quiet repository", other: 0},
		{name: "a busy one", other: 300},
		{name: "a very busy one", other: 3000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, opts := newRepo(t)
			var commits []gittest.ImportCommit
			start := t0.Add(-50 * time.Minute)
			ours := 0
			for i := range tt.other + 4 {
				when := start.Add(time.Duration(i) * 40 * time.Minute / time.Duration(tt.other+4))
				switch {
				case i%(tt.other/4+1) == 0 && ours < 4: // four decisions of prod/web, spread out
					ours++
					commits = append(commits, gittest.ImportCommit{
						Files:   map[string]string{valuesFile: values(fmt.Sprint(3 + ours))},
						Message: commitmsg.Format(commitmsg.Message{PolicyID: "prod/web", Target: webLoc, From: 2 + ours, To: 3 + ours, EvaluatedAt: when}),
						Author:  bot, When: when,
					})
				case i%2 == 0: // a person's note
					commits = append(commits, gittest.ImportCommit{Files: map[string]string{"notes.md": fmt.Sprint(i)}, Message: "note", Author: "Ann <ann@example.com>", When: when})
				default: // another policy's decision
					commits = append(commits, gittest.ImportCommit{
						Files:   map[string]string{"api.yaml": fmt.Sprintf("replicas: %d\n", i)},
						Message: commitmsg.Format(commitmsg.Message{PolicyID: "prod/api", Target: policy.ReplicasLocation{File: "api.yaml", Path: "replicas"}, From: 1, To: 2, EvaluatedAt: when}),
						Author:  bot, When: when,
					})
				}
			}
			require.Equal(t, 4, ours)
			s.Import("platform", commits)
			ws := open(t, opts)
			events, visited, err := read(ws, Query{PolicyID: "prod/web", Target: webLoc, Since: t0.Add(-time.Hour)})
			require.NoError(t, err)
			assert.Equal(t, walked{window: tt.other + 4, classified: 4}, visited)
			require.Len(t, events, 4)
			for i := range events {
				events[i].Commit, events[i].At = "", time.Time{} // the same decisions, at other times
			}
			if want == nil {
				want = events
			}
			assert.Equal(t, want, events)
		})
	}
}

// TestReadAfterTheCacheIsWarm: what the workspace keeps across syncs (diffs, parsed messages,
// the index) never hides what Git now says — a person's `git revert` pushed after a warm read is
// a revert event, a rewritten branch drops what it dropped — and a new process, with nothing
// kept, reads the same.
func TestReadAfterTheCacheIsWarm(t *testing.T) {
	s, opts := newRepo(t)
	ws := open(t, opts)
	ctx := context.Background()
	decision := decide(t, ws, webDecision(3, 6), t0.Add(-20*time.Minute))
	q := Query{PolicyID: "prod/web", Target: webLoc, Since: t0.Add(-time.Hour)}
	_, _, err := read(ws, q) // warm: the decision diffed, parsed and indexed
	require.NoError(t, err)

	var revert string
	for _, step := range []struct {
		name      string
		change    func()
		wantKinds []engine.EventKind
	}{
		{name: "a person reverts the decision", change: func() {
			revert = s.Revert("platform", decision, "Bob <bob@example.com>", t0.Add(-10*time.Minute))
		}, wantKinds: []engine.EventKind{engine.EventDecision, engine.EventRevert}},
		{name: "an unrelated commit on top", change: func() {
			s.CommitAt("platform", map[string]string{"README.md": "more\n"}, "docs", "Ann <ann@example.com>", t0.Add(-5*time.Minute))
		}, wantKinds: []engine.EventKind{engine.EventDecision, engine.EventRevert}},
		{name: "the branch rewritten to before the revert", change: func() {
			s.Git("platform", "update-ref", "refs/heads/main", decision)
		}, wantKinds: []engine.EventKind{engine.EventDecision}},
		{name: "and back again", change: func() {
			s.Git("platform", "update-ref", "refs/heads/main", revert)
		}, wantKinds: []engine.EventKind{engine.EventDecision, engine.EventRevert}},
	} {
		t.Run(step.name, func(t *testing.T) {
			step.change()
			require.NoError(t, ws.Sync(ctx))
			got, gotWalked, err := read(ws, q)
			require.NoError(t, err)
			var kinds []engine.EventKind
			for _, e := range got {
				kinds = append(kinds, e.Kind)
			}
			assert.Equal(t, step.wantKinds, kinds)
			if len(got) == 2 {
				assert.Equal(t, decision, got[1].Reverts, "the revert names the decision it undid")
			}

			restarted := open(t, optionsFor(t, s)) // a new process: an empty cache
			want, wantWalked, err := read(restarted, q)
			require.NoError(t, err)
			assert.Equal(t, want, got)
			assert.Equal(t, wantWalked, gotWalked)
		})
	}
}
