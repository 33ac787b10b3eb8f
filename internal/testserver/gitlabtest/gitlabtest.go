package gitlabtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/prgit"
)

// Defaults of a server.
const (
	DefaultNamespace = "acme"
	DefaultToken     = "glpat-gitlabtest-token-0123456789"
	DefaultProjectID = 42
)

// Merge methods of a project (GitLab's merge_method).
const (
	MergeCommit          = "merge"        // a merge commit
	MergeSemiLinear      = "rebase_merge" // a merge commit, only from a source rebased on the target
	MergeFastForwardOnly = "ff"           // no merge commit, only from a source rebased on the target
)

// Pipeline states the server reports for a merge request's head.
const (
	PipelineNone    = ""
	PipelineRunning = "running"
	PipelineSuccess = "success"
	PipelineFailed  = "failed"
)

// Server is a fake GitLab API over one repository of a gittest.Server.
type Server struct {
	t         testing.TB
	git       *gittest.Server
	gitRepo   string
	namespace string
	token     string
	bare      *prgit.Repo // the repository the merge requests live in
	srv       *httptest.Server

	prgit.Counts // every request, and each accepted write

	mu               sync.Mutex
	now              func() time.Time
	mrs              []*mergeRequest // iid n at index n-1
	mergeMethod      string
	squashOption     string // never, always, default_on, default_off
	pipelineRequired bool   // only_allow_merge_if_pipeline_succeeds
	pipeline         string // the state of the pipeline of every merge request head
	approvals        int    // approvals every merge request needs
	rateLimit        []time.Duration
	failures         []failure // the next answers that are server errors
	failCreate       int       // the next merge request creations that fail with 500
}

// failure is one server error to answer with: its status and the Retry-After it names (none
// when 0).
type failure struct {
	status     int
	retryAfter time.Duration
}

type mergeRequest struct {
	iid          int
	state        string // opened, closed, merged
	title        string
	description  string
	source       string
	target       string
	labels       []string
	headSHA      string // frozen when the merge request is closed or merged
	squash       bool
	removeSource bool
	approvedBy   int

	autoMerge    bool
	autoMergeSHA string // the head auto-merge was set for
	autoSquash   bool
	squashMsg    string
	mergeMsg     string
	removeOnAuto bool

	mergeCommitSHA  string
	squashCommitSHA string
	createdAt       time.Time
	updatedAt       time.Time
	closedAt        time.Time
	mergedAt        time.Time
}

// Option configures a Server.
type Option func(*Server)

// WithToken sets the only token the server accepts (a personal, project or group access token).
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// WithNamespace sets the project's namespace, a group or subgroup path (default DefaultNamespace).
func WithNamespace(ns string) Option { return func(s *Server) { s.namespace = ns } }

// WithClock sets the server's clock: merge request times and merge commit dates.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithMergeMethod sets the project's merge method (default MergeCommit).
func WithMergeMethod(m string) Option { return func(s *Server) { s.mergeMethod = m } }

// WithSquashOption sets the project's squash option: "never", "always", "default_on" or
// "default_off" (the default). "never" and "always" override what a merge asks for.
func WithSquashOption(o string) Option { return func(s *Server) { s.squashOption = o } }

// WithPipelinesMustSucceed sets only_allow_merge_if_pipeline_succeeds: a merge request
// merges only once its head's pipeline succeeded.
func WithPipelinesMustSucceed() Option { return func(s *Server) { s.pipelineRequired = true } }

// New starts a fake GitLab API for the repository gitRepo of the Git server, known to the API
// as <namespace>/<gitRepo> with the id DefaultProjectID. It is closed when the test ends.
// Without knobs, merge requests merge at once: no pipeline, no approvals.
func New(t testing.TB, git *gittest.Server, gitRepo string, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t: t, git: git, gitRepo: gitRepo, namespace: DefaultNamespace, token: DefaultToken,
		bare: prgit.New(git.Dir(gitRepo), t.TempDir()), now: time.Now, mergeMethod: MergeCommit, squashOption: "default_off",
	}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	git.AllowCredentials(func(user, password string) bool {
		// GitLab takes an access token as the password of any username over HTTPS.
		return user != "" && password == s.token
	})
	return s
}

// URL is the server's base URL, as a self-managed instance's (the client adds /api/v4/).
func (s *Server) URL() string { return s.srv.URL }

// Token is the token the server accepts.
func (s *Server) Token() string { return s.token }

// ProjectPath is the project's full path, e.g. acme/platform.
func (s *Server) ProjectPath() string { return s.namespace + "/" + s.gitRepo }

// SetPipeline sets the state of the pipeline of every merge request head: PipelineNone,
// PipelineRunning, PipelineSuccess or PipelineFailed. A finished pipeline lets the merge
// requests waiting for it on auto-merge merge.
func (s *Server) SetPipeline(state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pipeline = state
	s.runAutoMerges()
}

// SetApprovalsRequired sets how many approvals every merge request needs before it merges.
func (s *Server) SetApprovalsRequired(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.approvals = n
}

// Approve records one approval of a merge request, as a reviewer would; one waiting on
// auto-merge then merges if nothing else holds it.
func (s *Server) Approve(iid int) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mr(iid)
	if m == nil || m.state != "opened" {
		s.t.Fatalf("gitlabtest: no open merge request !%d", iid)
	}
	m.approvedBy++
	s.runAutoMerges()
}

// CloseMR closes a merge request without merging it, as a reviewer saying "no" would.
func (s *Server) CloseMR(iid int) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mr(iid)
	if m == nil || m.state != "opened" {
		s.t.Fatalf("gitlabtest: no open merge request !%d", iid)
	}
	s.close(m)
}

// FailNextCreate makes the next merge request creation fail with 500 after nothing was
// created, as a crash or an outage between the push and the merge request would.
func (s *Server) FailNextCreate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCreate++
}

// RateLimitOnce answers the next request with 429, Retry-After and RateLimit-Reset (GitLab's
// rate limit). The request after it is served normally.
func (s *Server) RateLimitOnce(wait time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rateLimit = append(s.rateLimit, wait)
}

// FailOnce answers the next request with status (a 5xx, as an outage or a proxy in front of
// GitLab would), and with Retry-After when retryAfter is above 0; nothing is served or
// changed. Calls queue: n calls fail the next n requests.
func (s *Server) FailOnce(status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{status: status, retryAfter: retryAfter})
}

// SeedClosedMergeRequests adds n closed merge requests from source into target, numbered
// after the existing ones, without touching Git: a long history for paginated lists.
func (s *Server) SeedClosedMergeRequests(source, target string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	for range n {
		s.mrs = append(s.mrs, &mergeRequest{
			iid: len(s.mrs) + 1, state: "closed", title: "an old proposal", source: source, target: target,
			headSHA: strings.Repeat("0", 40), createdAt: now, updatedAt: now, closedAt: now,
		})
	}
}

// MergeRequest is a merge request's state, for assertions.
type MergeRequest struct {
	IID              int
	State            string // opened, closed or merged
	Title            string
	Description      string
	Source, Target   string
	HeadSHA          string
	Labels           []string
	AutoMerge        bool
	MergeCommitSHA   string
	SquashCommitSHA  string
	DetailedStatus   string
	URL              string
	RemoveSourceOnMR bool
}

// MergeRequests lists every merge request, by iid.
func (s *Server) MergeRequests() []MergeRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runAutoMerges()
	out := make([]MergeRequest, 0, len(s.mrs))
	for _, m := range s.mrs {
		out = append(out, MergeRequest{
			IID: m.iid, State: m.state, Title: m.title, Description: m.description, Source: m.source, Target: m.target,
			HeadSHA: s.headSHA(m), Labels: slices.Clone(m.labels), AutoMerge: m.autoMerge,
			MergeCommitSHA: m.mergeCommitSHA, SquashCommitSHA: m.squashCommitSHA,
			DetailedStatus: s.detailedStatus(m), URL: s.webURL(m.iid), RemoveSourceOnMR: m.removeSource,
		})
	}
	return out
}

// OpenMergeRequests lists the open merge requests whose source is branch.
func (s *Server) OpenMergeRequests(branch string) []MergeRequest {
	var out []MergeRequest
	for _, m := range s.MergeRequests() {
		if m.State == "opened" && m.Source == branch {
			out = append(out, m)
		}
	}
	return out
}

// serve authenticates, applies a pending rate limit, routes, and counts. Paths are matched on
// their escaped form: a project path and a branch name arrive URL-encoded (acme%2Fplatform).
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Request()
	tok := r.Header.Get("PRIVATE-TOKEN")
	if tok == "" {
		tok, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	if tok == "" || tok != s.token {
		writeMessage(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		if f.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((f.retryAfter+time.Second-1)/time.Second)))
		}
		writeMessage(w, f.status, strconv.Itoa(f.status)+" "+http.StatusText(f.status))
		return
	}
	if len(s.rateLimit) > 0 {
		wait := s.rateLimit[0]
		s.rateLimit = s.rateLimit[1:]
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		w.Header().Set("RateLimit-Reset", strconv.FormatInt(s.now().Add(time.Duration(secs)*time.Second).Unix(), 10))
		w.Header().Set("RateLimit-Remaining", "0")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("Retry later\n"))
		return
	}
	s.runAutoMerges() // GitLab merges asynchronously: whatever became mergeable has merged by now
	seg, err := segments(r.URL.EscapedPath())
	if err != nil || len(seg) < 4 || seg[0] != "api" || seg[1] != "v4" || seg[2] != "projects" {
		writeMessage(w, http.StatusNotFound, "404 Not Found")
		return
	}
	if seg[3] != strconv.Itoa(DefaultProjectID) && seg[3] != s.ProjectPath() {
		writeMessage(w, http.StatusNotFound, "404 Project Not Found")
		return
	}
	rest := seg[4:]
	s.Serve(w, r, r.URL.EscapedPath(), func(w http.ResponseWriter) { s.route(w, r, rest) })
}

// route answers one request on a project's path rest, under s.mu.
func (s *Server) route(rec http.ResponseWriter, r *http.Request, rest []string) {
	route := r.Method + " " + strings.Join(shape(rest), "/")
	switch route {
	case "GET ":
		s.getProject(rec)
	case "GET merge_requests":
		s.listMRs(rec, r)
	case "POST merge_requests":
		s.createMR(rec, r)
	case "GET merge_requests/:n":
		s.withMR(rec, rest[1], func(m *mergeRequest) { writeJSON(rec, http.StatusOK, s.render(m, true)) })
	case "PUT merge_requests/:n":
		s.withMR(rec, rest[1], func(m *mergeRequest) { s.updateMR(rec, r, m) })
	case "PUT merge_requests/:n/merge":
		s.withMR(rec, rest[1], func(m *mergeRequest) { s.mergeMR(rec, r, m) })
	case "GET pipelines":
		s.listPipelines(rec, r)
	case "GET repository/branches/:s":
		s.getBranch(rec, rest[2])
	case "DELETE repository/branches/:s":
		s.deleteBranch(rec, rest[2])
	default:
		writeMessage(rec, http.StatusNotFound, "404 Not Found")
	}
}

// segments splits an escaped path and unescapes each segment.
func segments(escaped string) ([]string, error) {
	parts := strings.Split(strings.Trim(escaped, "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, err
		}
		parts[i] = u
	}
	return parts, nil
}

// shape names a path's variable segments: numbers as :n, a branch as :s.
func shape(rest []string) []string {
	out := slices.Clone(rest)
	for i := range out {
		switch {
		case i == 1 && len(out) > 1 && out[0] == "merge_requests":
			out[i] = ":n"
		case i == 2 && len(out) > 2 && out[0] == "repository" && out[1] == "branches":
			out[i] = ":s"
		}
	}
	return out
}

func (s *Server) getProject(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{
		"id": DefaultProjectID, "name": s.gitRepo, "path": s.gitRepo, "path_with_namespace": s.ProjectPath(),
		"default_branch": "main", "web_url": s.srv.URL + "/" + s.ProjectPath(), "http_url_to_repo": s.git.URL(s.gitRepo),
		"merge_method": s.mergeMethod, "squash_option": s.squashOption,
		"only_allow_merge_if_pipeline_succeeds": s.pipelineRequired, "allow_merge_on_skipped_pipeline": false,
		"remove_source_branch_after_merge": true,
	})
}

func (s *Server) listMRs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	switch state {
	case "", "all", "opened", "closed", "merged", "locked":
	default:
		writeError(w, http.StatusBadRequest, "state does not have a valid value")
		return
	}
	page, perPage := 1, 20
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "page is invalid")
			return
		}
		page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "per_page is invalid")
			return
		}
		perPage = min(n, 100) // GitLab caps per_page at 100
	}
	var list []*mergeRequest
	for _, m := range s.mrs {
		if (state != "" && state != "all" && m.state != state) ||
			(q.Get("source_branch") != "" && m.source != q.Get("source_branch")) ||
			(q.Get("target_branch") != "" && m.target != q.Get("target_branch")) {
			continue
		}
		list = append(list, m)
	}
	// GitLab's default order: created_at, newest first; sort=asc reverses it.
	slices.Reverse(list)
	if q.Get("sort") == "asc" {
		slices.Reverse(list)
	}
	total := len(list)
	pages := max((total+perPage-1)/perPage, 1)
	from, to := min((page-1)*perPage, total), min(page*perPage, total)
	out := make([]map[string]any, 0, to-from)
	for _, m := range list[from:to] {
		out = append(out, s.render(m, false))
	}
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Total", strconv.Itoa(total))
	h.Set("X-Total-Pages", strconv.Itoa(pages))
	link := func(rel string, p int) string {
		u := *r.URL
		u.Scheme, u.Host = "http", r.Host
		qq := u.Query()
		qq.Set("page", strconv.Itoa(p))
		qq.Set("per_page", strconv.Itoa(perPage))
		u.RawQuery = qq.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	links := []string{link("first", 1), link("last", pages)}
	if page < pages {
		h.Set("X-Next-Page", strconv.Itoa(page+1))
		links = append(links, link("next", page+1))
	} else {
		h.Set("X-Next-Page", "")
	}
	if page > 1 {
		h.Set("X-Prev-Page", strconv.Itoa(page-1))
		links = append(links, link("prev", page-1))
	} else {
		h.Set("X-Prev-Page", "")
	}
	h.Set("Link", strings.Join(links, ", "))
	writeJSON(w, http.StatusOK, out)
}

// params reads a request's attributes: a JSON body (as the Go client sends), a form, or the
// query string.
type params map[string]any

func readParams(r *http.Request) (params, bool) {
	p := params{}
	for k, v := range r.URL.Query() {
		p[k] = v[0]
	}
	if r.Body == nil || r.ContentLength == 0 {
		return p, true
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err != nil {
			return nil, false
		}
		for k, v := range r.PostForm {
			p[k] = v[0]
		}
		return p, true
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return nil, false
	}
	for k, v := range body {
		p[k] = v
	}
	return p, true
}

func (p params) has(k string) bool { _, ok := p[k]; return ok }

func (p params) str(k string) string {
	switch v := p[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func (p params) boolean(k string) bool {
	switch v := p[k].(type) {
	case bool:
		return v
	case string:
		return v == "true" || v == "1"
	}
	return false
}

// labels reads a label list: a comma-separated string or an array, as GitLab accepts both.
func (p params) labels(k string) []string {
	var raw []string
	switch v := p[k].(type) {
	case string:
		raw = strings.Split(v, ",")
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				raw = append(raw, s)
			}
		}
	}
	var out []string
	for _, l := range raw {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

func (s *Server) createMR(w http.ResponseWriter, r *http.Request) {
	p, ok := readParams(r)
	if !ok {
		writeError(w, http.StatusBadRequest, "The request body is not valid JSON")
		return
	}
	var missing []string
	for _, k := range []string{"source_branch", "target_branch", "title"} {
		if p.str(k) == "" {
			missing = append(missing, k+" is missing")
		}
	}
	if len(missing) > 0 {
		writeError(w, http.StatusBadRequest, strings.Join(missing, ", "))
		return
	}
	if s.failCreate > 0 {
		s.failCreate--
		writeMessage(w, http.StatusInternalServerError, "500 Internal Server Error")
		return
	}
	source, target := p.str("source_branch"), p.str("target_branch")
	switch {
	case source == target:
		writeMessages(w, http.StatusConflict, "You can't use same project/branch for source and target")
		return
	case s.bare.BranchSHA(source) == "":
		writeMessages(w, http.StatusUnprocessableEntity, fmt.Sprintf("Source branch %q does not exist", source))
		return
	case s.bare.BranchSHA(target) == "":
		writeMessages(w, http.StatusUnprocessableEntity, fmt.Sprintf("Target branch %q does not exist", target))
		return
	}
	for _, m := range s.mrs {
		if m.state == "opened" && m.source == source && m.target == target {
			writeMessages(w, http.StatusConflict, fmt.Sprintf("Another open merge request already exists for this source branch: !%d", m.iid))
			return
		}
	}
	now := s.now().UTC()
	m := &mergeRequest{
		iid: len(s.mrs) + 1, state: "opened", title: p.str("title"), description: p.str("description"),
		source: source, target: target, labels: p.labels("labels"), squash: p.boolean("squash"),
		removeSource: p.boolean("remove_source_branch"), createdAt: now, updatedAt: now,
	}
	s.mrs = append(s.mrs, m)
	writeJSON(w, http.StatusCreated, s.render(m, true))
}

func (s *Server) withMR(w http.ResponseWriter, iid string, fn func(*mergeRequest)) {
	n, err := strconv.Atoi(iid)
	m := s.mr(n)
	if err != nil || m == nil {
		writeMessage(w, http.StatusNotFound, "404 Not found")
		return
	}
	fn(m)
}

func (s *Server) updateMR(w http.ResponseWriter, r *http.Request, m *mergeRequest) {
	p, ok := readParams(r)
	if !ok {
		writeError(w, http.StatusBadRequest, "The request body is not valid JSON")
		return
	}
	known := []string{"title", "description", "labels", "add_labels", "remove_labels", "state_event", "target_branch", "squash", "remove_source_branch"}
	if !slices.ContainsFunc(known, p.has) {
		writeError(w, http.StatusBadRequest, "title, description, labels, add_labels, remove_labels, state_event, target_branch, squash, remove_source_branch are missing, at least one parameter must be provided")
		return
	}
	if ev := p.str("state_event"); p.has("state_event") && ev != "close" && ev != "reopen" {
		writeError(w, http.StatusBadRequest, "state_event does not have a valid value")
		return
	}
	if p.has("target_branch") && s.bare.BranchSHA(p.str("target_branch")) == "" {
		writeMessages(w, http.StatusUnprocessableEntity, fmt.Sprintf("Target branch %q does not exist", p.str("target_branch")))
		return
	}
	if p.has("title") {
		if p.str("title") == "" {
			writeMessage(w, http.StatusBadRequest, "title can't be blank")
			return
		}
		m.title = p.str("title")
	}
	if p.has("description") {
		m.description = p.str("description")
	}
	if p.has("target_branch") {
		m.target = p.str("target_branch")
	}
	if p.has("squash") {
		m.squash = p.boolean("squash")
	}
	if p.has("remove_source_branch") {
		m.removeSource = p.boolean("remove_source_branch")
	}
	if p.has("labels") {
		m.labels = p.labels("labels")
	}
	for _, l := range p.labels("add_labels") {
		if !slices.Contains(m.labels, l) {
			m.labels = append(m.labels, l)
		}
	}
	for _, l := range p.labels("remove_labels") {
		m.labels = slices.DeleteFunc(m.labels, func(x string) bool { return x == l })
	}
	switch p.str("state_event") {
	case "close":
		if m.state == "opened" {
			s.close(m)
		}
	case "reopen":
		if m.state == "closed" && s.bare.BranchSHA(m.source) != "" {
			m.state, m.headSHA, m.closedAt = "opened", "", time.Time{}
		}
	}
	m.updatedAt = s.now().UTC()
	writeJSON(w, http.StatusOK, s.render(m, true))
}

func (s *Server) mergeMR(w http.ResponseWriter, r *http.Request, m *mergeRequest) {
	p, ok := readParams(r)
	if !ok {
		writeError(w, http.StatusBadRequest, "The request body is not valid JSON")
		return
	}
	if m.state != "opened" {
		writeMessage(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
		return
	}
	head := s.bare.BranchSHA(m.source)
	if sha := p.str("sha"); sha != "" && sha != head {
		writeMessage(w, http.StatusConflict, "SHA does not match HEAD of source branch: "+head)
		return
	}
	auto := p.boolean("auto_merge") || p.boolean("merge_when_pipeline_succeeds")
	squash := m.squash
	if p.has("squash") {
		squash = p.boolean("squash")
	}
	status := s.detailedStatus(m)
	running := s.pipeline == PipelineRunning
	switch {
	case status == "mergeable" && !(auto && running):
		if err := s.merge(m, squash, p.str("squash_commit_message"), p.str("merge_commit_message"), p.boolean("should_remove_source_branch")); err != nil {
			writeMessage(w, http.StatusUnprocessableEntity, "Branch cannot be merged")
			return
		}
	case auto && (status == "mergeable" || status == "ci_still_running" || status == "not_approved"):
		// Auto-merge waits for what is still to come: the pipeline, the approvals.
		m.autoMerge, m.autoMergeSHA, m.autoSquash = true, head, squash
		m.squashMsg, m.mergeMsg = p.str("squash_commit_message"), p.str("merge_commit_message")
		m.removeOnAuto = p.boolean("should_remove_source_branch")
		m.updatedAt = s.now().UTC()
	default:
		// Conflicts, a source to rebase, a failed pipeline, missing commits: not now, and not
		// by waiting.
		writeMessage(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
		return
	}
	writeJSON(w, http.StatusOK, s.render(m, true))
}

// runAutoMerges carries out the auto-merges whose merge requests became mergeable, and
// cancels those whose source branch moved since they were set. The caller holds s.mu.
func (s *Server) runAutoMerges() {
	for _, m := range s.mrs {
		if m.state != "opened" || !m.autoMerge {
			continue
		}
		if s.bare.BranchSHA(m.source) != m.autoMergeSHA {
			m.autoMerge = false // new commits: the change to merge is not the one approved to merge
			continue
		}
		if s.detailedStatus(m) == "mergeable" && s.pipeline != PipelineRunning {
			if err := s.merge(m, m.autoSquash, m.squashMsg, m.mergeMsg, m.removeOnAuto); err != nil {
				m.autoMerge = false
			}
		}
	}
}

// detailedStatus is GitLab's detailed_merge_status of a merge request. The caller holds s.mu.
func (s *Server) detailedStatus(m *mergeRequest) string {
	if m.state != "opened" {
		return "not_open"
	}
	head, target := s.bare.BranchSHA(m.source), s.bare.BranchSHA(m.target)
	if head == "" || target == "" || s.bare.IsAncestor(head, target) {
		return "commits_status"
	}
	if _, ok := s.bare.MergeTree(target, head); !ok {
		return "conflict"
	}
	if s.mergeMethod != MergeCommit && !s.bare.IsAncestor(target, head) {
		return "need_rebase"
	}
	if s.pipelineRequired {
		switch s.pipeline {
		case PipelineRunning:
			return "ci_still_running"
		case PipelineSuccess:
		default:
			return "ci_must_pass"
		}
	}
	if m.approvedBy < s.approvals {
		return "not_approved"
	}
	return "mergeable"
}

// merge merges a merge request as the project's merge method does. The caller holds s.mu.
func (s *Server) merge(m *mergeRequest, squash bool, squashMsg, mergeMsg string, removeSource bool) error {
	switch s.squashOption {
	case "always":
		squash = true
	case "never":
		squash = false
	}
	head, target := s.bare.BranchSHA(m.source), s.bare.BranchSHA(m.target)
	when := s.now().UTC().Format(time.RFC3339)
	author, err := s.bare.Git(nil, "", "log", "-1", "--format=%an%x00%ae", head)
	if err != nil {
		return err
	}
	an, ae, _ := strings.Cut(strings.TrimSpace(author), "\x00")
	env := []string{
		"GIT_AUTHOR_NAME=" + an, "GIT_AUTHOR_EMAIL=" + ae, "GIT_AUTHOR_DATE=" + when,
		"GIT_COMMITTER_NAME=GitLab", "GIT_COMMITTER_EMAIL=noreply@gitlab.example.com", "GIT_COMMITTER_DATE=" + when,
	}
	commit := func(tree, msg string, parents ...string) (string, error) {
		args := []string{"commit-tree", tree}
		for _, p := range parents {
			args = append(args, "-p", p)
		}
		out, err := s.bare.Git(env, strings.TrimRight(msg, "\n")+"\n", append(args, "-F", "-")...)
		return strings.TrimSpace(out), err
	}
	tip := head // what the merge brings in: the source's head, or its squash commit
	if squash {
		if squashMsg == "" {
			squashMsg = m.title
		}
		base, err := s.bare.Git(nil, "", "merge-base", target, head)
		if err != nil {
			return err
		}
		headTree, err := s.bare.Git(nil, "", "rev-parse", head+"^{tree}")
		if err != nil {
			return err
		}
		if tip, err = commit(strings.TrimSpace(headTree), squashMsg, strings.TrimSpace(base)); err != nil {
			return err
		}
		m.squashCommitSHA = tip
	}
	result := tip
	if s.mergeMethod != MergeFastForwardOnly {
		if mergeMsg == "" {
			mergeMsg = fmt.Sprintf("Merge branch '%s' into '%s'\n\n%s\n\nSee merge request %s!%d", m.source, m.target, m.title, s.ProjectPath(), m.iid)
		}
		tree, ok := s.bare.MergeTree(target, tip)
		if !ok {
			return fmt.Errorf("conflict")
		}
		if result, err = commit(tree, mergeMsg, target, tip); err != nil {
			return err
		}
		m.mergeCommitSHA = result
	}
	// The target moves only from the commit merged onto.
	if _, err := s.bare.Git(nil, "", "update-ref", "refs/heads/"+m.target, result, target); err != nil {
		m.squashCommitSHA, m.mergeCommitSHA = "", ""
		return err
	}
	m.headSHA = head
	now := s.now().UTC()
	m.state, m.mergedAt, m.updatedAt, m.autoMerge = "merged", now, now, false
	if removeSource || m.removeSource {
		_, _ = s.bare.Git(nil, "", "update-ref", "-d", "refs/heads/"+m.source, head)
	}
	return nil
}

// listPipelines serves the pipelines of a commit (?sha=): the one pipeline every merge request
// head gets, in the state SetPipeline gave.
func (s *Server) listPipelines(w http.ResponseWriter, r *http.Request) {
	sha := r.URL.Query().Get("sha")
	out := []map[string]any{}
	if s.pipeline != PipelineNone {
		for _, m := range s.mrs {
			if m.state == "opened" && sha != "" && s.bare.BranchSHA(m.source) == sha {
				out = append(out, map[string]any{"id": 500 + m.iid, "sha": sha, "ref": m.source, "status": s.pipeline, "source": "push"})
				break
			}
		}
	}
	w.Header().Set("X-Total", strconv.Itoa(len(out)))
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getBranch(w http.ResponseWriter, name string) {
	sha := s.bare.BranchSHA(name)
	if sha == "" {
		writeMessage(w, http.StatusNotFound, "404 Branch Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": name, "merged": false, "protected": name == "main", "default": name == "main",
		"can_push": true, "web_url": s.srv.URL + "/" + s.ProjectPath() + "/-/tree/" + name,
		"commit": map[string]any{"id": sha, "short_id": sha[:8]},
	})
}

func (s *Server) deleteBranch(w http.ResponseWriter, name string) {
	sha := s.bare.BranchSHA(name)
	switch {
	case sha == "":
		writeMessage(w, http.StatusNotFound, "404 Branch Not Found")
		return
	case name == "main":
		writeMessage(w, http.StatusForbidden, "403 Forbidden") // the default branch is protected
		return
	}
	if _, err := s.bare.Git(nil, "", "update-ref", "-d", "refs/heads/"+name, sha); err != nil {
		writeMessage(w, http.StatusInternalServerError, "500 Internal Server Error")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) mr(iid int) *mergeRequest {
	if iid < 1 || iid > len(s.mrs) {
		return nil
	}
	return s.mrs[iid-1]
}

// close closes a merge request, freezing its head and cancelling its auto-merge.
func (s *Server) close(m *mergeRequest) {
	if m.headSHA == "" {
		m.headSHA = s.bare.BranchSHA(m.source)
	}
	now := s.now().UTC()
	m.state, m.closedAt, m.updatedAt, m.autoMerge = "closed", now, now, false
}

// headSHA is an open merge request's live head (its branch) or a closed one's frozen head.
func (s *Server) headSHA(m *mergeRequest) string {
	if m.state == "opened" {
		return s.bare.BranchSHA(m.source)
	}
	return m.headSHA
}

func (s *Server) webURL(iid int) string {
	return fmt.Sprintf("%s/%s/-/merge_requests/%d", s.srv.URL, s.ProjectPath(), iid)
}

func stamp(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// render is a merge request as the API shows it; detail adds what only the single merge
// request endpoint has (the head pipeline, diff refs, the user's permissions).
func (s *Server) render(m *mergeRequest, detail bool) map[string]any {
	status := s.detailedStatus(m)
	mergeStatus := "can_be_merged"
	if status == "conflict" || status == "commits_status" {
		mergeStatus = "cannot_be_merged"
	}
	head := s.headSHA(m)
	labels := m.labels
	if labels == nil {
		labels = []string{}
	}
	out := map[string]any{
		"id": 1000 + m.iid, "iid": m.iid, "project_id": DefaultProjectID, "title": m.title, "description": m.description,
		"state": m.state, "created_at": stamp(m.createdAt), "updated_at": stamp(m.updatedAt),
		"merged_at": stamp(m.mergedAt), "closed_at": stamp(m.closedAt),
		"source_branch": m.source, "target_branch": m.target,
		"source_project_id": DefaultProjectID, "target_project_id": DefaultProjectID,
		"labels": labels, "draft": false, "work_in_progress": false,
		"merge_when_pipeline_succeeds": m.autoMerge, "merge_status": mergeStatus, "detailed_merge_status": status,
		"has_conflicts": status == "conflict", "sha": nullable(head),
		"merge_commit_sha": nullable(m.mergeCommitSHA), "squash_commit_sha": nullable(m.squashCommitSHA),
		"squash": m.squash, "force_remove_source_branch": m.removeSource,
		"web_url": s.webURL(m.iid),
		"references": map[string]string{
			"short": fmt.Sprintf("!%d", m.iid), "relative": fmt.Sprintf("!%d", m.iid), "full": fmt.Sprintf("%s!%d", s.ProjectPath(), m.iid),
		},
	}
	if !detail {
		return out
	}
	if s.pipeline != PipelineNone && head != "" {
		out["head_pipeline"] = map[string]any{"id": 500 + m.iid, "sha": head, "ref": m.source, "status": s.pipeline}
	} else {
		out["head_pipeline"] = nil
	}
	out["diff_refs"] = map[string]any{"base_sha": nullable(s.bare.BranchSHA(m.target)), "head_sha": nullable(head)}
	out["user"] = map[string]bool{"can_merge": true}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeMessage answers {"message": "..."}, GitLab's form for most errors.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

// writeMessages answers {"message": ["..."]}, GitLab's form for a model's validation errors.
func writeMessages(w http.ResponseWriter, status int, msgs ...string) {
	writeJSON(w, status, map[string][]string{"message": msgs})
}

// writeError answers {"error": "..."}, GitLab's form for a request's invalid parameters.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
