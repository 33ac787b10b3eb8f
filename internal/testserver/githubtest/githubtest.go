package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/prgit"
)

// DefaultOwner and DefaultToken are what a server uses unless options say otherwise.
const (
	DefaultOwner = "acme"
	DefaultToken = "ghp_githubtest-token-0123456789"
)

// Server is a fake GitHub API over one repository of a gittest.Server.
type Server struct {
	t       testing.TB
	git     *gittest.Server
	gitRepo string // the repository's name on the Git server
	owner   string
	repo    string
	token   string
	bare    *prgit.Repo // the repository the pull requests live in
	srv     *httptest.Server

	prgit.Counts // every request, and each accepted write

	mu        sync.Mutex
	now       func() time.Time
	prs       []*pullRequest // number n at index n-1
	required  []string       // required status check contexts; nil: the base is not protected
	strict    bool           // the required checks must pass on a head up to date with the base
	state     string         // the state of every required check on every ref
	rateLimit []rateLimit    // answers for the next requests, in order
	app       *app           // a GitHub App installed on the repository (WithApp)
	flow      *webFlow       // the key the commits it creates are signed with
}

type pullRequest struct {
	number    int
	state     string // open or closed
	merged    bool
	title     string
	body      string
	head      string // branch
	base      string // branch
	headSHA   string // frozen when the pull request is closed
	labels    []string
	mergeSHA  string
	createdAt time.Time
	updatedAt time.Time
	closedAt  time.Time
	mergedAt  time.Time
}

type rateLimit struct {
	status int
	wait   time.Duration
}

// Option configures a Server.
type Option func(*Server)

// WithToken sets the only token the server accepts.
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithOwner sets the repository owner (default DefaultOwner).
func WithOwner(owner string) Option { return func(s *Server) { s.owner = owner } }

// WithClock sets the server's clock: pull request times and merge commit dates (default
// time.Now). Tests that decide at fixed instants give the same clock here.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// New starts a fake GitHub API for the repository gitRepo of the Git server, known to the API
// as <owner>/<gitRepo>. It is closed when the test ends. The base branch starts unprotected
// (no required checks) and every status is "success".
func New(t testing.TB, git *gittest.Server, gitRepo string, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:       t,
		git:     git,
		gitRepo: gitRepo,
		owner:   DefaultOwner,
		repo:    gitRepo,
		token:   DefaultToken,
		now:     time.Now,
		state:   "success",
	}
	s.bare = prgit.New(git.Dir(gitRepo), t.TempDir())
	for _, o := range opts {
		o(s)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls", s.listPulls)
	mux.HandleFunc("POST /repos/{owner}/{repo}/pulls", s.createPull)
	mux.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}", s.getPull)
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/pulls/{number}", s.editPull)
	mux.HandleFunc("PUT /repos/{owner}/{repo}/pulls/{number}/merge", s.mergePull)
	mux.HandleFunc("POST /repos/{owner}/{repo}/issues/{number}/labels", s.addLabels)
	mux.HandleFunc("DELETE /repos/{owner}/{repo}/issues/{number}/labels/{name}", s.removeLabel)
	mux.HandleFunc("GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks", s.requiredChecks)
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}/status", s.combinedStatus)
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref}/check-runs", s.checkRuns)
	mux.HandleFunc("GET /repos/{owner}/{repo}/git/ref/{ref...}", s.getRef)
	mux.HandleFunc("DELETE /repos/{owner}/{repo}/git/refs/{ref...}", s.deleteRef)
	mux.HandleFunc("PATCH /repos/{owner}/{repo}/git/refs/{ref...}", s.updateRef)
	mux.HandleFunc("POST /repos/{owner}/{repo}/git/refs", s.createRef)
	mux.HandleFunc("POST /repos/{owner}/{repo}/git/blobs", s.createBlob)
	mux.HandleFunc("POST /repos/{owner}/{repo}/git/trees", s.createTree)
	mux.HandleFunc("POST /repos/{owner}/{repo}/git/commits", s.createCommit)
	mux.HandleFunc("GET /repos/{owner}/{repo}/git/commits/{sha}", s.getCommit)
	app := http.NewServeMux()
	app.HandleFunc("POST /app/installations/{installation}/access_tokens", s.mintToken)
	s.srv = httptest.NewServer(s.guard(mux, app))
	t.Cleanup(s.srv.Close)
	git.AllowCredentials(s.gitCredentials)
	return s
}

// URL is the API base URL, with the trailing slash go-github wants (an Enterprise-style URL).
func (s *Server) URL() string { return s.srv.URL + "/" }

// Owner and Repo name the repository in the API.
func (s *Server) Owner() string { return s.owner }

// Repo is the repository's name in the API.
func (s *Server) Repo() string { return s.repo }

// Token is the static token the server accepts ("" with WithToken("") and WithApp: only
// installation tokens).
func (s *Server) Token() string { return s.token }

// SetRequiredChecks protects the base branches with these required status check contexts;
// none leaves them unprotected (GitHub answers 404 "Branch not protected").
func (s *Server) SetRequiredChecks(contexts ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.required = nil
	if len(contexts) > 0 {
		s.required = slices.Clone(contexts)
	}
}

// SetStrictChecks makes the base branch's protection require branches to be up to date
// before merging (required_status_checks.strict): a pull request whose head does not contain
// its base's head is "behind" and does not merge.
func (s *Server) SetStrictChecks(strict bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.strict = strict
}

// SetCheckState sets the state every required check reports on every commit: "success",
// "pending" or "failure".
func (s *Server) SetCheckState(state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = state
}

// RateLimitOnce answers the next API request with a rate limit instead of serving it: 403
// with X-RateLimit-Remaining 0 and X-RateLimit-Reset now+wait (GitHub's primary limit), or
// 429 with Retry-After (its secondary limit). The request after it is served normally.
func (s *Server) RateLimitOnce(status int, wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit = append(s.rateLimit, rateLimit{status: status, wait: wait})
}

// ClosePR closes a pull request without merging it, as a reviewer saying "no" would.
func (s *Server) ClosePR(number int) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pull(number)
	if p == nil || p.state != "open" {
		s.t.Fatalf("githubtest: no open pull request #%d", number)
	}
	s.close(p)
}

// PullRequest is a pull request's state, for assertions.
type PullRequest struct {
	Number     int
	State      string
	Merged     bool
	Title      string
	Body       string
	Head, Base string
	HeadSHA    string
	Labels     []string
	MergeSHA   string
	URL        string
}

// PullRequests lists every pull request, open and closed, by number.
func (s *Server) PullRequests() []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PullRequest, 0, len(s.prs))
	for _, p := range s.prs {
		out = append(out, PullRequest{
			Number: p.number, State: p.state, Merged: p.merged, Title: p.title, Body: p.body,
			Head: p.head, Base: p.base, HeadSHA: s.headSHA(p), Labels: slices.Clone(p.labels),
			MergeSHA: p.mergeSHA, URL: s.htmlURL(p.number),
		})
	}
	return out
}

// OpenPullRequests lists the open pull requests whose head is branch.
func (s *Server) OpenPullRequests(branch string) []PullRequest {
	var out []PullRequest
	for _, p := range s.PullRequests() {
		if p.State == "open" && p.Head == branch {
			out = append(out, p)
		}
	}
	return out
}

// guard authenticates, applies a pending rate limit, checks the repository, and counts. The
// App endpoints (under /app/) authenticate with the App's JWT instead of a token.
func (s *Server) guard(next, app http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Request()
		s.mu.Lock()
		var limit *rateLimit
		if len(s.rateLimit) > 0 {
			limit = &s.rateLimit[0]
			s.rateLimit = s.rateLimit[1:]
		}
		now := s.now()
		s.mu.Unlock()

		if strings.HasPrefix(r.URL.Path, "/app/") {
			if limit != nil {
				s.writeRateLimit(w, *limit, now)
				return
			}
			app.ServeHTTP(w, r) // minting is not a repository write: not counted in Writes
			return
		}
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok {
			tok, ok = strings.CutPrefix(auth, "token ")
		}
		s.mu.Lock()
		valid := ok && s.validToken(tok, now)
		s.mu.Unlock()
		if !valid {
			writeError(w, http.StatusUnauthorized, "Bad credentials")
			return
		}
		if limit != nil {
			s.writeRateLimit(w, *limit, now)
			return
		}
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if len(parts) < 3 || parts[0] != "repos" || parts[1] != s.owner || parts[2] != s.repo {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		s.Serve(w, r, r.URL.Path, func(w http.ResponseWriter) { next.ServeHTTP(w, r) })
	})
}

func (s *Server) writeRateLimit(w http.ResponseWriter, l rateLimit, now time.Time) {
	secs := int((l.wait + time.Second - 1) / time.Second)
	if l.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, l.status, map[string]string{
			"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
		return
	}
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "0")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(now.Add(time.Duration(secs)*time.Second).Unix(), 10))
	writeJSON(w, l.status, map[string]string{
		"message":           "API rate limit exceeded.",
		"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
	})
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var head string
	if h := q.Get("head"); h != "" {
		owner, branch, ok := strings.Cut(h, ":")
		if !ok || owner != s.owner {
			writeJSON(w, http.StatusOK, []any{}) // GitHub filters by the fork owner: no match
			return
		}
		head = branch
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*pullRequest
	for _, p := range s.prs {
		if (state != "all" && p.state != state) || (head != "" && p.head != head) ||
			(q.Get("base") != "" && p.base != q.Get("base")) {
			continue
		}
		list = append(list, p)
	}
	// GitHub's default: by creation, newest first; direction=asc reverses it.
	sort.SliceStable(list, func(i, j int) bool { return list[i].number > list[j].number })
	if q.Get("direction") == "asc" {
		slices.Reverse(list)
	}
	page, perPage := 1, 30
	if v := q.Get("page"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			page = n
		}
	}
	if v := q.Get("per_page"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			perPage = min(n, 100) // GitHub caps per_page at 100
		}
	}
	last := max((len(list)+perPage-1)/perPage, 1)
	from, to := min((page-1)*perPage, len(list)), min(page*perPage, len(list))
	out := make([]*github.PullRequest, 0, to-from)
	for _, p := range list[from:to] {
		out = append(out, s.render(p, false))
	}
	link := func(rel string, n int) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		qq := u.Query()
		qq.Set("page", strconv.Itoa(n))
		qq.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link("next", page+1), link("last", last))
	}
	if page > 1 {
		links = append(links, link("prev", page-1), link("first", 1))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	writeJSON(w, http.StatusOK, out)
}

// SeedClosedPullRequests adds n closed pull requests from head into base, numbered after the
// existing ones, without touching Git: a long history for paginated lists.
func (s *Server) SeedClosedPullRequests(head, base string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	for range n {
		s.prs = append(s.prs, &pullRequest{
			number: len(s.prs) + 1, state: "closed", title: "an old proposal", head: head, base: base,
			headSHA: strings.Repeat("0", 40), createdAt: now, updatedAt: now, closedAt: now,
		})
	}
}

func (s *Server) createPull(w http.ResponseWriter, r *http.Request) {
	var in github.NewPullRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if in.GetTitle() == "" || in.GetHead() == "" || in.GetBase() == "" {
		writeValidation(w, "PullRequest", "title, head and base are required", "missing_field")
		return
	}
	head := in.GetHead()
	if owner, branch, ok := strings.Cut(head, ":"); ok {
		if owner != s.owner {
			writeValidation(w, "PullRequest", "head", "invalid")
			return
		}
		head = branch
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	headSHA, baseSHA := s.bare.BranchSHA(head), s.bare.BranchSHA(in.GetBase())
	switch {
	case baseSHA == "":
		writeValidation(w, "PullRequest", "base", "invalid")
		return
	case headSHA == "":
		writeValidation(w, "PullRequest", "head", "invalid")
		return
	case s.bare.IsAncestor(headSHA, baseSHA):
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("No commits between %s and %s", in.GetBase(), head))
		return
	}
	for _, p := range s.prs {
		if p.state == "open" && p.head == head && p.base == in.GetBase() {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("A pull request already exists for %s:%s.", s.owner, head))
			return
		}
	}
	now := s.now().UTC()
	p := &pullRequest{
		number: len(s.prs) + 1, state: "open", title: in.GetTitle(), body: in.GetBody(),
		head: head, base: in.GetBase(), createdAt: now, updatedAt: now,
	}
	s.prs = append(s.prs, p)
	writeJSON(w, http.StatusCreated, s.render(p, true))
}

func (s *Server) getPull(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pullOf(w, r)
	if p == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.render(p, true))
}

func (s *Server) editPull(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
		State *string `json:"state"`
		Base  *string `json:"base"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pullOf(w, r)
	if p == nil {
		return
	}
	if in.Base != nil && s.bare.BranchSHA(*in.Base) == "" {
		writeValidation(w, "PullRequest", "base", "invalid")
		return
	}
	if in.Title != nil {
		p.title = *in.Title
	}
	if in.Body != nil {
		p.body = *in.Body
	}
	if in.Base != nil {
		p.base = *in.Base
	}
	if in.State != nil {
		switch {
		case *in.State == "closed" && p.state == "open":
			s.close(p)
		case *in.State == "open" && p.state == "closed" && !p.merged:
			p.state, p.headSHA, p.closedAt = "open", "", time.Time{}
		}
	}
	p.updatedAt = s.now().UTC()
	writeJSON(w, http.StatusOK, s.render(p, true))
}

func (s *Server) mergePull(w http.ResponseWriter, r *http.Request) {
	var in struct {
		CommitTitle   string `json:"commit_title"`
		CommitMessage string `json:"commit_message"`
		SHA           string `json:"sha"`
		MergeMethod   string `json:"merge_method"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pullOf(w, r)
	if p == nil {
		return
	}
	if p.state != "open" {
		writeError(w, http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		return
	}
	headSHA, baseSHA := s.bare.BranchSHA(p.head), s.bare.BranchSHA(p.base)
	if headSHA == "" || baseSHA == "" {
		writeError(w, http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		return
	}
	if in.SHA != "" && in.SHA != headSHA {
		writeError(w, http.StatusConflict, "Head branch was modified. Review and try the merge again.")
		return
	}
	if msg := s.checksBlock(); msg != "" {
		writeError(w, http.StatusMethodNotAllowed, msg)
		return
	}
	if s.behind(p) {
		writeError(w, http.StatusMethodNotAllowed, "Head branch is not up to date with the base branch")
		return
	}
	tree, ok := s.bare.MergeTree(baseSHA, headSHA)
	if !ok {
		writeError(w, http.StatusMethodNotAllowed, "Pull Request is not mergeable")
		return
	}
	title := in.CommitTitle
	if title == "" {
		title = fmt.Sprintf("%s (#%d)", p.title, p.number)
	}
	msg := title
	if in.CommitMessage != "" {
		msg += "\n\n" + in.CommitMessage
	}
	msg = strings.TrimRight(msg, "\n") + "\n" // as git commit stores it
	parents := []string{"-p", baseSHA}
	switch in.MergeMethod {
	case "squash":
	case "", "merge":
		parents = append(parents, "-p", headSHA)
	default:
		writeValidation(w, "PullRequest", "merge_method", "invalid")
		return
	}
	author, err := s.bare.Git(nil, "", "log", "-1", "--format=%an%x00%ae", headSHA)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	an, ae, _ := strings.Cut(strings.TrimSpace(author), "\x00")
	when := s.now().UTC().Format(time.RFC3339)
	env := []string{
		"GIT_AUTHOR_NAME=" + an, "GIT_AUTHOR_EMAIL=" + ae, "GIT_AUTHOR_DATE=" + when,
		"GIT_COMMITTER_NAME=GitHub", "GIT_COMMITTER_EMAIL=noreply@github.com", "GIT_COMMITTER_DATE=" + when,
	}
	args := append([]string{"commit-tree", tree}, parents...)
	sha, err := s.bare.Git(env, msg, append(args, "-F", "-")...)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	sha = strings.TrimSpace(sha)
	// The base moves only from the commit merged onto: a concurrent push makes this a 409.
	if _, err := s.bare.Git(nil, "", "update-ref", "refs/heads/"+p.base, sha, baseSHA); err != nil {
		writeError(w, http.StatusConflict, "Base branch was modified. Review and try the merge again.")
		return
	}
	p.headSHA = headSHA
	p.merged, p.mergeSHA, p.mergedAt = true, sha, s.now().UTC()
	s.close(p)
	writeJSON(w, http.StatusOK, github.PullRequestMergeResult{
		SHA: github.String(sha), Merged: github.Bool(true), Message: github.String("Pull Request successfully merged"),
	})
}

func (s *Server) addLabels(w http.ResponseWriter, r *http.Request) {
	var labels []string
	if err := json.NewDecoder(r.Body).Decode(&labels); err != nil {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pullOf(w, r)
	if p == nil {
		return
	}
	for _, l := range labels {
		if !slices.Contains(p.labels, l) {
			p.labels = append(p.labels, l)
		}
	}
	writeJSON(w, http.StatusOK, renderLabels(p.labels))
}

func (s *Server) removeLabel(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pullOf(w, r)
	if p == nil {
		return
	}
	name := r.PathValue("name")
	i := slices.Index(p.labels, name)
	if i < 0 {
		writeError(w, http.StatusNotFound, "Label does not exist")
		return
	}
	p.labels = slices.Delete(p.labels, i, i+1)
	writeJSON(w, http.StatusOK, renderLabels(p.labels))
}

func (s *Server) requiredChecks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bare.BranchSHA(r.PathValue("branch")) == "" {
		writeError(w, http.StatusNotFound, "Branch not found")
		return
	}
	if s.required == nil {
		writeError(w, http.StatusNotFound, "Branch not protected")
		return
	}
	checks := make([]*github.RequiredStatusCheck, 0, len(s.required))
	for _, c := range s.required {
		checks = append(checks, &github.RequiredStatusCheck{Context: c})
	}
	contexts := slices.Clone(s.required)
	writeJSON(w, http.StatusOK, github.RequiredStatusChecks{Strict: s.strict, Contexts: &contexts, Checks: &checks})
}

func (s *Server) combinedStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha := s.bare.Resolve(r.PathValue("ref"))
	if sha == "" {
		writeError(w, http.StatusNotFound, "No commit found for SHA: "+r.PathValue("ref"))
		return
	}
	statuses := make([]*github.RepoStatus, 0, len(s.required))
	for _, c := range s.required {
		statuses = append(statuses, &github.RepoStatus{Context: github.String(c), State: github.String(s.state)})
	}
	state := s.state
	if len(statuses) == 0 {
		state = "pending" // GitHub's combined state of a commit without statuses
	}
	writeJSON(w, http.StatusOK, github.CombinedStatus{
		SHA: github.String(sha), State: github.String(state), Statuses: statuses, TotalCount: github.Int(len(statuses)),
	})
}

// checkRuns reports no check runs: the required checks of this server are commit statuses.
func (s *Server) checkRuns(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bare.Resolve(r.PathValue("ref")) == "" {
		writeError(w, http.StatusNotFound, "No commit found for SHA: "+r.PathValue("ref"))
		return
	}
	writeJSON(w, http.StatusOK, github.ListCheckRunsResults{Total: github.Int(0), CheckRuns: []*github.CheckRun{}})
}

func (s *Server) getRef(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	s.mu.Lock()
	defer s.mu.Unlock()
	branch, ok := strings.CutPrefix(ref, "heads/")
	sha := ""
	if ok {
		sha = s.bare.BranchSHA(branch)
	}
	if sha == "" {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, github.Reference{
		Ref:    github.String("refs/" + ref),
		Object: &github.GitObject{Type: github.String("commit"), SHA: github.String(sha)},
	})
}

func (s *Server) deleteRef(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	s.mu.Lock()
	defer s.mu.Unlock()
	branch, ok := strings.CutPrefix(ref, "heads/")
	if !ok || s.bare.BranchSHA(branch) == "" {
		writeError(w, http.StatusUnprocessableEntity, "Reference does not exist")
		return
	}
	for _, p := range s.prs {
		if p.state == "open" && p.base == branch {
			writeError(w, http.StatusUnprocessableEntity, "Cannot delete the base branch of an open pull request")
			return
		}
	}
	if _, err := s.bare.Git(nil, "", "update-ref", "-d", "refs/heads/"+branch); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	// GitHub closes the open pull requests of a deleted head branch.
	for _, p := range s.prs {
		if p.state == "open" && p.head == branch {
			s.close(p)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// pullOf finds the request's pull request, or answers 404.
func (s *Server) pullOf(w http.ResponseWriter, r *http.Request) *pullRequest {
	n, err := strconv.Atoi(r.PathValue("number"))
	p := s.pull(n)
	if err != nil || p == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	return p
}

func (s *Server) pull(n int) *pullRequest {
	if n < 1 || n > len(s.prs) {
		return nil
	}
	return s.prs[n-1]
}

// close closes a pull request, freezing its head commit as GitHub does.
func (s *Server) close(p *pullRequest) {
	if p.headSHA == "" {
		p.headSHA = s.bare.BranchSHA(p.head)
	}
	now := s.now().UTC()
	p.state, p.closedAt, p.updatedAt = "closed", now, now
}

// headSHA is an open pull request's live head (its branch) or a closed one's frozen head.
func (s *Server) headSHA(p *pullRequest) string {
	if p.state == "open" {
		return s.bare.BranchSHA(p.head)
	}
	return p.headSHA
}

// behind reports whether strict checks hold a pull request back: its head does not contain
// its base's head.
func (s *Server) behind(p *pullRequest) bool {
	return s.strict && len(s.required) > 0 && !s.bare.IsAncestor(s.bare.BranchSHA(p.base), s.bare.BranchSHA(p.head))
}

// checksBlock says why the required checks block a merge ("" when they pass).
func (s *Server) checksBlock() string {
	if len(s.required) == 0 || s.state == "success" {
		return ""
	}
	if s.state == "pending" {
		return fmt.Sprintf("Required status check %q is expected.", s.required[0])
	}
	return fmt.Sprintf("Required status check %q is failing.", s.required[0])
}

func (s *Server) render(p *pullRequest, detail bool) *github.PullRequest {
	out := &github.PullRequest{
		Number:    github.Int(p.number),
		State:     github.String(p.state),
		Title:     github.String(p.title),
		Body:      github.String(p.body),
		HTMLURL:   github.String(s.htmlURL(p.number)),
		URL:       github.String(fmt.Sprintf("%srepos/%s/%s/pulls/%d", s.URL(), s.owner, s.repo, p.number)),
		Head:      &github.PullRequestBranch{Ref: github.String(p.head), SHA: github.String(s.headSHA(p)), Label: github.String(s.owner + ":" + p.head)},
		Base:      &github.PullRequestBranch{Ref: github.String(p.base), SHA: github.String(s.bare.BranchSHA(p.base)), Label: github.String(s.owner + ":" + p.base)},
		Labels:    renderLabels(p.labels),
		CreatedAt: &github.Timestamp{Time: p.createdAt},
		UpdatedAt: &github.Timestamp{Time: p.updatedAt},
	}
	if !p.closedAt.IsZero() {
		out.ClosedAt = &github.Timestamp{Time: p.closedAt}
	}
	if p.merged {
		out.MergedAt = &github.Timestamp{Time: p.mergedAt}
		out.MergeCommitSHA = github.String(p.mergeSHA)
	}
	if !detail {
		return out // the list endpoint leaves out merged, mergeable and their kin
	}
	out.Merged = github.Bool(p.merged)
	if p.state == "open" {
		_, clean := s.bare.MergeTree(s.bare.BranchSHA(p.base), s.bare.BranchSHA(p.head))
		out.Mergeable = github.Bool(clean)
		switch {
		case !clean:
			out.MergeableState = github.String("dirty")
		case s.checksBlock() != "":
			out.MergeableState = github.String("blocked")
		case s.behind(p):
			out.MergeableState = github.String("behind")
		default:
			out.MergeableState = github.String("clean")
		}
	}
	return out
}

func (s *Server) htmlURL(n int) string {
	return fmt.Sprintf("%s/%s/%s/pull/%d", s.srv.URL, s.owner, s.repo, n)
}

func renderLabels(names []string) []*github.Label {
	out := make([]*github.Label, 0, len(names))
	for _, n := range names {
		out = append(out, &github.Label{Name: github.String(n)})
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func writeValidation(w http.ResponseWriter, resource, field, code string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message": "Validation Failed",
		"errors":  []map[string]string{{"resource": resource, "field": field, "code": code}},
	})
}
