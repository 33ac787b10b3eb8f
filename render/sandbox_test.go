//go:build linux

package render

import (
	"bufio"
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// runawayRepo holds the charts a team could write to take the service down: tpl recursion,
// gigabytes of output, a loop that does not end, and a plain chart next to them.
const runawayRepo = "testdata/runaway"

func runawayReq(chart string, lim svcconfig.RenderLimits, values string) Request {
	req := Request{Root: runawayRepo, Helm: &policy.HelmRender{Chart: "charts/" + chart}, Limits: lim}
	if values != "" {
		req.Overlay = map[string][]byte{"charts/" + chart + "/values.yaml": []byte(values)}
	}
	return req
}

// peakRSS is this process's resident high-water mark (VmHWM), in bytes.
func peakRSS(t *testing.T) int {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	require.NoError(t, err)
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// requireLimit asserts that err is a render stopped by the named field of limits.render, and
// that its message names that field.
func requireLimit(t *testing.T, err error, limit string) {
	t.Helper()
	require.Error(t, err)
	var le *LimitError
	require.True(t, errors.As(err, &le), "want a *LimitError, got %T: %v", err, err)
	assert.Equal(t, limit, le.Limit, err.Error())
	assert.Contains(t, err.Error(), "limits.render."+limit)
}

// TestRenderTplRecursionIsKilledByMemoryLimit: a chart whose template includes itself through
// tpl grew the service to 3.4 GB (issue 22, finding 2). Its worker dies at its memory limit;
// the service's own memory does not grow, and the next render is served by a new worker.
func TestRenderTplRecursionIsKilledByMemoryLimit(t *testing.T) {
	lim := svcconfig.RenderLimits{MaxMemoryBytes: 128 << 20, MaxCPUSeconds: 120, Timeout: policy.Duration{Duration: 2 * time.Minute}}
	_, err := Render(context.Background(), runawayReq("tplrecursion", lim, ""))
	requireLimit(t, err, "maxMemoryBytes")
	assert.Contains(t, err.Error(), "render helm chart charts/tplrecursion: ")
	t.Logf("peak RSS of this process: %d MiB", peakRSS(t)>>20)
	assert.Less(t, peakRSS(t), 400<<20, "the recursion must not grow this process")

	objs, err := Render(context.Background(), runawayReq("web", lim, ""))
	require.NoError(t, err, "a new worker takes the dead one's place")
	assert.Equal(t, 2, *find(t, objs, "Deployment", "web").Replicas)
}

// TestRenderHugeOutputIsCutAtLimit: a template printing gigabytes killed the service with an
// unrecoverable "fatal error: out of memory". Output over limits.render.maxOutputBytes is
// refused; output too large to hold stops its worker at the memory limit first.
func TestRenderHugeOutputIsCutAtLimit(t *testing.T) {
	tests := []struct {
		name      string
		lines     int // KiB of output
		maxOutput int
		maxMemory int
		wantLimit string // "" for a render that succeeds
	}{
		{name: "just under the default cap renders in the default memory", lines: 4000},
		{name: "8 MiB over a 4 MiB cap", lines: 8192, maxOutput: 4 << 20, maxMemory: 512 << 20, wantLimit: "maxOutputBytes"},
		{name: "4 GiB stops at the memory limit", lines: 4 << 20, wantLimit: "maxMemoryBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := svcconfig.RenderLimits{MaxOutputBytes: tt.maxOutput, MaxMemoryBytes: tt.maxMemory, MaxCPUSeconds: 120, Timeout: policy.Duration{Duration: 2 * time.Minute}}
			objs, err := Render(context.Background(), runawayReq("hugeoutput", lim, "lines: "+strconv.Itoa(tt.lines)+"\n"))
			if tt.wantLimit != "" {
				requireLimit(t, err, tt.wantLimit)
				assert.Contains(t, err.Error(), "render helm chart charts/hugeoutput: ")
				t.Logf("peak RSS of this process: %d MiB", peakRSS(t)>>20)
				assert.Less(t, peakRSS(t), 400<<20, "the output must not reach this process")
				return
			}
			require.NoError(t, err)
			cm := find(t, objs, "ConfigMap", "huge")
			assert.Len(t, cm.Raw["data"].(map[string]any)["lines"], tt.lines*1024)
		})
	}
}

// TestRenderInfiniteLoopIsKilledAtDeadline: a template that loops kept running after its
// deadline, its goroutines piling up in serve. The worker is killed at limits.render.timeout,
// or earlier at its CPU limit; nothing is left running, and the pool serves the next render.
func TestRenderInfiniteLoopIsKilledAtDeadline(t *testing.T) {
	tests := []struct {
		name      string
		lim       svcconfig.RenderLimits
		wantLimit string
		within    time.Duration
	}{
		{name: "at the deadline", lim: svcconfig.RenderLimits{MaxCPUSeconds: 600, Timeout: policy.Duration{Duration: 2 * time.Second}},
			wantLimit: "timeout", within: 10 * time.Second},
		{name: "at the CPU limit", lim: svcconfig.RenderLimits{MaxCPUSeconds: 1, Timeout: policy.Duration{Duration: time.Minute}},
			wantLimit: "maxCPUSeconds", within: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			goroutines := runtime.NumGoroutine()
			for range 3 {
				start := time.Now()
				_, err := Render(context.Background(), runawayReq("loop", tt.lim, ""))
				requireLimit(t, err, tt.wantLimit)
				assert.Less(t, time.Since(start), tt.within)
			}
			objs, err := Render(context.Background(), runawayReq("loop", tt.lim, "count: 3\n"))
			require.NoError(t, err, "a loop that ends renders, in a new worker")
			assert.Equal(t, "yes", find(t, objs, "ConfigMap", "loop").Raw["data"].(map[string]any)["done"])
			assert.LessOrEqual(t, runtime.NumGoroutine(), goroutines+2, "no stopped render leaves goroutines behind")
		})
	}
}

// TestRenderStopsAtTheCallersContext: the cycle's own deadline stops a render too, with the
// context's error.
func TestRenderStopsAtTheCallersContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err := Render(ctx, runawayReq("loop", svcconfig.RenderLimits{MaxCPUSeconds: 600}, ""))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "render helm chart charts/loop: ")
	assert.Less(t, time.Since(start), 10*time.Second)
}

// TestRunawayRenderDoesNotHoldUpOthers: while one worker loops, the others serve: renders of
// another chart finish in their usual time, not after the runaway's deadline.
func TestRunawayRenderDoesNotHoldUpOthers(t *testing.T) {
	lim := svcconfig.RenderLimits{Workers: 2, MaxCPUSeconds: 600, Timeout: policy.Duration{Duration: 20 * time.Second}}
	runaway := make(chan error, 1)
	go func() {
		_, err := Render(context.Background(), runawayReq("loop", lim, ""))
		runaway <- err
	}()
	start := time.Now()
	for range 5 {
		_, err := Render(context.Background(), runawayReq("web", lim, ""))
		require.NoError(t, err)
	}
	assert.Less(t, time.Since(start), 10*time.Second, "the other renders must not wait for the runaway")
	select {
	case err := <-runaway:
		t.Fatalf("the runaway ended before its deadline: %v", err)
	default:
	}
	requireLimit(t, <-runaway, "timeout")
}

// TestRenderErrorIsCut: tpl recursion that Helm's nesting limit stops in time writes each of
// its thousand levels into its error; the error that reaches a log or the status page is cut.
func TestRenderErrorIsCut(t *testing.T) {
	lim := svcconfig.RenderLimits{MaxMemoryBytes: 2 << 30, MaxCPUSeconds: 120, Timeout: policy.Duration{Duration: 2 * time.Minute}}
	_, err := Render(context.Background(), runawayReq("tplrecursion", lim, ""))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "render helm chart charts/tplrecursion: render templates: ")
	assert.Contains(t, err.Error(), "more bytes of this error cut)")
	assert.Less(t, len(err.Error()), maxErrorBytes+100)
}

// TestWorkerFrames: the frame reader refuses a frame over its cap before reading it.
func TestWorkerFrames(t *testing.T) {
	var buf strings.Builder
	require.NoError(t, writeFrame(&buf, workerResponse{Sources: []renderedSource{{Name: "x", Manifest: make([]byte, 1000)}}}))
	tests := []struct {
		name    string
		max     int
		wantErr string
	}{
		{name: "within the cap", max: 2000},
		{name: "over the cap", max: 100, wantErr: "larger than 100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got workerResponse
			err := readFrame(strings.NewReader(buf.String()), &got, tt.max)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, got.Sources[0].Manifest, 1000)
		})
	}
}

// TestRenderInProcessKeepsTheOutputCap: where workers are not supported, a render runs in
// process under the timeout and the output cap.
func TestRenderInProcessKeepsTheOutputCap(t *testing.T) {
	tests := []struct {
		name      string
		lines     int
		wantLimit string
	}{
		{name: "under the cap", lines: 16},
		{name: "over the cap", lines: 2048, wantLimit: "maxOutputBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lim := svcconfig.RenderLimits{MaxOutputBytes: 1 << 20}
			srcs, err := renderInProcess(context.Background(), runawayReq("hugeoutput", lim, "lines: "+strconv.Itoa(tt.lines)+"\n"))
			if tt.wantLimit != "" {
				requireLimit(t, err, tt.wantLimit)
				return
			}
			require.NoError(t, err)
			require.Len(t, srcs, 1)
			assert.Greater(t, len(srcs[0].Manifest), tt.lines*1024)
		})
	}
}

// FuzzReadFrame: whatever a worker writes, reading it neither panics nor takes a frame over
// the cap.
func FuzzReadFrame(f *testing.F) {
	var good strings.Builder
	_ = writeFrame(&good, workerResponse{Sources: []renderedSource{{Name: "helm chart c", Manifest: []byte("kind: A\n")}}})
	f.Add([]byte(good.String()))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 3, 1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		var resp workerResponse
		err := readFrame(strings.NewReader(string(data)), &resp, 1<<10)
		if len(data) >= 4 && int(data[0])<<24|int(data[1])<<16|int(data[2])<<8|int(data[3]) > 1<<10 {
			require.Error(t, err, "a frame over the cap is refused")
		}
	})
}
