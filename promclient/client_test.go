package promclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// fakeProm is an httptest server speaking the part of the Prometheus HTTP API we use. Each
// request is recorded; answer decides the response (status, headers, body).
type fakeProm struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*http.Request
	queries  []string
	answer   func(n int, r *http.Request, w http.ResponseWriter)
}

func newFakeProm(t *testing.T, answer func(n int, r *http.Request, w http.ResponseWriter)) *fakeProm {
	t.Helper()
	f := &fakeProm{answer: answer}
	f.Server = httptest.NewServer(f)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.queries = append(f.queries, r.Form.Get("query"))
	n := len(f.requests)
	f.mu.Unlock()
	f.answer(n, r, w)
}

func (f *fakeProm) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeProm) last() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

// success writes a successful API answer with the given data JSON.
func success(w http.ResponseWriter, data string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"status":"success","data":%s}`, data)
}

const oneSample = `{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"42"]}]}`

// sleeper records the waits the client asks for, without waiting.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func (s *sleeper) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

var at = time.Date(2026, 11, 22, 11, 0, 0, 0, time.UTC)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestAuthAndHeadersArrive(t *testing.T) {
	t.Setenv("TEST_PROM_TOKEN", "env-token-123")
	t.Setenv("TEST_PROM_PASSWORD", "env-pass-456")
	tokenFile := writeFile(t, "token", "file-token-789\n")
	passFile := writeFile(t, "password", "file-pass-000\n")

	tests := []struct {
		name   string
		server svcconfig.PrometheusServer
		check  func(t *testing.T, r *http.Request)
	}{
		{
			name:   "bearer token from file",
			server: svcconfig.PrometheusServer{BearerTokenFile: tokenFile},
			check: func(t *testing.T, r *http.Request) {
				assert.Equal(t, "Bearer file-token-789", r.Header.Get("Authorization"))
			},
		},
		{
			name:   "bearer token from env",
			server: svcconfig.PrometheusServer{BearerTokenEnv: "TEST_PROM_TOKEN"},
			check: func(t *testing.T, r *http.Request) {
				assert.Equal(t, "Bearer env-token-123", r.Header.Get("Authorization"))
			},
		},
		{
			name:   "basic auth with password file",
			server: svcconfig.PrometheusServer{BasicAuth: &svcconfig.BasicAuth{Username: "alice", PasswordFile: passFile}},
			check: func(t *testing.T, r *http.Request) {
				u, p, ok := r.BasicAuth()
				require.True(t, ok, "basic auth header")
				assert.Equal(t, "alice", u)
				assert.Equal(t, "file-pass-000", p)
			},
		},
		{
			name:   "basic auth with password env",
			server: svcconfig.PrometheusServer{BasicAuth: &svcconfig.BasicAuth{Username: "bob", PasswordEnv: "TEST_PROM_PASSWORD"}},
			check: func(t *testing.T, r *http.Request) {
				u, p, ok := r.BasicAuth()
				require.True(t, ok, "basic auth header")
				assert.Equal(t, "bob", u)
				assert.Equal(t, "env-pass-456", p)
			},
		},
		{
			name:   "tenant header",
			server: svcconfig.PrometheusServer{Headers: map[string]string{"X-Scope-OrgID": "team-a"}},
			check: func(t *testing.T, r *http.Request) {
				assert.Equal(t, "team-a", r.Header.Get("X-Scope-OrgID"))
				assert.Empty(t, r.Header.Get("Authorization"))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeProm(t, func(_ int, _ *http.Request, w http.ResponseWriter) { success(w, oneSample) })
			tt.server.Name = "test"
			tt.server.URL = f.URL
			c, err := New(tt.server)
			require.NoError(t, err)

			v, err := c.Query(context.Background(), "up", at)
			require.NoError(t, err)
			assert.Equal(t, 42.0, ToValue(policy.Metric{Name: "m"}, v, nil).Value)
			require.Equal(t, 1, f.count())
			assert.Equal(t, "up", f.queries[0])
			tt.check(t, f.last())
		})
	}
}

func TestTokenFileIsReadAtRequestTime(t *testing.T) {
	tokenFile := writeFile(t, "token", "first")
	f := newFakeProm(t, func(_ int, _ *http.Request, w http.ResponseWriter) { success(w, oneSample) })
	c, err := New(svcconfig.PrometheusServer{Name: "test", URL: f.URL, BearerTokenFile: tokenFile})
	require.NoError(t, err)

	_, err = c.Query(context.Background(), "up", at)
	require.NoError(t, err)
	assert.Equal(t, "Bearer first", f.last().Header.Get("Authorization"))

	require.NoError(t, os.WriteFile(tokenFile, []byte("rotated"), 0o600))
	_, err = c.Query(context.Background(), "up", at)
	require.NoError(t, err)
	assert.Equal(t, "Bearer rotated", f.last().Header.Get("Authorization"))
}

func TestNewRejectsUnusableConfig(t *testing.T) {
	tests := []struct {
		name    string
		server  svcconfig.PrometheusServer
		wantErr string
	}{
		{"missing token env", svcconfig.PrometheusServer{URL: "http://p:9090", BearerTokenEnv: "TEST_PROM_UNSET_VAR"}, "TEST_PROM_UNSET_VAR is not set"},
		{"missing token file", svcconfig.PrometheusServer{URL: "http://p:9090", BearerTokenFile: filepath.Join(t.TempDir(), "nope")}, "bearer token"},
		{"missing CA file", svcconfig.PrometheusServer{URL: "https://p:9090", TLS: &svcconfig.TLSConfig{CAFile: filepath.Join(t.TempDir(), "nope")}}, "tls.caFile"},
		{"CA file without certificate", svcconfig.PrometheusServer{URL: "https://p:9090", TLS: &svcconfig.TLSConfig{CAFile: writeFile(t, "ca.pem", "not pem")}}, "no PEM certificate"},
		{"bad scheme", svcconfig.PrometheusServer{URL: "ftp://p:9090"}, "scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.server)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestTLSWithCAFile(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { success(w, oneSample) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})))

	tests := []struct {
		name    string
		tls     *svcconfig.TLSConfig
		wantErr string
	}{
		{name: "CA file trusts the server", tls: &svcconfig.TLSConfig{CAFile: caFile}},
		{name: "insecureSkipVerify", tls: &svcconfig.TLSConfig{InsecureSkipVerify: true}},
		{name: "system roots do not know the test CA", tls: nil, wantErr: "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(svcconfig.PrometheusServer{Name: "tls", URL: srv.URL, TLS: tt.tls}, WithRetry(1, 0, 0))
			require.NoError(t, err)
			v, err := c.Query(context.Background(), "up", at)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, 42.0, ToValue(policy.Metric{}, v, nil).Value)
		})
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	tests := []struct {
		name      string
		failures  []int // status codes answered before success
		attempts  int   // WithRetry max attempts
		wantOK    bool
		wantCalls int
	}{
		{name: "500 then success", failures: []int{500}, attempts: 4, wantOK: true, wantCalls: 2},
		{name: "502, 504 then success", failures: []int{502, 504}, attempts: 4, wantOK: true, wantCalls: 3},
		{name: "429 then success", failures: []int{429}, attempts: 4, wantOK: true, wantCalls: 2},
		{name: "gives up after max attempts", failures: []int{500, 500, 500, 500, 500}, attempts: 3, wantOK: false, wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeProm(t, func(n int, _ *http.Request, w http.ResponseWriter) {
				if n <= len(tt.failures) {
					http.Error(w, "overloaded", tt.failures[n-1])
					return
				}
				success(w, oneSample)
			})
			var s sleeper
			c, err := New(svcconfig.PrometheusServer{Name: "test", URL: f.URL},
				WithRetry(tt.attempts, 100*time.Millisecond, time.Second), WithSleep(s.sleep),
				WithJitter(func(d time.Duration) time.Duration { return d }))
			require.NoError(t, err)

			_, err = c.Query(context.Background(), "up", at)
			if tt.wantOK {
				assert.NoError(t, err)
			} else {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "server error")
			}
			assert.Equal(t, tt.wantCalls, f.count())
			// Exponential backoff: 100ms, 200ms, 400ms, …
			waits := s.recorded()
			require.Len(t, waits, tt.wantCalls-1)
			for i, d := range waits {
				assert.Equal(t, 100*time.Millisecond<<i, d, "wait %d", i)
			}
		})
	}
}

func TestBackoffIsBoundedAndJittered(t *testing.T) {
	f := newFakeProm(t, func(_ int, _ *http.Request, w http.ResponseWriter) { http.Error(w, "down", 500) })
	var s sleeper
	c, err := New(svcconfig.PrometheusServer{Name: "test", URL: f.URL},
		WithRetry(8, 100*time.Millisecond, 400*time.Millisecond), WithSleep(s.sleep))
	require.NoError(t, err)
	_, err = c.Query(context.Background(), "up", at)
	require.Error(t, err)
	waits := s.recorded()
	require.Len(t, waits, 7)
	for i, d := range waits {
		ceiling := min(100*time.Millisecond<<i, 400*time.Millisecond)
		assert.GreaterOrEqual(t, d, ceiling/2, "wait %d", i)
		assert.Less(t, d, ceiling, "wait %d", i)
	}
}

func TestConnectionErrorsAreRetried(t *testing.T) {
	f := newFakeProm(t, func(_ int, _ *http.Request, w http.ResponseWriter) { success(w, oneSample) })
	url := f.URL
	f.Close() // nothing listens any more: connection refused
	var s sleeper
	c, err := New(svcconfig.PrometheusServer{Name: "test", URL: url}, WithRetry(3, time.Millisecond, time.Second), WithSleep(s.sleep))
	require.NoError(t, err)

	_, err = c.Query(context.Background(), "up", at)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection refused")
	assert.Len(t, s.recorded(), 2, "three attempts, two waits")
}

func TestBadQueryIsNotRetried(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{"400 bad_data", 400, `{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}`},
		{"422 execution", 422, `{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}`},
		{"401 unauthorized", 401, `unauthorized`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeProm(t, func(_ int, _ *http.Request, w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			var s sleeper
			c, err := New(svcconfig.PrometheusServer{Name: "main", URL: f.URL}, WithSleep(s.sleep))
			require.NoError(t, err)

			_, err = c.Query(context.Background(), "sum(rate(x[", at)
			require.Error(t, err)
			assert.Equal(t, 1, f.count(), "no retry")
			assert.Empty(t, s.recorded())
			assert.Contains(t, err.Error(), `query "sum(rate(x["`)
			assert.Contains(t, err.Error(), "prometheus main")
		})
	}
}

func TestRetryAfterIsHonored(t *testing.T) {
	// A fixed instant near the real one: the request's deadline comes from the real clock.
	clock := time.Now().UTC().Truncate(time.Second)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantWait   time.Duration
	}{
		{"429 with seconds", 429, "7", 7 * time.Second},
		{"503 with seconds", 503, "2", 2 * time.Second},
		{"503 with HTTP date", 503, clock.Add(3 * time.Second).Format(http.TimeFormat), 3 * time.Second},
		{"date in the past", 429, clock.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"unparsable falls back to backoff", 503, "soon", 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeProm(t, func(n int, _ *http.Request, w http.ResponseWriter) {
				if n == 1 {
					w.Header().Set("Retry-After", tt.retryAfter)
					http.Error(w, "slow down", tt.status)
					return
				}
				success(w, oneSample)
			})
			var s sleeper
			c, err := New(svcconfig.PrometheusServer{Name: "test", URL: f.URL, Timeout: policy.Duration{Duration: time.Hour}},
				WithSleep(s.sleep), WithClock(func() time.Time { return clock }),
				WithRetry(3, 50*time.Millisecond, time.Second), WithJitter(func(d time.Duration) time.Duration { return d }))
			require.NoError(t, err)

			_, err = c.Query(context.Background(), "up", at)
			require.NoError(t, err)
			assert.Equal(t, []time.Duration{tt.wantWait}, s.recorded())
			assert.Equal(t, 2, f.count())
		})
	}
}

func TestRetryAfterBeyondDeadlineGivesUp(t *testing.T) {
	f := newFakeProm(t, func(_ int, _ *http.Request, w http.ResponseWriter) {
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "come back in an hour", 429)
	})
	var s sleeper
	c, err := New(svcconfig.PrometheusServer{Name: "test", URL: f.URL, Timeout: policy.Duration{Duration: 30 * time.Second}}, WithSleep(s.sleep))
	require.NoError(t, err)

	_, err = c.Query(context.Background(), "up", at)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "429")
	assert.Empty(t, s.recorded(), "an hour's wait does not fit a 30s timeout")
	assert.Equal(t, 1, f.count())
}

func TestSlowServerHitsTimeout(t *testing.T) {
	release := make(chan struct{})
	f := newFakeProm(t, func(_ int, r *http.Request, w http.ResponseWriter) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release) // runs before the server's Close, so the handler returns
	c, err := New(svcconfig.PrometheusServer{Name: "slow", URL: f.URL, Timeout: policy.Duration{Duration: 50 * time.Millisecond}})
	require.NoError(t, err)

	v, err := c.Query(context.Background(), "up", at)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	mv := ToValue(policy.Metric{Name: "rps", PromQL: "up"}, v, err)
	assert.True(t, mv.Missing)
	assert.Contains(t, mv.Cause, "deadline exceeded")
}

func TestWarningsAreLoggedOncePerQuery(t *testing.T) {
	f := newFakeProm(t, func(_ int, _ *http.Request, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"success","data":%s,"warnings":["PromQL info: metric might not be a counter"]}`, oneSample)
	})
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	c, err := New(svcconfig.PrometheusServer{Name: "test", URL: f.URL}, WithLogger(log))
	require.NoError(t, err)

	for range 3 {
		_, err := c.Query(context.Background(), "rate(x[1m])", at)
		require.NoError(t, err)
	}
	_, err = c.Query(context.Background(), "rate(y[1m])", at)
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(buf.String(), "might not be a counter"), buf.String())
}

func TestNoCredentialInErrors(t *testing.T) {
	const token, password, urlPassword = "s3cr3t-token", "s3cr3t-password", "s3cr3t-urlpass"
	tokenFile := writeFile(t, "token", token)
	passFile := writeFile(t, "password", password)

	// A server that echoes what it received into a 5xx and a 4xx body: the worst case.
	echo := func(n int, r *http.Request, w http.ResponseWriter) {
		status := 500
		if n%2 == 0 {
			status = 400
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "got Authorization=%s", r.Header.Get("Authorization"))
	}
	f := newFakeProm(t, echo)
	gone := newFakeProm(t, echo)
	goneURL := gone.URL
	gone.Close()

	withUser := func(u string) string { return strings.Replace(u, "http://", "http://admin:"+urlPassword+"@", 1) }
	basic := func(pw string) string { return base64.StdEncoding.EncodeToString([]byte("u:" + pw)) }
	tests := []struct {
		name     string
		server   svcconfig.PrometheusServer
		redacted bool // the server echoed a credential, so <secret> must show where it was
	}{
		{"bearer, server echoes", svcconfig.PrometheusServer{URL: f.URL, BearerTokenFile: tokenFile}, true},
		{"basic, server echoes", svcconfig.PrometheusServer{URL: f.URL, BasicAuth: &svcconfig.BasicAuth{Username: "u", PasswordFile: passFile}}, true},
		{"url userinfo, server echoes", svcconfig.PrometheusServer{URL: withUser(f.URL)}, true},
		{"url userinfo, connection refused", svcconfig.PrometheusServer{URL: withUser(goneURL)}, false},
		{"bearer, connection refused", svcconfig.PrometheusServer{URL: goneURL, BearerTokenFile: tokenFile}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sleeper
			c, err := New(tt.server, WithRetry(2, time.Millisecond, time.Millisecond), WithSleep(s.sleep))
			require.NoError(t, err)
			for _, q := range []string{"up", "down", "after rotation"} {
				if q == "after rotation" {
					require.NoError(t, os.WriteFile(tokenFile, []byte(token+"-rotated"), 0o600))
					require.NoError(t, os.WriteFile(passFile, []byte(password+"-rotated"), 0o600))
				}
				_, err = c.Query(context.Background(), q, at)
				require.Error(t, err)
				msg := err.Error() + " " + c.Name() + " " + ToValue(policy.Metric{}, nil, err).Cause
				for _, secret := range []string{token, password, urlPassword, basic(password), basic(password + "-rotated"),
					base64.StdEncoding.EncodeToString([]byte("admin:" + urlPassword))} {
					assert.NotContains(t, msg, secret)
				}
				if tt.redacted {
					assert.Contains(t, msg, "<secret>")
				}
				var qe *QueryError
				require.ErrorAs(t, err, &qe)
				var scrubbed *secret.RedactedError
				require.ErrorAs(t, err, &scrubbed, "a query error unwraps to its scrubbed cause")
				assert.Nil(t, errors.Unwrap(scrubbed), "and no further: the raw text cannot be reached")
				var answerErr *answerError
				assert.False(t, errors.As(err, &answerErr), "not even by errors.As")
			}
		})
	}
}

func TestConcurrencyIsBoundedPerClient(t *testing.T) {
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	f := newFakeProm(t, func(_ int, _ *http.Request, w http.ResponseWriter) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		success(w, oneSample)
	})
	c, err := New(svcconfig.PrometheusServer{Name: "test", URL: f.URL, QueryConcurrency: 3})
	require.NoError(t, err)
	require.Equal(t, 3, c.Concurrency())

	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Go(func() {
			_, err := c.Query(context.Background(), fmt.Sprintf("q%d", i), at)
			errs <- err
		})
	}
	// Let requests through one by one once three are waiting at the server.
	require.Eventually(t, func() bool { return inFlight.Load() == 3 }, 5*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, int32(3), peak.Load())
}
