package tinyfs

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// FS is a mounted small file system.
type FS struct {
	t   testing.TB
	Dir string
}

// Mount mounts a tmpfs of size bytes on a new directory, unmounted when the test ends.
func Mount(t testing.TB, size int64) *FS {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tinyfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0755", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("tinyfs: cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): %v: %s", err, bytes.TrimSpace(out))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("tinyfs: umount %s: %v: %s", dir, err, out)
		}
	})
	return &FS{t: t, Dir: dir}
}

// Free is the space left, in bytes.
func (f *FS) Free() int64 {
	f.t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(f.Dir, &st); err != nil {
		f.t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// FillTo writes a ballast file so that about leave bytes stay free.
func (f *FS) FillTo(leave int64) {
	f.t.Helper()
	n := f.Free() - leave
	if n <= 0 {
		return
	}
	if err := os.WriteFile(f.ballast(), make([]byte, n), 0o600); err != nil {
		f.t.Fatalf("tinyfs: ballast: %v", err)
	}
}

// Drain removes the ballast: the disk has room again.
func (f *FS) Drain() {
	f.t.Helper()
	if err := os.Remove(f.ballast()); err != nil && !os.IsNotExist(err) {
		f.t.Fatal(err)
	}
}

func (f *FS) ballast() string { return filepath.Join(f.Dir, ".ballast") }
