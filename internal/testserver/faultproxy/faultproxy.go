package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kind is what a rule does to a request it matches.
type Kind int

const (
	// Answer replies Status with Header and Body, without forwarding: a 500, a rate limit,
	// garbage with a 200.
	Answer Kind = iota
	// Slow waits Delay, then forwards.
	Slow
	// CutResponse forwards, sends the first After bytes of the response body, then drops the
	// connection.
	CutResponse
	// StallResponse forwards, sends the first After bytes of the response body, then sends
	// nothing more until the client gives up (or the proxy closes).
	StallResponse
	// CutRequest forwards the first After bytes of the request body — the backend starts
	// receiving — then drops the connection.
	CutRequest
	// Call calls Func with the request before anything else happens to it — a test's hook at
	// one point of an exchange: SIGKILL the client there, say — then forwards it when Func
	// returns true (the backend serves it; its answer may find no one) or drops the
	// connection (the request never reached the backend).
	Call
)

// Rule is one fault and the requests it applies to.
type Rule struct {
	// Match selects the requests (nil: every request).
	Match func(*http.Request) bool
	Kind  Kind
	// Status, Header and Body are Answer's reply.
	Status int
	Header http.Header
	Body   string
	// Served makes Answer forward the request first and put its reply in place of the
	// backend's: the backend did the work, the client hears that it failed.
	Served bool
	// Delay is Slow's wait.
	Delay time.Duration
	// After is how many body bytes pass before a cut or a stall.
	After int64
	// Func is Call's hook.
	Func func(*http.Request) (forward bool)
	// Times is how many matching requests it applies to (0: all of them).
	Times int

	hits int
}

// Proxy forwards to a backend, applying its rules.
type Proxy struct {
	t       testing.TB
	srv     *httptest.Server
	backend *url.URL
	rp      *httputil.ReverseProxy
	closing chan struct{}

	mu    sync.Mutex
	rules []*Rule
}

// New starts a proxy to the backend's base URL; it is closed when the test ends.
func New(t testing.TB, backend string) *Proxy {
	t.Helper()
	u, err := url.Parse(backend)
	if err != nil {
		t.Fatalf("faultproxy: backend %q: %v", backend, err)
	}
	p := &Proxy{t: t, backend: u, closing: make(chan struct{})}
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.ErrorLog = nil
	p.rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		// The backend's answer could not be had (a cut request): the connection goes too.
		panic(http.ErrAbortHandler)
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.srv.Config.ErrorLog = nil
	t.Cleanup(func() {
		close(p.closing)
		p.srv.CloseClientConnections()
		p.srv.Close()
	})
	return p
}

// URL is the proxy's base URL: the backend's, on another host and port, with the same paths.
func (p *Proxy) URL() string { return p.srv.URL }

// Rewrite turns a URL of the backend into the same URL through the proxy.
func (p *Proxy) Rewrite(backendURL string) string {
	return strings.Replace(backendURL, p.backend.Scheme+"://"+p.backend.Host, p.srv.URL, 1)
}

// Add adds a rule; the first rule that matches a request (and has uses left) applies.
func (p *Proxy) Add(r Rule) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	rule := r
	p.rules = append(p.rules, &rule)
	return &rule
}

// Clear removes every rule: from now on the proxy forwards everything.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Hits is how many requests a rule has applied to.
func (p *Proxy) Hits(r *Rule) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return r.hits
}

func (p *Proxy) rule(r *http.Request) *Rule {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rule := range p.rules {
		if rule.Times > 0 && rule.hits >= rule.Times {
			continue
		}
		if rule.Match == nil || rule.Match(r) {
			rule.hits++
			return rule
		}
	}
	return nil
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	rule := p.rule(r)
	if rule == nil {
		p.rp.ServeHTTP(w, r)
		return
	}
	switch rule.Kind {
	case Answer:
		if rule.Served {
			ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
			defer cancel()
			p.rp.ServeHTTP(httptest.NewRecorder(), r.WithContext(ctx))
		}
		for k, vs := range rule.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		_, _ = io.Copy(io.Discard, r.Body) // (read already when Served)
		w.WriteHeader(rule.Status)
		_, _ = io.WriteString(w, rule.Body)
	case Slow:
		select {
		case <-time.After(rule.Delay):
		case <-r.Context().Done():
			return
		case <-p.closing:
			return
		}
		p.rp.ServeHTTP(w, r)
	case CutResponse, StallResponse:
		p.rp.ServeHTTP(&partialWriter{ResponseWriter: w, left: rule.After, stall: rule.Kind == StallResponse, done: r.Context().Done(), closing: p.closing}, r)
		// The response ended within the allowance: nothing was cut.
	case CutRequest:
		p.cutRequest(r, rule.After)
		panic(http.ErrAbortHandler) // and the client's connection too
	case Call:
		// The whole request is read first, and it is forwarded on a context of its own: what
		// the hook does to the client cannot cut it short, so a forwarded request is served.
		body, err := io.ReadAll(r.Body)
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !rule.Func(r) {
			panic(http.ErrAbortHandler)
		}
		// (A context that can be canceled, or the proxy would watch the connection instead.)
		ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
		defer cancel()
		p.rp.ServeHTTP(w, r.WithContext(ctx))
	}
}

// cutRequest sends the backend the request with only the first n bytes of its body and then
// closes the connection, as a network that fails mid-upload does: the backend reads a body
// that ends too soon.
func (p *Proxy) cutRequest(r *http.Request, n int64) {
	conn, err := net.Dial("tcp", p.backend.Host)
	if err != nil {
		return
	}
	defer conn.Close()
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host, out.Host, out.RequestURI = p.backend.Scheme, p.backend.Host, p.backend.Host, ""
	out.Body = &cutReader{r: r.Body, left: n}
	_ = out.Write(conn) // fails at the cut, with the first n bytes sent
}

// partialWriter passes on a response's headers and its first bytes, then drops the
// connection or stalls.
type partialWriter struct {
	http.ResponseWriter
	left    int64
	stall   bool
	done    <-chan struct{}
	closing <-chan struct{}
}

func (pw *partialWriter) Write(b []byte) (int, error) {
	if int64(len(b)) <= pw.left {
		pw.left -= int64(len(b))
		return pw.ResponseWriter.Write(b)
	}
	_, _ = pw.ResponseWriter.Write(b[:pw.left])
	pw.left = 0
	if f, ok := pw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	if pw.stall {
		select {
		case <-pw.done:
		case <-pw.closing:
		}
	}
	panic(http.ErrAbortHandler) // the server drops the connection
}

// Flush passes flushes through, so that a stalled response's first bytes reach the client.
func (pw *partialWriter) Flush() {
	if f, ok := pw.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// cutReader is a request body that ends in an error after its first bytes.
type cutReader struct {
	r    io.ReadCloser
	left int64
}

var errCut = errors.New("faultproxy: connection dropped mid-request")

func (c *cutReader) Read(b []byte) (int, error) {
	if c.left <= 0 {
		return 0, errCut
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	return n, err
}

func (c *cutReader) Close() error { return c.r.Close() }

// Path matches requests whose path contains s.
func Path(s string) func(*http.Request) bool {
	return func(r *http.Request) bool { return strings.Contains(r.URL.Path, s) }
}

// Method and path: requests of that method whose path contains s.
func MethodPath(method, s string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Method == method && strings.Contains(r.URL.Path, s) }
}

// GitPack matches the pack exchange of a Git smart HTTP service ("git-upload-pack" for a
// fetch, "git-receive-pack" for a push): the POST after the ref advertisement.
func GitPack(service string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/"+service)
	}
}

// GitAdvertisement matches the ref advertisement of a Git smart HTTP service: the GET that
// starts every fetch and push.
func GitAdvertisement(service string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs") && r.URL.Query().Get("service") == service
	}
}
