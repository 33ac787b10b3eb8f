//go:build unix

package render

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process and its render workers have used so far.
// Benchmarks report it per operation next to wall time, which a busy machine inflates.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) + time.Duration(workerCPU.Load())
}
