package gittest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Services of the Git smart HTTP protocol, for Server.Requests.
const (
	UploadPack  = "git-upload-pack"  // fetch and clone
	ReceivePack = "git-receive-pack" // push
)

// DefaultUser and DefaultPassword are the credentials a server accepts unless WithBasicAuth
// says otherwise.
const (
	DefaultUser     = "autoscaler"
	DefaultPassword = "s3cret-password"
)

// Server is a Git smart HTTP server over a directory of bare repositories.
type Server struct {
	t        testing.TB
	root     string // bare repositories: <root>/<name>.git
	home     string // HOME and config for every git process
	backend  string
	user     string
	password string
	srv      *httptest.Server

	mu                sync.Mutex
	requests          map[string]int // "<repo>\x00<service>" → advertisements served
	posts             map[string]int // "<repo>\x00<service>" → pack requests served
	beforeReceivePack func(repo string)
	allow             func(user, password string) bool
}

// Option configures a Server.
type Option func(*Server)

// WithBasicAuth sets the only credentials the server accepts.
func WithBasicAuth(user, password string) Option {
	return func(s *Server) { s.user, s.password = user, password }
}

// WithBeforeReceivePack runs fn right before a push's pack is received — after the client has
// read the advertised refs — so a test can push a concurrent commit into that window.
func WithBeforeReceivePack(fn func(repo string)) Option {
	return func(s *Server) { s.beforeReceivePack = fn }
}

// NewServer starts a server; it is closed when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		t:        t,
		root:     t.TempDir(),
		home:     t.TempDir(),
		user:     DefaultUser,
		password: DefaultPassword,
		requests: map[string]int{},
		posts:    map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	execPath := strings.TrimSpace(s.gitOutput("", "--exec-path"))
	s.backend = filepath.Join(execPath, "git-http-backend")
	if _, err := os.Stat(s.backend); err != nil {
		t.Fatalf("gittest: git http-backend not found: %v", err)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.srv.Close)
	return s
}

// SetBeforeReceivePack replaces the hook run right before a push's pack is received; nil
// removes it.
func (s *Server) SetBeforeReceivePack(fn func(repo string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeReceivePack = fn
}

// AllowCredentials makes the server also accept the credentials allow approves, as a Git host
// accepts its API tokens over HTTPS (e.g. an App installation token with the username
// x-access-token). nil removes it.
func (s *Server) AllowCredentials(allow func(user, password string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allow = allow
}

// User and Password are the credentials the server accepts.
func (s *Server) User() string { return s.user }

// Password is the password the server accepts.
func (s *Server) Password() string { return s.password }

// URL is the HTTP URL of a repository, without credentials.
func (s *Server) URL(name string) string { return s.srv.URL + "/" + name + ".git" }

// Dir is the path of a repository's bare directory, for tests of local and file:// remotes.
func (s *Server) Dir(name string) string { return filepath.Join(s.root, name+".git") }

// Requests counts the requests of one service (UploadPack or ReceivePack) made to a repository:
// each fetch, clone or push starts with exactly one ref advertisement, so this is the number
// of fetches (or pushes) a client made, whether or not it then transferred a pack.
func (s *Server) Requests(name, service string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[name+"\x00"+service]
}

// PackRequests counts the pack exchanges (POST requests) of one service on a repository.
func (s *Server) PackRequests(name, service string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posts[name+"\x00"+service]
}

// ResetCounts zeroes the request counters.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.requests)
	clear(s.posts)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	s.mu.Lock()
	allow := s.allow
	s.mu.Unlock()
	if !ok || (user != s.user || pass != s.password) && (allow == nil || !allow(user, pass)) {
		w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
		return
	}
	repo, service := classify(r)
	if service != "" {
		s.mu.Lock()
		if r.Method == http.MethodGet {
			s.requests[repo+"\x00"+service]++
		} else {
			s.posts[repo+"\x00"+service]++
		}
		hook := s.beforeReceivePack
		s.mu.Unlock()
		if hook != nil && r.Method == http.MethodPost && service == ReceivePack {
			hook(repo)
		}
	}
	if r.Method == http.MethodPost {
		// The body is read whole before git sees it, and one that ends early — a client or a
		// network that dropped the connection mid-push — is refused: git http-backend spins
		// at full CPU on a body shorter than its Content-Length, where a real host's front
		// end would have refused it too.
		spool, err := os.CreateTemp("", "gittest-request-")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer os.Remove(spool.Name())
		defer spool.Close()
		n, err := io.Copy(spool, r.Body)
		if err == nil && r.ContentLength >= 0 && n != r.ContentLength {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			http.Error(w, "request body cut short: "+err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		r.Body, r.ContentLength = spool, n
	}
	h := &cgi.Handler{
		Path:   s.backend,
		Dir:    s.root,
		Stderr: logWriter{s.t},
		Env: append(s.gitEnv(),
			"GIT_PROJECT_ROOT="+s.root,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER="+user,
		),
	}
	h.ServeHTTP(w, r)
}

// classify returns the repository name and the service of a smart HTTP request.
func classify(r *http.Request) (repo, service string) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	before, _, ok := strings.Cut(p, ".git/")
	if !ok {
		return "", ""
	}
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(p, "/info/refs"):
		service = r.URL.Query().Get("service")
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/"+UploadPack):
		service = UploadPack
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/"+ReceivePack):
		service = ReceivePack
	}
	return before, service
}

// CreateRepo creates a bare repository with one initial commit on `main` holding files
// (path → content), and returns the commit's sha.
func (s *Server) CreateRepo(name string, files map[string]string) string {
	s.t.Helper()
	dir := s.Dir(name)
	s.git("", "init", "--quiet", "--bare", "--initial-branch=main", dir)
	s.git(dir, "config", "http.receivepack", "true")
	return s.CommitAt(name, files, "initial commit", "Repo Admin <admin@example.com>",
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
}

// Clone clones a repository (outside the server) into a new temporary directory and returns it.
func (s *Server) Clone(name string) string {
	s.t.Helper()
	dir := filepath.Join(s.t.TempDir(), name)
	s.git("", "clone", "--quiet", s.Dir(name), dir)
	return dir
}

// Commit pushes a commit on main changing files (path → content; empty content deletes the
// file), as the human author "Name <email>", and returns its sha. It is a concurrent person.
func (s *Server) Commit(name string, files map[string]string, message, author string) string {
	s.t.Helper()
	return s.CommitAt(name, files, message, author, time.Time{})
}

// CommitAt is Commit with author and committer dates set to when (the zero time means now).
func (s *Server) CommitAt(name string, files map[string]string, message, author string, when time.Time) string {
	s.t.Helper()
	dir := s.worktree(name)
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if files[p] == "" {
			s.git(dir, "rm", "--quiet", "--", p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			s.t.Fatalf("gittest: %v", err)
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			s.t.Fatalf("gittest: %v", err)
		}
		s.git(dir, "add", "--", p)
	}
	s.gitAs(dir, author, when, "commit", "--quiet", "--allow-empty", "-m", message)
	s.git(dir, "push", "--quiet", "origin", "HEAD:refs/heads/main")
	return strings.TrimSpace(s.gitOutput(dir, "rev-parse", "HEAD"))
}

// Revert pushes `git revert <sha>` on main, made by author at when (zero: now), and returns
// the revert's sha. Its message is git's own: `Revert "…"` and "This reverts commit <sha>.".
func (s *Server) Revert(name, sha, author string, when time.Time) string {
	s.t.Helper()
	dir := s.worktree(name)
	s.gitAs(dir, author, when, "revert", "--no-edit", sha)
	s.git(dir, "push", "--quiet", "origin", "HEAD:refs/heads/main")
	return strings.TrimSpace(s.gitOutput(dir, "rev-parse", "HEAD"))
}

// ImportCommit is one commit for Import.
type ImportCommit struct {
	// Files are set (path → content); an empty content deletes the file.
	Files   map[string]string
	Message string
	Author  string // "Name <email>"; also the committer
	When    time.Time
}

// Import appends commits to main in one `git fast-import` run — thousands of commits in well
// under a second, for benchmarks over long histories. It returns the new head's sha.
func (s *Server) Import(name string, commits []ImportCommit) string {
	s.t.Helper()
	var b strings.Builder
	parent := s.HeadSHA(name, "main")
	for i, c := range commits {
		an, ae := splitAuthor(c.Author)
		when := c.When
		if when.IsZero() {
			when = time.Now()
		}
		stamp := fmt.Sprintf("%s <%s> %d +0000", an, ae, when.Unix())
		fmt.Fprintf(&b, "commit refs/heads/main\nmark :%d\nauthor %s\ncommitter %s\ndata %d\n%s\n",
			i+1, stamp, stamp, len(c.Message), c.Message)
		switch {
		case i > 0:
			fmt.Fprintf(&b, "from :%d\n", i)
		case parent != "":
			fmt.Fprintf(&b, "from %s\n", parent)
		}
		paths := make([]string, 0, len(c.Files))
		for p := range c.Files {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			if c.Files[p] == "" {
				fmt.Fprintf(&b, "D %s\n", p)
				continue
			}
			fmt.Fprintf(&b, "M 100644 inline %s\ndata %d\n%s\n", p, len(c.Files[p]), c.Files[p])
		}
		b.WriteString("\n")
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = s.Dir(name)
	cmd.Env = s.gitEnv()
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("gittest: git fast-import: %v: %s", err, out)
	}
	return s.HeadSHA(name, "main")
}

// RawEntry is a tree entry written exactly as given, unchecked: what a remote that checks no
// object accepts, and what a malicious remote serves — names such as "..", "a/../b", ".git",
// a name twice in one tree.
type RawEntry struct {
	// Mode is the entry's octal mode: "100644" (the default for a blob), "100755",
	// "120000" (a symlink), "40000" (the default with Entries).
	Mode string
	Name string
	// Content is a blob's content, or a symlink's target.
	Content string
	// Blob, when set, is the id of a blob already in the repository, used in Content's place.
	Blob string
	// Entries make the entry a directory holding them.
	Entries []RawEntry
}

// CommitRawEntries commits on main a tree that is main's root tree with entries added as
// given (objects written with `git hash-object --literally`, so that git checks none of
// them), moves main to it, and returns the commit's sha. Later Commit calls fail while such
// a commit is main's head: git refuses to check it out.
func (s *Server) CommitRawEntries(name, message string, entries ...RawEntry) string {
	s.t.Helper()
	dir := s.Dir(name)
	root := s.runInput(dir, nil, "cat-file", "tree", "main^{tree}")
	tree := s.rawTree(dir, root, entries)
	sha := strings.TrimSpace(s.gitOutput(dir, "commit-tree", tree, "-p", "main", "-m", message))
	s.git(dir, "update-ref", "refs/heads/main", sha)
	return sha
}

// ZeroBlob writes a blob of size zero bytes into the repository, streamed by git (never held
// in the test's memory), and returns its id: a huge file that compresses to little.
func (s *Server) ZeroBlob(name string, size int64) string {
	s.t.Helper()
	cmd := exec.Command("sh", "-c", fmt.Sprintf("head -c %d /dev/zero | git hash-object -w --stdin", size))
	cmd.Dir = s.Dir(name)
	cmd.Env = s.gitEnv()
	out, err := cmd.Output()
	if err != nil {
		s.t.Fatalf("gittest: write a blob of %d zeros: %v", size, err)
	}
	return strings.TrimSpace(string(out))
}

// rawTree writes a tree of head's entries and entries, in Git's order (by name, a
// directory's as if it ended in a slash), and returns its id.
func (s *Server) rawTree(dir string, head []byte, entries []RawEntry) string {
	type rawEntry struct {
		mode, name string
		id         []byte
	}
	var all []rawEntry
	for len(head) > 0 {
		sp, nul := bytes.IndexByte(head, ' '), bytes.IndexByte(head, 0)
		all = append(all, rawEntry{mode: string(head[:sp]), name: string(head[sp+1 : nul]), id: head[nul+1 : nul+21]})
		head = head[nul+21:]
	}
	for _, e := range entries {
		mode, id := e.Mode, ""
		if e.Entries != nil {
			if mode == "" {
				mode = "40000"
			}
			id = s.rawTree(dir, nil, e.Entries)
		} else {
			if mode == "" {
				mode = "100644"
			}
			id = e.Blob
			if id == "" {
				id = strings.TrimSpace(string(s.runInput(dir, []byte(e.Content), "hash-object", "-w", "--stdin")))
			}
		}
		bin, err := hex.DecodeString(id)
		if err != nil {
			s.t.Fatalf("gittest: object id %q: %v", id, err)
		}
		all = append(all, rawEntry{mode: mode, name: e.Name, id: bin})
	}
	key := func(e rawEntry) string {
		if e.mode == "40000" {
			return e.name + "/"
		}
		return e.name
	}
	sort.SliceStable(all, func(i, j int) bool { return key(all[i]) < key(all[j]) })
	var raw []byte
	for _, e := range all {
		raw = append(raw, e.mode+" "+e.name+"\x00"...)
		raw = append(raw, e.id...)
	}
	return strings.TrimSpace(string(s.runInput(dir, raw, "hash-object", "-t", "tree", "-w", "--literally", "--stdin")))
}

// runInput runs git in dir with stdin and returns its standard output, bytes as they are.
func (s *Server) runInput(dir string, stdin []byte, args ...string) []byte {
	s.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = s.gitEnv()
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("gittest: git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// worktree returns a fresh clone of main to act in.
func (s *Server) worktree(name string) string {
	s.t.Helper()
	dir := filepath.Join(s.t.TempDir(), "w")
	empty := strings.TrimSpace(s.gitOutput(s.Dir(name), "for-each-ref", "--count=1", "refs/heads/main")) == ""
	if empty {
		s.git("", "init", "--quiet", "--initial-branch=main", dir)
		s.git(dir, "remote", "add", "origin", s.Dir(name))
		return dir
	}
	s.git("", "clone", "--quiet", "--branch", "main", s.Dir(name), dir)
	return dir
}

// LogEntry is one commit as git log shows it.
type LogEntry struct {
	SHA     string
	Parents []string
	Author  string // "Name <email>"
	Subject string
	Message string // the full message, as git stores it
	Time    time.Time
}

// Log lists the commits reachable from ref (a branch or sha), newest first.
func (s *Server) Log(name, ref string) []LogEntry {
	s.t.Helper()
	out := s.gitOutput(s.Dir(name), "log", "-z", "--format=%H%n%P%n%an <%ae>%n%cI%n%B", ref, "--")
	var entries []LogEntry
	for _, rec := range strings.Split(out, "\x00") {
		if rec == "" {
			continue
		}
		f := strings.SplitN(rec, "\n", 5)
		if len(f) < 5 {
			s.t.Fatalf("gittest: unexpected log record %q", rec)
		}
		at, err := time.Parse(time.RFC3339, f[3])
		if err != nil {
			s.t.Fatalf("gittest: log date: %v", err)
		}
		e := LogEntry{SHA: f[0], Author: f[2], Message: f[4], Time: at}
		e.Subject, _, _ = strings.Cut(f[4], "\n")
		if f[1] != "" {
			e.Parents = strings.Fields(f[1])
		}
		entries = append(entries, e)
	}
	return entries
}

// RawMessage returns a commit's message bytes exactly as stored in the commit object.
func (s *Server) RawMessage(name, sha string) string {
	s.t.Helper()
	obj := s.gitOutput(s.Dir(name), "cat-file", "commit", sha)
	_, msg, ok := strings.Cut(obj, "\n\n")
	if !ok {
		s.t.Fatalf("gittest: commit %s has no message", sha)
	}
	return msg
}

// ReadFile returns a file's content at ref.
func (s *Server) ReadFile(name, ref, path string) string {
	s.t.Helper()
	return s.gitOutput(s.Dir(name), "show", ref+":"+path)
}

// HeadSHA returns the sha a branch points at, or "" when it does not exist.
func (s *Server) HeadSHA(name, branch string) string {
	s.t.Helper()
	out := s.gitOutput(s.Dir(name), "for-each-ref", "--format=%(objectname)", "refs/heads/"+branch)
	return strings.TrimSpace(out)
}

// Branches lists a repository's branch names, sorted.
func (s *Server) Branches(name string) []string {
	s.t.Helper()
	out := s.gitOutput(s.Dir(name), "for-each-ref", "--format=%(refname:short)", "refs/heads/")
	return strings.Fields(out)
}

// Git runs a git command in a repository's bare directory and returns its standard output.
func (s *Server) Git(name string, args ...string) string {
	s.t.Helper()
	return s.gitOutput(s.Dir(name), args...)
}

func (s *Server) git(dir string, args ...string) {
	s.t.Helper()
	s.gitOutput(dir, args...)
}

func (s *Server) gitAs(dir, author string, when time.Time, args ...string) {
	s.t.Helper()
	an, ae := splitAuthor(author)
	env := []string{
		"GIT_AUTHOR_NAME=" + an, "GIT_AUTHOR_EMAIL=" + ae,
		"GIT_COMMITTER_NAME=" + an, "GIT_COMMITTER_EMAIL=" + ae,
	}
	if !when.IsZero() {
		d := when.Format(time.RFC3339)
		env = append(env, "GIT_AUTHOR_DATE="+d, "GIT_COMMITTER_DATE="+d)
	}
	s.run(dir, env, args...)
}

func (s *Server) gitOutput(dir string, args ...string) string {
	s.t.Helper()
	return s.run(dir, nil, args...)
}

func (s *Server) run(dir string, env []string, args ...string) string {
	s.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(s.gitEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("gittest: git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// gitEnv isolates every git process from the machine's and the user's configuration.
func (s *Server) gitEnv() []string {
	return append(os.Environ(),
		"HOME="+s.home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=gittest", "GIT_AUTHOR_EMAIL=gittest@example.com",
		"GIT_COMMITTER_NAME=gittest", "GIT_COMMITTER_EMAIL=gittest@example.com",
	)
}

// splitAuthor splits "Name <email>".
func splitAuthor(a string) (name, email string) {
	name, rest, ok := strings.Cut(a, "<")
	if !ok {
		return strings.TrimSpace(a), "nobody@example.com"
	}
	return strings.TrimSpace(name), strings.TrimSuffix(strings.TrimSpace(rest), ">")
}

// logWriter sends the backend's standard error to the test log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Logf("git http-backend: %s", strings.TrimSpace(string(p)))
	return len(p), nil
}

// String describes the server for failure messages.
func (s *Server) String() string { return fmt.Sprintf("gittest.Server(%s)", s.srv.URL) }
