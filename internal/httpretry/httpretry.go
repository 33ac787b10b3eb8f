package httpretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Classifier says whether an attempt's outcome is worth another attempt: retry, and the wait
// the server asked for (after, when asked is true); otherwise the policy's backoff applies. now
// is the policy's clock, for answers that name an instant.
type Classifier func(resp *http.Response, err error, now time.Time) (retry bool, after time.Duration, asked bool)

// Policy is how requests are retried. The zero Policy makes one attempt.
type Policy struct {
	// MaxAttempts bounds the attempts per request, the first included (below 1: 1).
	MaxAttempts int
	// Base and Max are the exponential backoff's first and largest wait.
	Base, Max time.Duration
	// MaxWait bounds any one wait, the server's included, when the request has no deadline
	// (0: unbounded). With a deadline, a wait that would outlast it ends the retries.
	MaxWait time.Duration
	// Classify says what is worth retrying (default Transient).
	Classify Classifier
	// Now is the clock (default time.Now); Sleep waits, returning early with the context's
	// error (default a timer); Jitter randomizes a backoff (default HalfJitter).
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	Jitter func(d time.Duration) time.Duration
	// Log receives a debug line per retry; nil discards.
	Log *slog.Logger
}

// Permanent marks an error a round tripper returns that no retry can help (a credential that
// cannot be read, say): Transient never retries it.
type Permanent struct{ Err error }

func (p Permanent) Error() string { return p.Err.Error() }
func (p Permanent) Unwrap() error { return p.Err }

// Transient is the common classification: connection errors (but not a canceled or expired
// context, nor a Permanent error), 429 Too Many Requests and 5xx are worth retrying, after
// Retry-After when the answer names one.
func Transient(resp *http.Response, err error, now time.Time) (retry bool, after time.Duration, asked bool) {
	if err != nil {
		var p Permanent
		if errors.As(err, &p) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return false, 0, false
		}
		return true, 0, false
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		after, asked = RetryAfter(resp.Header.Get("Retry-After"), now)
		return true, after, asked
	}
	return false, 0, false
}

// RetryAfter parses a Retry-After header: delay seconds or an HTTP date (a date in the past
// is no wait). ok is false when there is no usable header.
func RetryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if secs, err := strconv.Atoi(h); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	when, err := http.ParseTime(h)
	if err != nil {
		return 0, false
	}
	return max(when.Sub(now), 0), true
}

// HalfJitter picks a wait uniformly from [d/2, d).
func HalfJitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(half)
}

// Transport wraps next with the policy.
func (p Policy) Transport(next http.RoundTripper) http.RoundTripper {
	if p.MaxAttempts < 1 {
		p.MaxAttempts = 1
	}
	if p.Classify == nil {
		p.Classify = Transient
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	if p.Jitter == nil {
		p.Jitter = HalfJitter
	}
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	return &transport{next: next, p: p}
}

type transport struct {
	next http.RoundTripper
	p    Policy
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		if attempt > 1 && req.Body != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, fmt.Errorf("retry: replay request body: %w", err)
			}
			req = req.Clone(ctx)
			req.Body = body
		}
		resp, err := t.next.RoundTrip(req)
		if attempt >= t.p.MaxAttempts || ctx.Err() != nil || (req.Body != nil && req.GetBody == nil) {
			return resp, err
		}
		retry, wait, asked := t.p.Classify(resp, err, t.p.Now())
		if !retry {
			return resp, err
		}
		if !asked {
			wait = t.backoff(attempt)
		}
		if !t.fits(ctx, wait) {
			return resp, err // waiting would outlast the request: report what there is now
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
			drain(resp)
		}
		t.p.Log.Debug("request failed, retrying", "url", req.URL.Redacted(), "attempt", attempt, "status", status, "wait", wait)
		if serr := t.p.Sleep(ctx, wait); serr != nil {
			if err == nil {
				err = fmt.Errorf("server answered %d; retry: %w", status, serr)
			}
			return nil, err
		}
	}
}

func (t *transport) backoff(attempt int) time.Duration {
	d := t.p.Base << (attempt - 1)
	if d > t.p.Max || d <= 0 {
		d = t.p.Max
	}
	return t.p.Jitter(d)
}

// fits reports whether a wait ends before the request's deadline, or, without one, within
// MaxWait.
func (t *transport) fits(ctx context.Context, wait time.Duration) bool {
	if deadline, ok := ctx.Deadline(); ok {
		return !t.p.Now().Add(wait).After(deadline)
	}
	return t.p.MaxWait <= 0 || wait <= t.p.MaxWait
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func drain(resp *http.Response) {
	if resp.Body != nil {
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
		_ = resp.Body.Close()
	}
}
