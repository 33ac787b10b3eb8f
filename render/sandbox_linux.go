//go:build linux

package render

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// workersSupported: on Linux, renders run in worker processes under rlimits.
const workersSupported = true

// cpuLimitMessage is what a worker says on stderr when it reaches a render's CPU limit.
const cpuLimitMessage = "render worker: CPU time limit reached"

// workerProcAttr makes the kernel kill a worker when the service dies.
func workerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// limitWorker sets the worker's limits on itself, before it reads any request:
//   - RLIMIT_DATA, the memory it may map writable, to what it maps now (its runtime,
//     libraries and threads' stacks) plus maxMemoryBytes. Go reserves its address space
//     without write access, so unlike RLIMIT_AS this counts what the heap and stacks really
//     take. Past it an allocation fails and the Go runtime dies with "out of memory" (or a
//     new thread cannot start).
//   - Go's soft memory limit to what the runtime holds now plus three quarters of
//     maxMemoryBytes, so the collector works harder before garbage alone could reach the hard
//     limit, and the goroutine stack limit to a quarter of it, so a recursion dies of a stack
//     overflow, with its own message, before the heap is gone.
//   - SIGXCPU, which the kernel sends at a render's CPU limit (see limitCPU), ends the worker
//     with cpuLimitMessage.
func limitWorker(lim svcconfig.RenderLimits) error {
	xcpu := make(chan os.Signal, 1)
	signal.Notify(xcpu, syscall.SIGXCPU)
	go func() {
		<-xcpu
		fmt.Fprintln(os.Stderr, cpuLimitMessage)
		os.Exit(3)
	}()
	base, err := mappedData()
	if err != nil {
		return err
	}
	mem := uint64(lim.MaxMemoryBytes)
	if err := syscall.Setrlimit(syscall.RLIMIT_DATA, &syscall.Rlimit{Cur: base + mem, Max: base + mem}); err != nil {
		return fmt.Errorf("RLIMIT_DATA: %w", err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	debug.SetMemoryLimit(int64(ms.Sys-ms.HeapReleased) + int64(mem)/4*3)
	// A worker's live heap is small between renders, so the default GOGC would collect
	// several times per render; the memory limit above bounds what a laxer pace may hold.
	debug.SetGCPercent(400)
	debug.SetMaxStack(int(mem / 4))
	return nil
}

// mappedData is what the process maps writable now (VmData), which RLIMIT_DATA bounds.
func mappedData() (uint64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmData:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmData: %w", err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmData in /proc/self/status")
}

// limitCPU gives the render about to start maxSeconds of CPU time: RLIMIT_CPU counts the
// worker's whole life, so its soft limit moves to what the worker has used so far plus
// maxSeconds. The hard limit stays where it is (a process cannot raise it again); the
// parent's deadline is the backstop.
func limitCPU(used time.Duration, maxSeconds int) {
	var cur syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_CPU, &cur) != nil {
		return
	}
	soft := uint64(used/time.Second) + 1 + uint64(maxSeconds)
	if soft > cur.Max {
		soft = cur.Max
	}
	_ = syscall.Setrlimit(syscall.RLIMIT_CPU, &syscall.Rlimit{Cur: soft, Max: cur.Max})
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
