package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// TestEvaluationOnDemandOutlastsTheServerTimeouts: with readTimeout and writeTimeout of a
// second, an authorized evaluation on demand that waits 2.5 s for the running cycle's push
// still answers with its results — the timeouts bound what clients send and idle, not the
// evaluation they asked for.
func TestEvaluationOnDemandOutlastsTheServerTimeouts(t *testing.T) {
	inPush := make(chan struct{})
	var once sync.Once
	srv := gittest.NewServer(t, gittest.WithBeforeReceivePack(func(string) {
		once.Do(func() { close(inPush); time.Sleep(2500 * time.Millisecond) })
	}))
	srv.CreateRepo("shop", shopFiles())
	env := startServe(t, srv, "limits:\n  http: {readTimeout: 1s, writeTimeout: 1s, readHeaderTimeout: 1s}\n")
	<-inPush

	start := time.Now()
	code, body := env.do(t, "POST", "/api/v1/evaluate?policy=worker", serveToken, "")
	took := time.Since(start)
	require.Equal(t, http.StatusOK, code, body)
	results := decodeResults(t, body)
	require.Len(t, results, 1, body)
	assert.Equal(t, gitops.ActionUnchanged, results[0].Action, "the running cycle scaled it")
	assert.Greater(t, took, time.Second, "it did wait past both timeouts")
}

// TestServeAppliesTheHTTPSettings: serve takes limits.http and http.statusTokenFile from its
// config: an idle connection is closed after idleTimeout, a header block over maxHeaderBytes
// is refused, and the status page asks for the status token.
func TestServeAppliesTheHTTPSettings(t *testing.T) {
	srv := gittest.NewServer(t)
	srv.CreateRepo("shop", shopFiles())
	config, trace := serveFixture(t, srv, "limits:\n  http: {idleTimeout: 1s, maxHeaderBytes: 4096}\n")
	statusToken := filepath.Join(t.TempDir(), "status-token")
	require.NoError(t, os.WriteFile(statusToken, []byte("status-0123456789\n"), 0o600))
	data, err := os.ReadFile(config)
	require.NoError(t, err)
	withStatus := strings.Replace(string(data), "\nhttp: {", "\nhttp: {statusTokenFile: "+statusToken+", ", 1)
	require.NotEqual(t, string(data), withStatus)
	require.NoError(t, os.WriteFile(config, []byte(withStatus), 0o600))
	env := startServeConfig(t, srv, config, trace)

	code, _ := env.do(t, "GET", "/", "", "")
	assert.Equal(t, http.StatusUnauthorized, code, "the status page asks for the token")
	code, _ = env.do(t, "GET", "/api/v1/policies", "status-0123456789", "")
	assert.Equal(t, http.StatusOK, code)

	c, err := net.Dial("tcp", strings.TrimPrefix(env.base, "http://"))
	require.NoError(t, err)
	defer c.Close()
	br := bufio.NewReader(c)
	_, err = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = br.ReadByte()
	var ne net.Error
	require.Error(t, err)
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "closed by the server, not by our deadline")
	assert.Less(t, time.Since(start), 3*time.Second)

	code, _ = env.do(t, "GET", "/healthz", "", "")
	require.Equal(t, http.StatusOK, code)
	req, err := http.NewRequest("GET", env.base+"/healthz", nil)
	require.NoError(t, err)
	// net/http reads up to 4 KiB of a kept-alive connection's next request before it applies
	// the cap, and allows 4 KiB of slack: 20,000 bytes are past 4096 either way.
	req.Header.Set("X-Big", strings.Repeat("y", 20000))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
}
