package web

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// The service's HTTP server drops what it should (docs/design.md §8, limits.http): a client
// that is slow to send its headers or its body, a keep-alive connection that sends nothing, a
// header block or a body over its cap, and connections past the cap wait to be accepted. A
// request refused for its token is answered at once and its connection closed, without
// reading the rest of its body. Only an authorized evaluation on demand, which may wait for a
// running cycle and then run its own, is given longer to answer.

// NewServer is the service's HTTP server for a handler of NewHandler, under lim (a zero field
// takes its default): ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout and
// MaxHeaderBytes. Serve it on a listener of Listen.
func NewServer(h http.Handler, lim svcconfig.HTTPLimits) *http.Server {
	lim.SetDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.ReadHeaderTimeout.Duration,
		ReadTimeout:       lim.ReadTimeout.Duration,
		WriteTimeout:      lim.WriteTimeout.Duration,
		IdleTimeout:       lim.IdleTimeout.Duration,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
	}
}

// Listen listens on addr and accepts at most lim.MaxConnections connections at once; the
// ones past it wait in the kernel's queue until one closes.
func Listen(addr string, lim svcconfig.HTTPLimits) (net.Listener, error) {
	lim.SetDefaults()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return netutil.LimitListener(ln, lim.MaxConnections), nil
}

// limitBodies refuses a request whose declared body is over max, and caps the read of any
// other: past max, reading fails with *http.MaxBytesError and the connection is closed after
// the answer.
func limitBodies(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			dropConnection(w)
			writeError(w, http.StatusRequestEntityTooLarge, bodyTooLarge(max))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

func bodyTooLarge(max int64) string {
	return fmt.Sprintf("the request body is larger than %d bytes (limits.http.maxBodyBytes)", max)
}

// isBodyTooLarge reports whether err is a read past limitBodies' cap.
func isBodyTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// dropConnection makes the answer the connection's last and stops reading the request: the
// rest of a body the handler does not want is not waited for.
func dropConnection(w http.ResponseWriter) {
	w.Header().Set("Connection", "close")
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

// extendDeadlines gives an authorized request that runs an evaluation until d from now to be
// read and answered: the server's ReadTimeout would otherwise cancel it (net/http cancels a
// request's context when its connection's read deadline passes) and its WriteTimeout cut the
// answer.
func extendDeadlines(w http.ResponseWriter, d time.Duration) {
	rc := http.NewResponseController(w)
	at := time.Now().Add(d)
	_ = rc.SetReadDeadline(at)
	_ = rc.SetWriteDeadline(at)
}
