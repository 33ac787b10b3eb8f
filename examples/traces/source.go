package traces

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Upstream finds a source's bytes: from a local copy when one is given — a Git directory (a
// clone, its .git, or a bare repository) per repository, or a file per repository path — else
// from GitHub at the pinned commit.
type Upstream struct {
	// Repos maps owner/name to a local Git directory holding the pinned commit.
	Repos map[string]string
	// Files maps owner/name/path to a local file with that path's content at the commit.
	Files map[string]string
	// Client downloads when there is no local copy (nil: no downloads), from Base (default
	// RawBase).
	Client *http.Client
	Base   string
}

// Read returns the source's bytes, at most MaxUpstream.
func (u *Upstream) Read(ctx context.Context, s Source) ([]byte, error) {
	if f, ok := u.Files[s.Repo+"/"+s.Path]; ok {
		return readBounded(f)
	}
	if dir, ok := u.Repos[s.Repo]; ok {
		return gitShow(ctx, dir, s)
	}
	if u.Client == nil {
		return nil, fmt.Errorf("%s: no local copy of %s (give --repo %s=DIR or --file %s/%s=FILE) and downloads are off",
			s.Path, s.Repo, s.Repo, s.Repo, s.Path)
	}
	base := u.Base
	if base == "" {
		base = RawBase
	}
	return download(ctx, u.Client, s.URL(base))
}

func readBounded(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxUpstream+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxUpstream {
		return nil, fmt.Errorf("%s: over the %d bytes a source may have", name, MaxUpstream)
	}
	return data, nil
}

// gitShow reads the path at the commit from a local Git directory with `git show`.
func gitShow(ctx context.Context, dir string, s Source) ([]byte, error) {
	gitDir := dir
	if st, err := os.Stat(filepath.Join(dir, ".git")); err == nil && st.IsDir() {
		gitDir = filepath.Join(dir, ".git")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "--git-dir="+gitDir, "cat-file", "blob", s.Commit+":"+s.Path)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &limitedWriter{w: &out, n: MaxUpstream}, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s at %s in %s: %v: %s", s.Path, s.Commit[:12], dir, err, strings.TrimSpace(errOut.String()))
	}
	return out.Bytes(), nil
}

// limitedWriter fails once more than n bytes were written.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		return 0, fmt.Errorf("over the %d bytes a source may have", MaxUpstream)
	}
	l.n -= len(p)
	return l.w.Write(p)
}

func download(ctx context.Context, c *http.Client, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxUpstream+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(data) > MaxUpstream {
		return nil, fmt.Errorf("GET %s: over the %d bytes a source may have", url, MaxUpstream)
	}
	return data, nil
}

// Sum is the hex SHA-256 of data, as SHA256SUMS records it.
func Sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// Load reads a converted trace from dir and checks it against its recorded checksum.
func Load(dir string, t *Trace, sums map[string]string) ([]byte, error) {
	name := filepath.Join(dir, t.Name+".csv")
	data, err := readBounded(name)
	if err != nil {
		return nil, err
	}
	want, ok := sums[t.Name]
	if !ok {
		return nil, fmt.Errorf("%s: no checksum recorded in SHA256SUMS", t.Name)
	}
	if got := Sum(data); got != want {
		return nil, fmt.Errorf("%s: sha256 %s, want %s (SHA256SUMS): convert it again: go run ./examples/traces/corpus", name, got, want)
	}
	return data, nil
}
