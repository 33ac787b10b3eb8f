package prgit

import (
	"net/http"
	"slices"
	"sync"
)

// Counts is what both fake hosts count for a test's assertions: every API request that reached
// the server, rejected ones included, and each write request it accepted. The zero value is
// ready, and it is safe for concurrent use. A server embeds it, so its Requests, Writes and
// ResetCounts are the server's own.
type Counts struct {
	mu       sync.Mutex
	requests int
	writes   []string
}

// Request counts one request that reached the server.
func (c *Counts) Request() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
}

// Serve runs handle with a writer that notes the status it answers. When the request is a write
// (any method but GET and HEAD) and handle accepted it (a status under 300), it is kept in Writes
// as "METHOD path", with path as the host shows it.
func (c *Counts) Serve(w http.ResponseWriter, r *http.Request, path string, handle func(http.ResponseWriter)) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	handle(rec)
	if r.Method == http.MethodGet || r.Method == http.MethodHead || rec.status >= 300 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes = append(c.writes, r.Method+" "+path)
}

// Writes lists the write requests served, as "METHOD path".
func (c *Counts) Writes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.writes)
}

// Requests counts every API request that reached the server, rejected ones included.
func (c *Counts) Requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// ResetCounts forgets the counted requests and writes.
func (c *Counts) ResetCounts() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes, c.requests = nil, 0
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
