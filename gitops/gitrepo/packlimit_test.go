package gitrepo

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/gittest"
)

// packObject is one entry of a hand-made pack.
type packObject struct {
	typ  byte
	base int    // an OFS delta's base: the index of an earlier object
	data []byte // inflated
	// size, when set, is the size the header declares instead of len(data).
	size int64
}

// makePack writes a pack of objs, checksum included, as a remote would send it.
func makePack(objs ...packObject) []byte {
	var b bytes.Buffer
	b.WriteString("PACK")
	_ = binary.Write(&b, binary.BigEndian, uint32(2))
	_ = binary.Write(&b, binary.BigEndian, uint32(len(objs)))
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		size := int64(len(o.data))
		if o.size != 0 {
			size = o.size
		}
		c := o.typ<<4 | byte(size&0x0f)
		size >>= 4
		for size > 0 {
			b.WriteByte(c | 0x80)
			c = byte(size & 0x7f)
			size >>= 7
		}
		b.WriteByte(c)
		if o.typ == packOFSDelta {
			// Git's offset encoding: big-endian 7-bit groups, each but the last minus one.
			off := uint64(offsets[i] - offsets[o.base])
			buf := []byte{byte(off & 0x7f)}
			for off >>= 7; off > 0; off >>= 7 {
				off--
				buf = append([]byte{byte(0x80 | off&0x7f)}, buf...)
			}
			b.Write(buf)
		}
		if o.typ == packREFDelta {
			b.Write(make([]byte, 20))
		}
		zw := zlib.NewWriter(&b)
		_, _ = zw.Write(o.data)
		_ = zw.Close()
	}
	sum := sha1.Sum(b.Bytes())
	b.Write(sum[:])
	return b.Bytes()
}

// deltaVarint is a delta's size encoding: little-endian 7-bit groups.
func deltaVarint(v int) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

// copyDelta is a delta that copies all of a base of baseLen bytes times times: a few bytes
// that make an object times as large as its base.
func copyDelta(baseLen, times int) []byte {
	d := append(deltaVarint(baseLen), deltaVarint(baseLen*times)...)
	for range times {
		// copy, offset 0 (no offset bytes), size baseLen in two bytes.
		d = append(d, 0x80|0x10|0x20, byte(baseLen), byte(baseLen>>8))
	}
	return d
}

// indexPack runs the real git index-pack on a pack and says whether git takes it.
func indexPack(t *testing.T, pack []byte) error {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, exec.Command("git", "init", "-q", "--bare", dir).Run())
	cmd := exec.Command("git", "index-pack", "--stdin")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(pack)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return errors.New(string(out))
	}
	return nil
}

func TestScanPack(t *testing.T) {
	base := bytes.Repeat([]byte("a"), 1000)
	good := makePack(
		packObject{typ: packBlob, data: []byte("replicaCount: 3\n")},
		packObject{typ: packBlob, data: base},
		packObject{typ: packOFSDelta, base: 1, data: copyDelta(len(base), 3)},
	)
	// Check that git takes the hand-made pack before trusting it.
	require.NoError(t, indexPack(t, good), "the hand-made pack with a delta is a pack git takes")

	tests := []struct {
		name  string
		pack  []byte
		limit int64
		// tooLarge is the refusal expected (nil: none); bad: a malformed pack.
		tooLarge *ObjectTooLargeError
		bad      bool
	}{
		{name: "objects within the limit pass", pack: good, limit: 4000},
		{name: "empty stream", pack: nil, limit: 1},
		{name: "a whole object over the limit", pack: good, limit: 999,
			tooLarge: &ObjectTooLargeError{Size: 1000, Limit: 999}},
		{name: "a small delta that makes an object over the limit", pack: good, limit: 2999,
			tooLarge: &ObjectTooLargeError{Size: 3000, Limit: 2999, Delta: true}},
		{name: "a header that declares a huge object", limit: 64 << 20,
			pack:     makePack(packObject{typ: packBlob, data: []byte("x"), size: 1 << 40}),
			tooLarge: &ObjectTooLargeError{Size: 1 << 40, Limit: 64 << 20}},
		{name: "an object longer than its header", limit: 1 << 20, bad: true,
			pack: makePack(packObject{typ: packBlob, data: []byte("longer than said"), size: 4})},
		{name: "an object shorter than its header", limit: 1 << 20, bad: true,
			pack: makePack(packObject{typ: packBlob, data: []byte("short"), size: 40})},
		{name: "not a pack", pack: []byte("HTTP/1.1 200 OK\r\n\r\n"), limit: 1 << 20, bad: true},
		{name: "version 9", pack: append([]byte("PACK\x00\x00\x00\x09"), good[8:]...), limit: 1 << 20, bad: true},
		{name: "cut inside an object", pack: good[:40], limit: 1 << 20, bad: true},
		{name: "object type 5", limit: 1 << 20, bad: true, pack: makePack(packObject{typ: 5, data: []byte("x")})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var forwarded bytes.Buffer
			err := scanPack(io.TeeReader(bytes.NewReader(tt.pack), &forwarded), tt.limit)
			switch {
			case tt.tooLarge != nil:
				var tl *ObjectTooLargeError
				require.ErrorAs(t, err, &tl)
				assert.Equal(t, *tt.tooLarge, *tl)
				assert.Contains(t, err.Error(), "limits.git.maxObjectBytes")
			case tt.bad:
				assert.ErrorIs(t, err, errBadPack)
			default:
				require.NoError(t, err)
				assert.Equal(t, tt.pack, forwarded.Bytes(), "the whole pack is read")
			}
		})
	}
}

// TestLimitedPackWriterHoldsBackARefusedObject: the writer under the check, go-git's indexer,
// gets the pack only as far as the check has read it, so a refused object's body never
// reaches it beyond a small read-ahead; the rest of the stream is read and dropped.
func TestLimitedPackWriterHoldsBackARefusedObject(t *testing.T) {
	big := bytes.Repeat([]byte{0}, 8<<20) // 8 MiB of zeros: about 8 KiB deflated
	pack := makePack(packObject{typ: packBlob, data: []byte("ok\n")}, packObject{typ: packBlob, data: big})
	dst := &recordingWriter{}
	cleaned := false
	w := newLimitedPackWriter(dst, 1<<20, func() { cleaned = true })
	for rest := pack; len(rest) > 0; {
		n := min(len(rest), 512)
		m, err := w.Write(rest[:n])
		require.NoError(t, err, "the stream is read to its end")
		require.Equal(t, n, m)
		rest = rest[n:]
	}
	err := w.Close()
	var tl *ObjectTooLargeError
	require.ErrorAs(t, err, &tl)
	assert.Equal(t, int64(8<<20), tl.Size)
	assert.True(t, dst.closed, "the storage's writer is closed")
	assert.True(t, cleaned, "what the storage kept of the pack is removed")
	assert.Less(t, dst.n, 12+4+4096+512, "the storage got the pack up to the big object's header and a read-ahead, no more")
}

type recordingWriter struct {
	n      int
	closed bool
}

func (r *recordingWriter) Write(p []byte) (int, error) { r.n += len(p); return len(p), nil }
func (r *recordingWriter) Close() error                { r.closed = true; return nil }

// TestHugeObjectFetchIsRefusedUnread is the last part of finding 3's first bullet: a 1 GiB
// blob of zeros, a few MB on the remote, was inflated whole by go-git's pack indexer at the
// first clone (1.1 GB), even though the checkout leaves it out. An object over
// limits.git.maxObjectBytes now refuses the clone or fetch before it is inflated: nothing
// is kept, and once the object is gone from the branch the repository syncs again.
func TestHugeObjectFetchIsRefusedUnread(t *testing.T) {
	const size = 101 << 20 // over the default limit of 100 MiB
	s, opts := newRepo(t)
	huge := s.ZeroBlob("platform", size)
	s.CommitRawEntries("platform", "a huge file", dir("assets", gittest.RawEntry{Name: "huge.bin", Blob: huge}))

	t.Run("first clone", func(t *testing.T) {
		o := opts
		o.CacheDir = t.TempDir()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Open(context.Background(), o)
		runtime.ReadMemStats(&after)
		require.Error(t, err)
		// Open's errors are redacted text: the typed error is not in their chain.
		assert.Equal(t, "clone "+o.URL+": "+(&ObjectTooLargeError{Size: size, Limit: 100 << 20}).Error(), err.Error(),
			"the default limit, named")
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(48<<20), "bytes allocated: the object is never inflated")
		entries, err := os.ReadDir(o.CacheDir)
		require.NoError(t, err)
		assert.Empty(t, entries, "nothing is kept of the refused clone")
	})

	t.Run("first clone from a file remote", func(t *testing.T) {
		// git-upload-pack runs as a child whose pipe must be read to its end, or go-git
		// waits for it forever after the refusal.
		o := opts
		o.CacheDir, o.URL, o.Auth = t.TempDir(), s.Dir("platform"), nil
		done := make(chan error, 1)
		go func() { _, err := Open(context.Background(), o); done <- err }()
		select {
		case err := <-done:
			require.Error(t, err)
			assert.Contains(t, err.Error(), (&ObjectTooLargeError{Size: size, Limit: 100 << 20}).Error())
		case <-time.After(time.Minute):
			t.Fatal("the refused clone from a file remote did not return within a minute")
		}
	})

	t.Run("kept clone", func(t *testing.T) {
		// The clone was made before the huge commit: it is the branch's parent.
		parent := strings.TrimSpace(s.Git("platform", "rev-parse", "main~1"))
		tip := strings.TrimSpace(s.Git("platform", "rev-parse", "main"))
		s.Git("platform", "update-ref", "refs/heads/main", parent)
		ws := open(t, opts)
		t.Cleanup(func() { _ = ws.Close() })
		s.Git("platform", "update-ref", "refs/heads/main", tip)

		err := ws.Sync(context.Background())
		require.Error(t, err)
		assert.Equal(t, "fetch "+opts.URL+": "+(&ObjectTooLargeError{Size: size, Limit: 100 << 20}).Error(), err.Error())
		packs, _ := filepath.Glob(filepath.Join(ws.Root(), ".git", "objects", "pack", "tmp_pack_*"))
		assert.Empty(t, packs, "no temporary pack is left in the clone")

		// The person who pushed it takes it out again: the next sync goes on.
		s.Git("platform", "update-ref", "refs/heads/main", parent)
		s.CommitRawEntries("platform", "small again", dir("assets", file("huge.bin", "small\n")))
		require.NoError(t, ws.Sync(context.Background()))
		got, err := ws.ReadFile("assets/huge.bin")
		require.NoError(t, err)
		assert.Equal(t, "small\n", string(got))
	})

	t.Run("raised limit", func(t *testing.T) {
		s.Git("platform", "update-ref", "refs/heads/main", strings.TrimSpace(s.Git("platform", "rev-parse", "main~1")))
		s.CommitRawEntries("platform", "huge again", dir("assets", gittest.RawEntry{Name: "huge.bin", Blob: huge}))
		o := opts
		o.CacheDir = t.TempDir()
		o.MaxObjectBytes = size
		ws, err := Open(context.Background(), o)
		require.NoError(t, err, "at the limit the object is fetched")
		t.Cleanup(func() { _ = ws.Close() })
	})
}

// FuzzScanPack: whatever a remote sends, the check never panics, and a pack it accepts was
// read to its end.
func FuzzScanPack(f *testing.F) {
	base := bytes.Repeat([]byte("b"), 300)
	f.Add(makePack(packObject{typ: packBlob, data: []byte("x")}), int64(10))
	f.Add(makePack(packObject{typ: packBlob, data: base}, packObject{typ: packOFSDelta, base: 0, data: copyDelta(300, 4)}), int64(1000))
	f.Add(makePack(packObject{typ: packREFDelta, data: copyDelta(300, 2)}), int64(1000))
	f.Add([]byte("PACK\x00\x00\x00\x02\xff\xff\xff\xff"), int64(1))
	f.Fuzz(func(t *testing.T, pack []byte, limit int64) {
		if limit <= 0 {
			limit = 1
		}
		var read bytes.Buffer
		err := scanPack(io.TeeReader(bytes.NewReader(pack), &read), limit)
		if err == nil {
			assert.True(t, bytes.Equal(pack, read.Bytes()), "an accepted pack is read whole")
			return
		}
		var tl *ObjectTooLargeError
		if errors.As(err, &tl) {
			assert.Greater(t, tl.Size, limit)
			return
		}
		assert.ErrorIs(t, err, errBadPack)
	})
}
