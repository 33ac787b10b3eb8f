package promclient

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resetPeakRSS resets the process's peak resident set size (VmHWM) so that peakRSS then reports
// the peak of what ran in between, not of the setup before. It reports false where the kernel
// does not offer that (not Linux, or an old kernel); peakRSS then covers the whole process.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS is the process's peak resident set size in bytes (VmHWM of /proc/self/status), the
// memory the operating system actually had to give the process — heap, stacks and runtime
// overhead included. It reports false where /proc is not available.
func peakRSS() (uint64, bool) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		// "VmHWM:    123456 kB"
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, false
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}

func TestPeakRSS(t *testing.T) {
	rss, ok := peakRSS()
	if runtime.GOOS != "linux" {
		assert.False(t, ok, "only Linux has /proc/self/status")
		return
	}
	require.True(t, ok)
	assert.Greater(t, rss, uint64(1<<20), "a Go test binary holds more than 1 MiB")
	if resetPeakRSS() {
		after, ok := peakRSS()
		require.True(t, ok)
		assert.Greater(t, after, uint64(0), "after a reset the peak is the current size, never 0")
	}
}
