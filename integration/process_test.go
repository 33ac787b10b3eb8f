package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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

// leftoverChildren lists the test process's child processes that are still there after wait
// (zombies included: a child nobody waited for), as "pid state command line". Every child a
// test starts — prometheus, git http-backend, gitops-autoscaler, the load app — must be gone
// once its test's cleanups ran; TestMain fails the package otherwise.
func leftoverChildren(wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	for {
		left := children(os.Getpid())
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// children reads /proc for the processes whose parent is ppid.
func children(ppid int) []string {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []string
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(b)
		end := strings.LastIndexByte(s, ')')
		if end < 0 {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) < 2 || fields[1] != strconv.Itoa(ppid) {
			continue
		}
		pid := strings.Fields(s)[0]
		cmdline, _ := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
		name := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		if name == "" {
			name = s[strings.IndexByte(s, '(') : end+1]
		}
		out = append(out, fmt.Sprintf("%s %s %s", pid, fields[0], name))
	}
	return out
}

// TestChildrenSeesALeftoverProcess: the check TestMain runs finds a child that is still
// running, and a zombie nobody waited for, and forgets the child once it was waited for.
func TestChildrenSeesALeftoverProcess(t *testing.T) {
	sleep := exec.Command("sleep", "30")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	pid := strconv.Itoa(sleep.Process.Pid)
	hasChild := func(state string) bool {
		for _, c := range children(os.Getpid()) {
			if strings.HasPrefix(c, pid+" "+state) {
				return true
			}
		}
		return false
	}
	if !hasChild("S sleep 30") && !hasChild("R sleep 30") {
		t.Fatalf("the running child %s is not listed: %q", pid, children(os.Getpid()))
	}
	_ = sleep.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for !hasChild("Z") { // killed, not yet waited for: a zombie, still a leftover
		if time.Now().After(deadline) {
			t.Fatalf("the killed child %s is not listed as a zombie: %q", pid, children(os.Getpid()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = sleep.Wait()
	if hasChild("") {
		t.Fatalf("the waited-for child %s is still listed: %q", pid, children(os.Getpid()))
	}
}
