package httpretry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

// script answers the attempts of a request in turn, and records the bodies it was sent.
type script struct {
	answers []func() (*http.Response, error)
	bodies  []string
}

func (s *script) RoundTrip(req *http.Request) (*http.Response, error) {
	body := ""
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		body = string(b)
	}
	s.bodies = append(s.bodies, body)
	return s.answers[len(s.bodies)-1]()
}

func status(code int, header ...string) func() (*http.Response, error) {
	return func() (*http.Response, error) {
		h := http.Header{}
		for i := 0; i+1 < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
		return &http.Response{StatusCode: code, Header: h, Body: io.NopCloser(strings.NewReader("answer"))}, nil
	}
}

func fail(err error) func() (*http.Response, error) {
	return func() (*http.Response, error) { return nil, err }
}

// TestPolicy is the one table of the retry policy: what is retried, how long it waits, and
// when it stops.
func TestPolicy(t *testing.T) {
	// A fixed instant near the real one: a request's deadline comes from the real clock.
	now := time.Now().UTC().Truncate(time.Second)
	refused := errors.New("dial tcp 127.0.0.1:9: connection refused")
	tests := []struct {
		name     string
		answers  []func() (*http.Response, error)
		policy   Policy
		deadline time.Duration // from now; 0: none
		body     string
		noReplay bool // the body cannot be sent again
		want     int  // the status of the answer returned; 0: an error
		wantErr  string
		waits    []time.Duration
	}{
		{name: "success at once", answers: answers(status(200)), want: 200},
		{name: "a 4xx is final", answers: answers(status(400), status(200)), want: 400},
		{name: "5xx then success: backoff", answers: answers(status(503), status(502), status(200)), want: 200,
			waits: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{name: "backoff is capped", answers: answers(status(500), status(500), status(500), status(200)), policy: Policy{MaxAttempts: 4, Base: 300 * time.Millisecond, Max: 500 * time.Millisecond},
			want: 200, waits: []time.Duration{300 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}},
		{name: "429 with Retry-After seconds", answers: answers(status(429, "Retry-After", "7"), status(200)), want: 200, waits: []time.Duration{7 * time.Second}},
		{name: "503 with an HTTP date", answers: answers(status(503, "Retry-After", now.Add(3*time.Second).Format(http.TimeFormat)), status(200)),
			want: 200, waits: []time.Duration{3 * time.Second}},
		{name: "a date in the past is no wait", answers: answers(status(429, "Retry-After", now.Add(-time.Minute).Format(http.TimeFormat)), status(200)),
			want: 200, waits: []time.Duration{0}},
		{name: "an unusable Retry-After falls back to backoff", answers: answers(status(503, "Retry-After", "soon"), status(200)),
			want: 200, waits: []time.Duration{100 * time.Millisecond}},
		{name: "connection errors are retried", answers: answers(fail(refused), status(200)), want: 200, waits: []time.Duration{100 * time.Millisecond}},
		{name: "a permanent error is not", answers: answers(fail(Permanent{Err: refused}), status(200)), wantErr: "connection refused"},
		{name: "nor an expired context", answers: answers(fail(context.DeadlineExceeded), status(200)), wantErr: "deadline exceeded"},
		{name: "attempts are bounded", answers: answers(status(500), status(500), status(500), status(200)), want: 500,
			waits: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
		{name: "one attempt: no retry", answers: answers(status(500), status(200)), policy: Policy{MaxAttempts: 1}, want: 500},
		{name: "a wait past the deadline ends the retries", answers: answers(status(429, "Retry-After", "3600"), status(200)),
			deadline: 30 * time.Second, want: 429},
		{name: "a wait within the deadline is waited", answers: answers(status(429, "Retry-After", "20"), status(200)),
			deadline: 30 * time.Second, want: 200, waits: []time.Duration{20 * time.Second}},
		{name: "without a deadline, MaxWait bounds a wait", answers: answers(status(429, "Retry-After", "3600"), status(200)),
			policy: Policy{MaxWait: time.Minute}, want: 429},
		{name: "the body is sent again", answers: answers(status(503), status(200)), body: "query=up", want: 200,
			waits: []time.Duration{100 * time.Millisecond}},
		{name: "a body that cannot be sent again is not retried", answers: answers(status(503), status(200)), body: "query=up", noReplay: true, want: 503},
		{name: "a classifier of its own", answers: answers(status(403, "X-Limit", "1"), status(200)), want: 200, waits: []time.Duration{42 * time.Second},
			policy: Policy{Classify: func(resp *http.Response, _ error, _ time.Time) (bool, time.Duration, bool) {
				return resp.Header.Get("X-Limit") == "1", 42 * time.Second, true
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &script{answers: tt.answers}
			var waits []time.Duration
			p := tt.policy
			if p.MaxAttempts == 0 {
				p.MaxAttempts = 3
			}
			if p.Base == 0 {
				p.Base, p.Max = 100*time.Millisecond, time.Second
			}
			p.Now = func() time.Time { return now }
			p.Jitter = func(d time.Duration) time.Duration { return d }
			p.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
			ctx := context.Background()
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, now.Add(tt.deadline))
				defer cancel()
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://prom.example/api/v1/query", strings.NewReader(tt.body))
			require.NoError(t, err)
			if tt.body == "" {
				req.Body, req.GetBody = nil, nil
			}
			if tt.noReplay {
				req.GetBody = nil
			}
			resp, err := p.Transport(s).RoundTrip(req)
			assert.Equal(t, tt.waits, waits)
			if tt.want == 0 {
				assert.ErrorContains(t, err, tt.wantErr)
				assert.Len(t, s.bodies, 1)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, resp.StatusCode)
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, "answer", string(b), "the answer returned is read whole")
			assert.Len(t, s.bodies, len(tt.waits)+1, "one attempt per wait, and the last")
			for _, sent := range s.bodies {
				assert.Equal(t, tt.body, sent)
			}
		})
	}
}

func answers(a ...func() (*http.Response, error)) []func() (*http.Response, error) { return a }

func TestSleepErrorEndsTheRetries(t *testing.T) {
	s := &script{answers: answers(status(503), status(200))}
	p := Policy{MaxAttempts: 3, Base: time.Second, Max: time.Second, Now: func() time.Time { return t0 },
		Sleep: func(context.Context, time.Duration) error { return context.Canceled }}
	req, err := http.NewRequest(http.MethodGet, "http://prom.example/", nil)
	require.NoError(t, err)
	resp, err := p.Transport(s).RoundTrip(req)
	assert.Nil(t, resp)
	assert.EqualError(t, err, "server answered 503; retry: context canceled")
	assert.ErrorIs(t, err, context.Canceled)
}

func TestHalfJitter(t *testing.T) {
	for range 100 {
		d := HalfJitter(time.Second)
		assert.GreaterOrEqual(t, d, 500*time.Millisecond)
		assert.Less(t, d, time.Second)
	}
	assert.Equal(t, time.Duration(1), HalfJitter(1))
}
