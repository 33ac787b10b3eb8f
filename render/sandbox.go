package render

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// Renders run sandboxed (docs/design.md §8, "Renders are sandboxed"): Helm's and kustomize's
// templates are code a team writes, and one that recurses, prints gigabytes or loops must not
// take the service, or the other teams' renders, with it. Each render runs in a worker: a
// child process of this same binary (workerEnv tells it to serve renders instead of starting
// normally), which limits its own memory (RLIMIT_DATA) and each render's CPU time
// (RLIMIT_CPU), and which the parent kills at the render's deadline. The output is capped by
// the worker and again when the parent reads it. A small pool of long-lived workers serves
// every render, one at a time each, over length-prefixed gob frames on its stdin and stdout;
// a worker that dies or is killed is replaced by a fresh one at the next render. The parent
// parses what the worker rendered, so the objects are exactly those of an in-process render.
//
// The worker reads the repository at Root as the in-process renderer did, with the overlay
// the parent sends; it gets no environment (so no credential), no other file descriptor, and
// nothing it renders is fetched: the same rules as in process. A remote chart was pulled by
// the parent before (charts.go); the worker reads its archive from the chart cache.

// workerEnv, set in a process's environment, makes the process a render worker: the render
// package's init serves renders on stdin and stdout and exits, whatever binary it is in (the
// service's, or a test binary of a package that renders). Its value is the worker's limits as
// JSON.
const workerEnv = "GITOPS_AUTOSCALER_RENDER_WORKER"

// frameOverhead is what a response frame may hold beyond the rendered output: names, error
// text and gob's own framing.
const frameOverhead = 1 << 20

// workerRequest is one render, as sent to a worker.
type workerRequest struct {
	Root        string
	Helm        *policy.HelmRender
	Kustomize   *policy.KustomizeRender
	ArgoCD      *policy.ArgoCDRender
	Flux        *policy.FluxRender
	RepoURLs    []string
	Branch      string
	Overlay     map[string][]byte
	Revision    string
	FluxInstall bool
	Pulled      map[string]pulledChart
}

// workerResponse is a worker's answer: the rendered sources, or the render's error text.
type workerResponse struct {
	Sources []renderedSource
	Err     string
	// Limit is set when a limit stopped the render inside the worker (maxOutputBytes).
	Limit *LimitError
	// Field is the *policy.FieldError the error wraps, if any, so that the caller can still
	// find the file, line and field of a refused source.
	Field *policy.FieldError
	// CPU is the CPU time the worker spent on the render.
	CPU time.Duration
}

// renderedSource is one source's output, before parsing.
type renderedSource struct {
	Name      string // what was rendered, for messages: "helm chart charts/web"
	Namespace string // where objects without a namespace land; "" when the source does not say
	Manifest  []byte
}

// toWorker is the request as a worker takes it: the root made absolute, since the worker runs
// in another directory.
func (req Request) toWorker() workerRequest {
	root := req.Root
	if abs, err := filepath.Abs(root); err == nil && root != "" {
		root = abs
	}
	return workerRequest{
		Root: root, Helm: req.Helm, Kustomize: req.Kustomize, ArgoCD: req.ArgoCD, Flux: req.Flux,
		RepoURLs: req.RepoURLs, Branch: req.Branch, Overlay: req.Overlay, Revision: req.revision, FluxInstall: req.fluxInstall,
		Pulled: req.pulled,
	}
}

func (w workerRequest) request() Request {
	return Request{
		Root: w.Root, Helm: w.Helm, Kustomize: w.Kustomize, ArgoCD: w.ArgoCD, Flux: w.Flux,
		RepoURLs: w.RepoURLs, Branch: w.Branch, Overlay: w.Overlay, revision: w.Revision, fluxInstall: w.FluxInstall,
		pulled: w.Pulled,
	}
}

// what names what a request renders, for the errors of a stopped render.
func (req Request) what() string {
	switch {
	case req.Helm != nil:
		return "helm chart " + req.Helm.Chart
	case req.Kustomize != nil:
		return "kustomization " + req.Kustomize.Dir
	case req.ArgoCD != nil:
		if req.ArgoCD.ApplicationSet != "" {
			return "Argo CD Application " + req.ArgoCD.Name + " of the ApplicationSet " + req.ArgoCD.ApplicationSet
		}
		return "Argo CD Application " + req.ArgoCD.Application
	case req.Flux != nil:
		return "Flux HelmRelease " + req.Flux.HelmRelease
	}
	return "nothing"
}

// writeFrame writes v as one frame: its gob encoding's length (4 bytes, big-endian), then the
// encoding.
func writeFrame(w io.Writer, v any) error {
	var buf bytes.Buffer
	buf.Write([]byte{0, 0, 0, 0})
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return err
	}
	b := buf.Bytes()
	if len(b)-4 > 1<<31-1 {
		return errors.New("frame too large")
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	_, err := w.Write(b)
	return err
}

// readFrame reads one frame into v; a frame longer than max bytes is an error, read no further.
func readFrame(r io.Reader, v any, max int) error {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return err
	}
	n := int(binary.BigEndian.Uint32(head[:]))
	if n > max {
		return fmt.Errorf("frame of %d bytes is larger than %d", n, max)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	return gob.NewDecoder(bytes.NewReader(b)).Decode(v)
}

// workerCPU is the CPU time workers reported for their renders, in nanoseconds: the
// benchmarks add it to the service's own, so that their CPU figure still counts every render.
var workerCPU atomic.Int64

// pools holds one pool per set of limits (in practice the service config's, and the defaults).
var (
	poolsMu sync.Mutex
	pools   = map[svcconfig.RenderLimits]*pool{}
)

// poolFor returns the pool of workers for the limits (zero fields defaulted), starting none
// until a render needs one.
func poolFor(lim svcconfig.RenderLimits) *pool {
	lim.SetDefaults()
	poolsMu.Lock()
	defer poolsMu.Unlock()
	p := pools[lim]
	if p == nil {
		p = &pool{lim: lim, slots: make(chan *worker, lim.Workers)}
		for range lim.Workers {
			p.slots <- nil // a free slot without a worker yet
		}
		pools[lim] = p
	}
	return p
}

// pool is a fixed number of worker slots. A render takes a slot (waiting for one only as long
// as its context allows), starts a worker in it if it has none, and gives the slot back with
// the worker, or empty when the worker died or was killed.
type pool struct {
	lim   svcconfig.RenderLimits
	slots chan *worker
}

// worker is one worker process.
type worker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout io.ReadCloser
	stderr *head
}

// render runs one render in a worker and returns the sources it rendered, or an error naming
// the limit that stopped it.
func (p *pool) render(ctx context.Context, req Request) ([]renderedSource, error) {
	var w *worker
	select {
	case w = <-p.slots:
	case <-ctx.Done():
		return nil, fmt.Errorf("render: %w (waiting for a free render worker: limits.render.workers is %d)", ctx.Err(), p.lim.Workers)
	}
	var err error
	if w == nil {
		if w, err = p.start(); err != nil {
			p.slots <- nil
			return nil, fmt.Errorf("render: start a render worker: %w", err)
		}
	}
	srcs, keep, err := p.run(ctx, w, req)
	if !keep {
		w.kill()
		w = nil
	}
	p.slots <- w
	return srcs, err
}

// run sends the request to the worker and waits for its answer, the render's deadline or the
// context's end. keep says whether the worker can serve again.
func (p *pool) run(ctx context.Context, w *worker, req Request) (srcs []renderedSource, keep bool, err error) {
	deadline, cancel := context.WithTimeout(ctx, p.lim.Timeout.Duration)
	defer cancel()
	if err := writeFrame(w.stdin, req.toWorker()); err != nil {
		return nil, false, p.died(w, req, err)
	}
	type answer struct {
		resp workerResponse
		err  error
	}
	done := make(chan answer, 1)
	go func() {
		var a answer
		a.err = readFrame(w.stdout, &a.resp, p.lim.MaxOutputBytes+frameOverhead)
		done <- a
	}()
	select {
	case a := <-done:
		if a.err != nil {
			return nil, false, p.died(w, req, a.err)
		}
		workerCPU.Add(int64(a.resp.CPU))
		if a.resp.Limit != nil {
			return nil, true, a.resp.Limit
		}
		if a.resp.Err != "" {
			return nil, true, &workerError{msg: a.resp.Err, field: a.resp.Field}
		}
		return a.resp.Sources, true, nil
	case <-deadline.Done():
		w.kill()
		<-done
		if err := ctx.Err(); err != nil {
			return nil, false, fmt.Errorf("render %s: %w (the render was stopped)", req.what(), err)
		}
		return nil, false, &LimitError{What: req.what(), Limit: "timeout",
			Msg: fmt.Sprintf("ran past its deadline of %s (limits.render.timeout) and was stopped", p.lim.Timeout)}
	}
}

// died kills the worker and explains why it stopped answering: a limit it reached, by what it
// said on stderr, or how it ended.
func (p *pool) died(w *worker, req Request, ioErr error) error {
	w.kill()
	last := w.stderr.String()
	switch {
	case strings.Contains(last, "out of memory"), strings.Contains(last, "cannot allocate memory"),
		strings.Contains(last, "pthread_create failed"):
		return &LimitError{What: req.what(), Limit: "maxMemoryBytes",
			Msg: fmt.Sprintf("ran out of its memory limit of %d bytes (limits.render.maxMemoryBytes) and was stopped", p.lim.MaxMemoryBytes)}
	case strings.Contains(last, "stack exceeds"), strings.Contains(last, "stack overflow"):
		return &LimitError{What: req.what(), Limit: "maxMemoryBytes",
			Msg: fmt.Sprintf("recursed past its stack limit, part of its memory limit of %d bytes (limits.render.maxMemoryBytes), and was stopped", p.lim.MaxMemoryBytes)}
	case strings.Contains(last, cpuLimitMessage):
		return &LimitError{What: req.what(), Limit: "maxCPUSeconds",
			Msg: fmt.Sprintf("used its %ds of CPU time (limits.render.maxCPUSeconds) and was stopped", p.lim.MaxCPUSeconds)}
	case strings.Contains(ioErr.Error(), "frame of"):
		return &LimitError{What: req.what(), Limit: "maxOutputBytes",
			Msg: fmt.Sprintf("answered more than %d bytes (limits.render.maxOutputBytes) and was stopped: %v", p.lim.MaxOutputBytes, ioErr)}
	}
	state := "killed"
	if w.cmd.ProcessState != nil {
		state = w.cmd.ProcessState.String()
	}
	msg := fmt.Sprintf("render %s: the render worker stopped (%s)", req.what(), state)
	if line := firstLine(last); line != "" {
		msg += ": " + line
	}
	return errors.New(msg)
}

// LimitError is a render stopped by one of limits.render: the error of a render that ran out
// of memory, CPU time, output or time. Limit is the field of limits.render that stopped it.
type LimitError struct {
	What  string // what was rendered: "helm chart charts/web"
	Limit string // timeout, maxMemoryBytes, maxCPUSeconds or maxOutputBytes
	Msg   string
}

func (e *LimitError) Error() string { return "render " + e.What + ": " + e.Msg }

// maxErrorBytes bounds the text of a render's error: a template that recurses until Helm's
// nesting limit writes each level into its error, 250 KB for tpl recursion.
const maxErrorBytes = 8 << 10

// cutError cuts an error's text at maxErrorBytes, saying so.
func cutError(msg string) string {
	if len(msg) <= maxErrorBytes {
		return msg
	}
	cut := strings.ToValidUTF8(msg[:maxErrorBytes], "")
	return cut + fmt.Sprintf(" … (%d more bytes of this error cut)", len(msg)-len(cut))
}

// workerError is a render's error as a worker reported it: its text, and the field error it
// wrapped.
type workerError struct {
	msg   string
	field *policy.FieldError
}

func (e *workerError) Error() string { return e.msg }

func (e *workerError) Unwrap() error {
	if e.field == nil {
		return nil
	}
	return e.field
}

// start starts a worker process: this binary, with the worker's limits in workerEnv and an
// environment of nothing else.
func (p *pool) start() (*worker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	lim, err := json.Marshal(p.lim)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	// No credential or setting of the service reaches the worker; GOTRACEBACK=none keeps a
	// dying worker's last words to the runtime's one-line reason.
	cmd.Env = []string{workerEnv + "=" + string(lim), "GOTRACEBACK=none"}
	cmd.Dir = "/"
	cmd.SysProcAttr = workerProcAttr()
	w := &worker{cmd: cmd, stderr: &head{max: 8192}}
	cmd.Stderr = w.stderr
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if w.stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return w, nil
}

// kill ends the worker process and waits for it; killing one already gone is harmless.
func (w *worker) kill() {
	if w.cmd.ProcessState != nil {
		return
	}
	_ = w.cmd.Process.Kill()
	_ = w.stdin.Close()
	_ = w.cmd.Wait()
}

// head keeps the first max bytes written to it: a worker's stderr, where a worker writes only
// as it dies, its reason first (the runtime's traceback follows).
type head struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *head) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := t.max - len(t.buf); room > 0 {
		t.buf = append(t.buf, b[:min(room, len(b))]...)
	}
	return len(b), nil
}

func (t *head) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(line)
}

// serveWorker is a worker's life: set its limits, then render each request read from in and
// answer on out, until in ends.
func serveWorker(limits string, in io.Reader, out io.Writer) int {
	var lim svcconfig.RenderLimits
	if err := json.Unmarshal([]byte(limits), &lim); err != nil {
		fmt.Fprintf(os.Stderr, "render worker: %s: %v\n", workerEnv, err)
		return 2
	}
	lim.SetDefaults()
	if err := limitWorker(lim); err != nil {
		fmt.Fprintf(os.Stderr, "render worker: set limits: %v\n", err)
		return 2
	}
	for {
		var req workerRequest
		if err := readFrame(in, &req, 1<<31-1); err != nil {
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintf(os.Stderr, "render worker: read request: %v\n", err)
			return 2
		}
		resp := workerRender(lim, req)
		if err := writeFrame(out, resp); err != nil {
			fmt.Fprintf(os.Stderr, "render worker: write answer: %v\n", err)
			return 2
		}
	}
}

// workerRender is one render in a worker, under the CPU limit for one render.
func workerRender(lim svcconfig.RenderLimits, wreq workerRequest) (resp workerResponse) {
	start := cpuTime()
	limitCPU(start, lim.MaxCPUSeconds)
	defer func() {
		if p := recover(); p != nil {
			resp = workerResponse{Err: fmt.Sprintf("render: renderer panicked: %v", p)}
		}
		resp.CPU = cpuTime() - start
	}()
	srcs, err := renderSources(context.Background(), wreq.request(), lim.MaxOutputBytes)
	var le *LimitError
	if errors.As(err, &le) {
		return workerResponse{Limit: le}
	}
	if err != nil {
		resp := workerResponse{Err: cutError(err.Error())}
		var fe *policy.FieldError
		if errors.As(err, &fe) {
			resp.Field = fe
		}
		return resp
	}
	return workerResponse{Sources: srcs}
}
