package promclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/promtest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// vectorOf is a success answer holding n one-sample series, each labelled i="<index>".
func vectorOf(n int) string {
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"metric":{"i":"%d"},"value":[1700000000,"1"]}`, i)
	}
	b.WriteString(`]}}`)
	return b.String()
}

// matrixOf is a success answer of a range query: series series of points points each.
func matrixOf(series, points int) string {
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[`)
	for i := range series {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"metric":{"i":"%d"},"values":[`, i)
		for p := range points {
			if p > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `[%d,"1"]`, 1700000000+p)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]}}`)
	return b.String()
}

// oneLabelOf is a success answer with one series whose label value is n bytes long: what
// label_join nested many times makes Prometheus send.
func oneLabelOf(n int) string {
	return `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"l":"` +
		strings.Repeat("x", n) + `"},"value":[1700000000,"1"]}]}}`
}

func answering(body string) func(int, *http.Request, http.ResponseWriter) {
	return func(_ int, _ *http.Request, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}
}

// TestPrometheusAnswerOverTheBodyCapIsRefused pins finding 3 of issue 22: an answer larger than
// limits.prometheus.maxBodyBytes (default 4 MiB) is refused, naming the limit and the query;
// one at the cap is read.
func TestPrometheusAnswerOverTheBodyCapIsRefused(t *testing.T) {
	const envelope = len(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"l":""},"value":[1700000000,"1"]}]}}`)
	atCap := oneLabelOf(svcconfig.DefaultPromMaxBodyBytes - envelope)
	require.Len(t, atCap, svcconfig.DefaultPromMaxBodyBytes)

	f := newFakeProm(t, answering(atCap))
	c, err := New(svcconfig.PrometheusServer{Name: "main", URL: f.URL})
	require.NoError(t, err)
	v, err := c.Query(context.Background(), `label_join(up, "l", "", "l", "l")`, at)
	require.NoError(t, err, "an answer of exactly the cap is read")
	require.Len(t, v, 1)

	over := newFakeProm(t, answering(oneLabelOf(svcconfig.DefaultPromMaxBodyBytes-envelope+1)))
	c, err = New(svcconfig.PrometheusServer{Name: "main", URL: over.URL})
	require.NoError(t, err)
	v, err = c.Query(context.Background(), `label_join(up, "l", "", "l", "l")`, at)
	require.Error(t, err)
	assert.Nil(t, v)
	assert.Equal(t, `prometheus main: query "label_join(up, \"l\", \"\", \"l\", \"l\")": the answer is larger than 4194304 bytes `+
		`(limits.prometheus.maxBodyBytes): narrow the query, or raise the limit in the service config`, err.Error())
	assert.Equal(t, 1, over.count(), "a refused answer is not asked again")
}

// TestAnswerLimits pins each limit of limits.prometheus on instant and range answers, at and
// past it, and that the error names the limit, its value and the query.
func TestAnswerLimits(t *testing.T) {
	tests := []struct {
		name    string
		limits  svcconfig.PrometheusLimits
		body    string
		rng     bool
		wantErr string // empty: the answer is read
		check   func(t *testing.T, v model.Value)
	}{
		{name: "series at the cap", limits: svcconfig.PrometheusLimits{MaxSeries: 3}, body: vectorOf(3),
			check: func(t *testing.T, v model.Value) { assert.Len(t, v, 3) }},
		{name: "series past the cap", limits: svcconfig.PrometheusLimits{MaxSeries: 3}, body: vectorOf(4),
			wantErr: "the answer has more than 3 series (limits.prometheus.maxSeries)"},
		{name: "series past the cap of a range query", limits: svcconfig.PrometheusLimits{MaxSeries: 3}, body: matrixOf(5, 2), rng: true,
			wantErr: "the answer has more than 3 series (limits.prometheus.maxSeries)"},
		{name: "samples at the cap", limits: svcconfig.PrometheusLimits{MaxSamples: 20}, body: matrixOf(2, 10), rng: true,
			check: func(t *testing.T, v model.Value) {
				require.Len(t, v, 2)
				s := v.(model.Matrix)[1]
				assert.Equal(t, model.Metric{"i": "1"}, s.Metric)
				require.Len(t, s.Values, 10)
				assert.Equal(t, model.SamplePair{Timestamp: model.TimeFromUnix(1700000009), Value: 1}, s.Values[9])
			}},
		{name: "samples past the cap in one series", limits: svcconfig.PrometheusLimits{MaxSamples: 20}, body: matrixOf(1, 21), rng: true,
			wantErr: "the answer has more than 20 samples (limits.prometheus.maxSamples)"},
		{name: "samples past the cap over series", limits: svcconfig.PrometheusLimits{MaxSamples: 20}, body: matrixOf(3, 7), rng: true,
			wantErr: "the answer has more than 20 samples (limits.prometheus.maxSamples)"},
		{name: "samples of an instant query: one a series", limits: svcconfig.PrometheusLimits{MaxSeries: 10, MaxSamples: 10}, body: vectorOf(11),
			wantErr: "the answer has more than 10 series (limits.prometheus.maxSeries)"},
		{name: "body past the cap, small series", limits: svcconfig.PrometheusLimits{MaxBodyBytes: 1000}, body: vectorOf(100),
			wantErr: "the answer is larger than 1000 bytes (limits.prometheus.maxBodyBytes)"},
		{name: "body past the cap, one long label", limits: svcconfig.PrometheusLimits{MaxBodyBytes: 1 << 16}, body: oneLabelOf(1 << 16),
			wantErr: "the answer is larger than 65536 bytes (limits.prometheus.maxBodyBytes)"},
		{name: "warnings count against the body", limits: svcconfig.PrometheusLimits{MaxBodyBytes: 1000},
			body:    `{"status":"success","warnings":["` + strings.Repeat("w", 2000) + `"],"data":{"resultType":"scalar","result":[1,"1"]}}`,
			wantErr: "the answer is larger than 1000 bytes (limits.prometheus.maxBodyBytes)"},
		{name: "an error answer is read whole under the cap", limits: svcconfig.PrometheusLimits{MaxBodyBytes: 1000},
			body:    `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}`,
			wantErr: "execution: query processing would load too many samples into memory"},
		{name: "result before its type", body: `{"data":{"result":[{"metric":{},"value":[1,"7"]}],"resultType":"vector"},"status":"success"}`,
			check: func(t *testing.T, v model.Value) {
				require.Len(t, v, 1)
				assert.Equal(t, model.SampleValue(7), v.(model.Vector)[0].Value)
			}},
		{name: "unknown fields are skipped", body: `{"status":"success","infos":["i"],"stats":{"a":[1,{"b":2}]},"data":{"x":{"y":[]},"resultType":"scalar","result":[1,"3"]}}`,
			check: func(t *testing.T, v model.Value) { assert.Equal(t, model.SampleValue(3), v.(*model.Scalar).Value) }},
		{name: "no data", body: `{"status":"success"}`, wantErr: "bad_response: the answer has no data"},
		{name: "not JSON", body: `<html>login</html>`, wantErr: "bad_response: invalid character '<'"},
		{name: "unknown result type", body: `{"status":"success","data":{"resultType":"table","result":[]}}`,
			wantErr: `bad_response: unknown result type "table"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeProm(t, answering(tt.body))
			c, err := New(svcconfig.PrometheusServer{Name: "main", URL: f.URL}, WithLimits(tt.limits), WithRetry(1, 0, 0))
			require.NoError(t, err)
			var v model.Value
			if tt.rng {
				v, err = c.QueryRange(context.Background(), "sum by (i) (x)", v1.Range{Start: at, End: at.Add(time.Hour), Step: time.Minute})
			} else {
				v, err = c.Query(context.Background(), "sum by (i) (x)", at)
			}
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), `prometheus main: query "sum by (i) (x)": `+tt.wantErr)
				assert.Nil(t, v)
				return
			}
			require.NoError(t, err)
			tt.check(t, v)
		})
	}
}

// heapPeak samples the live heap every millisecond until the returned function is called,
// which returns the largest value seen. runtime/metrics does not stop the world.
func heapPeak(t testing.TB) func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	var once sync.Once
	stop := func() uint64 {
		once.Do(func() { close(done); <-stopped })
		return peak
	}
	t.Cleanup(func() { stop() })
	return stop
}

// liveHeap is the live heap after a collection: the baseline a peak is measured from.
func liveHeap() uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// gigabyteAnswer streams a success answer of one series whose label is 1 GiB long, without
// holding it: a misbehaving server. It counts the bytes it managed to send.
func gigabyteAnswer(sent *atomic.Int64) http.HandlerFunc {
	chunk := []byte(strings.Repeat("x", 1<<20))
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		n, _ := fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"l":"`)
		sent.Add(int64(n))
		for range 1 << 10 {
			n, err := w.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
		n, _ = fmt.Fprint(w, `"},"value":[1700000000,"1"]}]}}`)
		sent.Add(int64(n))
	}
}

// TestGigabyteAnswersKeepMemoryBounded pins finding 3 of issue 22 (a 1 GB answer peaked at
// 2.2 GB): with the default limits and every query slot of a server (queryConcurrency, 16)
// waiting on a server that sends 1 GiB, each query fails at the body cap, the heap grows by
// less than 200 MiB — what the chart's 512 MiB leaves room for — and the server could send
// each query little more than the cap.
func TestGigabyteAnswersKeepMemoryBounded(t *testing.T) {
	var sent atomic.Int64
	srv := httptest.NewServer(gigabyteAnswer(&sent))
	t.Cleanup(srv.Close)
	c, err := New(svcconfig.PrometheusServer{Name: "huge", URL: srv.URL, QueryConcurrency: svcconfig.DefaultQueryConcurrency})
	require.NoError(t, err)

	base := liveHeap()
	resetPeakRSS()
	peak := heapPeak(t)
	var wg sync.WaitGroup
	errs := make([]error, svcconfig.DefaultQueryConcurrency)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = c.Query(context.Background(), fmt.Sprintf("huge%d", i), at)
		})
	}
	wg.Wait()
	grew := int64(peak()) - int64(base)
	rss, _ := peakRSS()
	t.Logf("16 answers of 1 GiB: the heap grew by %d MiB at its peak, peak RSS %d MiB; the server sent %d MiB in all", grew>>20, rss>>20, sent.Load()>>20)
	for i, err := range errs {
		require.Error(t, err)
		var le *LimitError
		assert.False(t, errors.As(err, &le), "the scrubbed cause does not unwrap")
		assert.Contains(t, err.Error(), fmt.Sprintf(`query "huge%d": the answer is larger than 4194304 bytes (limits.prometheus.maxBodyBytes)`, i))
	}
	assert.Less(t, grew, int64(200<<20), "16 answers in flight hold less than 200 MiB")
	// Each query stops reading at the cap; the sockets' buffers let the server write a few MiB more.
	assert.Less(t, sent.Load(), int64(svcconfig.DefaultQueryConcurrency)*(svcconfig.DefaultPromMaxBodyBytes+16<<20))
}

// nestedLabelJoin is the query of finding 3 of issue 22: a 64-byte label doubled by label_join
// 22 times, 256 MiB, which Prometheus answers with a 268 MB body.
func nestedLabelJoin() string {
	q := `label_replace(vector(1), "l", "` + strings.Repeat("x", 64) + `", "", "")`
	for range 22 {
		q = `label_join(` + q + `, "l", "", "l", "l")`
	}
	return q
}

// TestNestedLabelJoinAnswerIsBounded pins finding 3 of issue 22 against a real Prometheus: a
// team's own PromQL, label_join nested 22 times, made Prometheus answer 268 MB and the
// autoscaler peak at 1.65 GB. Now the query fails at the body cap, naming the limit and the
// query, and the heap grows by a few times the cap, not by the answer.
func TestNestedLabelJoinAnswerIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real Prometheus through a 268 MB answer")
	}
	p := promtest.Start(t)
	// Prometheus needs a while to build the label on a busy machine: the client waits for it.
	c, err := New(svcconfig.PrometheusServer{Name: "real", URL: p.URL(), Timeout: policy.Duration{Duration: 3 * time.Minute}})
	require.NoError(t, err)
	q := nestedLabelJoin()

	base := liveHeap()
	resetPeakRSS()
	peak := heapPeak(t)
	v, err := c.Query(context.Background(), q, time.Now())
	grew := int64(peak()) - int64(base)
	rss, _ := peakRSS()
	t.Logf("label_join nested 22 times: the heap grew by %d MiB at its peak, peak RSS %d MiB", grew>>20, rss>>20)
	require.Error(t, err)
	assert.Nil(t, v)
	assert.Contains(t, err.Error(), `prometheus real: query "label_join(label_join(`)
	assert.Contains(t, err.Error(), `": the answer is larger than 4194304 bytes (limits.prometheus.maxBodyBytes)`)
	// The decoder's buffer doubles up to the cap, and the one before it waits for a collection:
	// about three times the cap, 13 MiB measured; six times leaves room for a busy machine.
	assert.Less(t, grew, int64(6*svcconfig.DefaultPromMaxBodyBytes), "the heap grows by a few times the cap at most")
}

// FuzzDecodeAnswer feeds the answer decoder what a server may send: it never panics, an answer
// it accepts holds at most maxSeries series and maxSamples samples, and it never reads past
// maxBodyBytes.
func FuzzDecodeAnswer(f *testing.F) {
	for _, seed := range []string{
		vectorOf(3), vectorOf(5), matrixOf(2, 4), matrixOf(1, 9), oneLabelOf(300),
		`{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}`,
		`{"status":"success","data":{"resultType":"string","result":[1,"s"]}}`,
		`{"status":"error","errorType":"bad_data","error":"parse error"}`,
		`{"data":{"result":[],"resultType":"vector"},"status":"success","warnings":["w"]}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"histograms":[[1,{"count":"1","sum":"1","buckets":[[0,"0","1","1"]]}]]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]},`,
		`[1,2,3]`, `{}`, `{"data":null}`,
	} {
		f.Add([]byte(seed))
	}
	lim := svcconfig.PrometheusLimits{MaxBodyBytes: 512, MaxSeries: 4, MaxSamples: 8}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := &countingReader{r: strings.NewReader(string(body))}
		v, _, err := decodeAnswer(capBody(r, lim.MaxBodyBytes), lim)
		assert.LessOrEqual(t, r.n, lim.MaxBodyBytes+1, "at most the cap and the byte that shows it is passed")
		if err != nil {
			return
		}
		switch v := v.(type) {
		case model.Vector:
			assert.LessOrEqual(t, len(v), lim.MaxSeries)
		case model.Matrix:
			assert.LessOrEqual(t, len(v), lim.MaxSeries)
			samples := 0
			for _, s := range v {
				samples += len(s.Values) + len(s.Histograms)
			}
			assert.LessOrEqual(t, samples, lim.MaxSamples)
		}
	})
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestServersApplyTheConfigsLimits(t *testing.T) {
	f := newFakeProm(t, answering(vectorOf(3)))
	cfg := &svcconfig.Config{Prometheus: []svcconfig.PrometheusServer{{Name: "default", URL: f.URL}}}
	cfg.Limits.Prometheus.MaxSeries = 2
	cfg.SetDefaults()
	servers, err := NewServers(cfg)
	require.NoError(t, err)
	c, err := servers.For(nil)
	require.NoError(t, err)
	_, err = c.Query(context.Background(), "x", at)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `query "x": the answer has more than 2 series (limits.prometheus.maxSeries)`)
}

// TestQueryForm pins what a query sends: the instant (none for the zero time, which Prometheus
// reads as its now), the range and step, and the server's timeout, as a form in a POST.
func TestQueryForm(t *testing.T) {
	f := newFakeProm(t, answering(`{"status":"success","data":{"resultType":"matrix","result":[]}}`))
	c, err := New(svcconfig.PrometheusServer{Name: "main", URL: f.URL + "/prefix", Timeout: policy.Duration{Duration: 7 * time.Second}})
	require.NoError(t, err)
	_, err = c.Query(context.Background(), "up", time.Time{})
	require.NoError(t, err)
	r := f.last()
	assert.Equal(t, "POST /prefix/api/v1/query", r.Method+" "+r.URL.Path)
	assert.Equal(t, url.Values{"query": {"up"}, "timeout": {"7s"}}, r.PostForm)

	_, err = c.Query(context.Background(), "up", time.Unix(1700000000, 500_000_000))
	require.NoError(t, err)
	assert.Equal(t, "1700000000.5", f.last().PostForm.Get("time"))

	_, err = c.QueryRange(context.Background(), "rate(x[1m])", v1.Range{Start: time.Unix(1700000000, 0), End: time.Unix(1700003600, 0), Step: 90 * time.Second})
	require.NoError(t, err)
	r = f.last()
	assert.Equal(t, "/prefix/api/v1/query_range", r.URL.Path)
	assert.Equal(t, url.Values{"query": {"rate(x[1m])"}, "start": {"1700000000"}, "end": {"1700003600"}, "step": {"90"}, "timeout": {"7s"}}, r.PostForm)
}

// TestQueryFallsBackToGet: a server (a read-only proxy) that refuses the POST with 405 is
// asked again with a GET carrying the same parameters.
func TestQueryFallsBackToGet(t *testing.T) {
	f := newFakeProm(t, func(_ int, r *http.Request, w http.ResponseWriter) {
		if r.Method == http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		success(w, oneSample)
	})
	c, err := New(svcconfig.PrometheusServer{Name: "main", URL: f.URL})
	require.NoError(t, err)
	v, err := c.Query(context.Background(), "up", time.Unix(1700000000, 0))
	require.NoError(t, err)
	require.Len(t, v, 1)
	require.Equal(t, 2, f.count())
	r := f.last()
	assert.Equal(t, http.MethodGet, r.Method)
	assert.Equal(t, url.Values{"query": {"up"}, "time": {"1700000000"}, "timeout": {"10s"}}, r.URL.Query())
}
