package faultproxy

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// backend answers /big with 1 MiB and counts the request bytes /upload received.
func backend(t *testing.T, received *atomic.Int64) *httptest.Server {
	big := strings.Repeat("x", 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			_, _ = io.WriteString(w, big)
		case "/upload":
			n, _ := io.Copy(io.Discard, r.Body)
			received.Store(n)
			_, _ = io.WriteString(w, "ok")
		default:
			_, _ = io.WriteString(w, "hello")
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, ctx context.Context, url string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestProxyFaults(t *testing.T) {
	var received atomic.Int64
	p := New(t, backend(t, &received).URL)
	ctx := context.Background()

	code, body, err := get(t, ctx, p.URL()+"/hi")
	require.NoError(t, err)
	assert.Equal(t, 200, code)
	assert.Equal(t, "hello", body, "no rule: forwarded")

	r := p.Add(Rule{Match: Path("/hi"), Kind: Answer, Status: 500, Body: "boom", Times: 1})
	code, body, err = get(t, ctx, p.URL()+"/hi")
	require.NoError(t, err)
	assert.Equal(t, 500, code)
	assert.Equal(t, "boom", body)
	code, _, _ = get(t, ctx, p.URL()+"/hi")
	assert.Equal(t, 200, code, "Times: 1 is used up")
	assert.Equal(t, 1, p.Hits(r))

	p.Add(Rule{Match: Path("/big"), Kind: CutResponse, After: 1000, Times: 1})
	_, body, err = get(t, ctx, p.URL()+"/big")
	require.Error(t, err, "the response is cut")
	assert.Len(t, body, 1000)

	p.Add(Rule{Match: Path("/big"), Kind: StallResponse, After: 1000, Times: 1})
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = get(t, tctx, p.URL()+"/big")
	require.Error(t, err, "the client gives up")
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)

	p.Add(Rule{Match: Path("/upload"), Kind: CutRequest, After: 5000, Times: 1})
	req, err := http.NewRequest(http.MethodPost, p.URL()+"/upload", strings.NewReader(strings.Repeat("y", 100000)))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.NotEqual(t, 200, resp.StatusCode, "a cut request gets no success")
	}
	assert.Less(t, received.Load(), int64(100000), "the backend never got the whole body")

	received.Store(0)
	r = p.Add(Rule{Match: Path("/upload"), Kind: Answer, Status: 500, Served: true, Times: 1})
	resp, err = http.Post(p.URL()+"/upload", "text/plain", strings.NewReader("zzz"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 500, resp.StatusCode, "the client hears a failure")
	assert.Equal(t, int64(3), received.Load(), "the backend served the request")

	p.Add(Rule{Match: Path("/hi"), Kind: Slow, Delay: 200 * time.Millisecond, Times: 1})
	start = time.Now()
	code, body, err = get(t, ctx, p.URL()+"/hi")
	require.NoError(t, err)
	assert.Equal(t, "hello", body)
	assert.Equal(t, 200, code)
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)

	p.Add(Rule{Kind: Answer, Status: 503})
	p.Clear()
	code, _, _ = get(t, ctx, p.URL()+"/hi")
	assert.Equal(t, 200, code, "cleared")
}

// TestCallHook: a Call rule's hook runs before the request goes anywhere. When it forwards,
// the backend serves the whole request even though the client is gone by then; when it does
// not, the backend never sees it.
func TestCallHook(t *testing.T) {
	for _, forward := range []bool{true, false} {
		t.Run(map[bool]string{true: "forwarded", false: "dropped"}[forward], func(t *testing.T) {
			var received atomic.Int64
			received.Store(-1)
			p := New(t, backend(t, &received).URL)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var seen atomic.Int32
			r := p.Add(Rule{Match: Path("/upload"), Kind: Call, Times: 1, Func: func(r *http.Request) bool {
				seen.Add(1)
				cancel()                          // the client dies at this point of the exchange
				time.Sleep(50 * time.Millisecond) // and its connection with it
				return forward
			}})
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL()+"/upload", strings.NewReader(strings.Repeat("y", 5000)))
			require.NoError(t, err)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
			assert.Equal(t, int32(1), seen.Load())
			assert.Equal(t, 1, p.Hits(r))
			// The proxy's handler has returned once the backend's answer was copied (or dropped).
			require.Eventually(t, func() bool { return !forward || received.Load() >= 0 }, 5*time.Second, 10*time.Millisecond)
			if forward {
				assert.Equal(t, int64(5000), received.Load(), "the backend got the whole request")
			} else {
				assert.Equal(t, int64(-1), received.Load(), "the backend never saw it")
			}
		})
	}
}
