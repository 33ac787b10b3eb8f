//go:build !linux

package render

import (
	"syscall"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// workersSupported: elsewhere than Linux, renders run in process, under the timeout and the
// output cap alone (docs/design.md §8).
const workersSupported = false

const cpuLimitMessage = "render worker: CPU time limit reached"

func workerProcAttr() *syscall.SysProcAttr     { return nil }
func limitWorker(svcconfig.RenderLimits) error { return nil }
func limitCPU(time.Duration, int)              {}
func cpuTime() time.Duration                   { return 0 }
