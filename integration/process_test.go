package integration

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// process is a child gitops-autoscaler process of the built binary, as a Jenkins job or a pod
// runs it: its output is kept, and it can be stopped, killed or waited for.
type process struct {
	t    testing.TB
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
	err  error
	// addr is serve's listen address, once it serves.
	addr string
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var servingRE = regexp.MustCompile(`serving on http://(\S+)`)

// startProcess starts the binary with args. A serve process is returned once it listens.
func startProcess(t testing.TB, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append(append(os.Environ(), "HOME="+t.TempDir()), env...)
	p := &process{t: t, cmd: cmd, out: &lockedBuffer{}, done: make(chan struct{})}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start gitops-autoscaler %s: %v", strings.Join(args, " "), err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			_, _ = p.out.Write([]byte(line + "\n"))
			if m := servingRE.FindStringSubmatch(line); m != nil {
				select {
				case listening <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("gitops-autoscaler %s output:\n%s", strings.Join(args, " "), tail(p.out.String(), 6000))
		}
	})
	if len(args) > 0 && args[0] == "serve" {
		select {
		case p.addr = <-listening:
		case <-p.done:
			t.Fatalf("serve exited before listening: %v\n%s", p.err, p.out.String())
		case <-time.After(cliTimeout):
			t.Fatalf("serve did not listen within %s\n%s", cliTimeout, p.out.String())
		}
	}
	return p
}

// wait waits for the process to exit and returns its exit code (-1 when a signal ended it).
func (p *process) wait(ctx context.Context) int {
	select {
	case <-p.done:
	case <-ctx.Done():
		p.t.Fatalf("gitops-autoscaler did not exit: %v\n%s", ctx.Err(), tail(p.out.String(), 4000))
	}
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// kill sends SIGKILL: no cleanup, no deferred function, no flushed buffer runs.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits: a push in flight finishes.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
}

// exited reports whether the process has exited.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// peakRSS is the exited process's resident high-water mark, in bytes.
func (p *process) peakRSS() int64 {
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10 // kilobytes on Linux
	}
	return 0
}

// cpu is the exited process's user and system time.
func (p *process) cpu() time.Duration {
	return p.cmd.ProcessState.UserTime() + p.cmd.ProcessState.SystemTime()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
