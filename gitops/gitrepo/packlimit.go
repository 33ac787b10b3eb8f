package gitrepo

import (
	"bufio"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitobj"
)

// ObjectTooLargeError is a fetch refused because the remote sent an object larger than
// limits.git.maxObjectBytes. The check reads each object's size from the pack's headers
// before go-git's indexer inflates the object whole (docs/design.md §6, "Git content is
// untrusted input"), so the refused object never reaches memory.
type ObjectTooLargeError struct {
	// Size is the object's size once inflated, as the pack declares it.
	Size int64
	// Limit is limits.git.maxObjectBytes.
	Limit int64
	// Delta tells a delta whose result is too large from a whole object.
	Delta bool
}

func (e *ObjectTooLargeError) Error() string {
	what := "an object"
	if e.Delta {
		what = "a delta that makes an object"
	}
	return fmt.Sprintf("the remote sent %s of %d bytes, over the %d bytes an object may hold (limits.git.maxObjectBytes): "+
		"nothing of this fetch is kept; remove the object from the branch's history, fetch less history (depth), or raise the limit in the service config",
		what, e.Size, e.Limit)
}

// errBadPack is a pack stream that is not a Git pack.
var errBadPack = errors.New("the remote sent a malformed pack")

// Pack object types (gitformat-pack).
const (
	packCommit   = 1
	packTree     = 2
	packBlob     = 3
	packTag      = 4
	packOFSDelta = 6
	packREFDelta = 7
)

// limitedStore is the repository's storage as a fetch sees it: each pack it receives is
// read header by header and refused at the first object over the limit, before the pack
// reaches the storage's own writer and indexer.
type limitedStore struct {
	*gitobj.Store
	limit int64
	// packDir is the clone's objects/pack, where go-git leaves its temporary pack file when
	// a pack is refused part-way.
	packDir string
}

// PackfileWriter returns the storage's pack writer behind the size check.
func (s *limitedStore) PackfileWriter() (io.WriteCloser, error) {
	dst, err := s.Store.PackfileWriter()
	if err != nil {
		return nil, err
	}
	return newLimitedPackWriter(dst, s.limit, s.removeTempPacks), nil
}

// removeTempPacks deletes what go-git leaves of a refused pack: it keeps the temporary file
// when its indexer fails.
func (s *limitedStore) removeTempPacks() {
	names, _ := filepath.Glob(filepath.Join(s.packDir, "tmp_pack_*"))
	for _, n := range names {
		_ = os.Remove(n)
	}
}

var _ storer.PackfileWriter = (*limitedStore)(nil)

// limitedPackWriter checks a pack stream as it is written. The bytes go through a pipe to a
// reader that parses object headers and inflates each object into nothing to find where the
// next one starts; only the bytes it has read reach dst. So dst never sees more than a small
// read-ahead of an object that is refused.
type limitedPackWriter struct {
	dst     io.WriteCloser
	pw      *io.PipeWriter
	done    chan error
	cleanup func()
	refused bool
}

func newLimitedPackWriter(dst io.WriteCloser, limit int64, cleanup func()) *limitedPackWriter {
	pr, pw := io.Pipe()
	w := &limitedPackWriter{dst: dst, pw: pw, done: make(chan error, 1), cleanup: cleanup}
	go func() {
		tee := &teeReader{r: pr, w: dst}
		err := scanPack(tee, limit)
		if tee.werr != nil {
			err = tee.werr // the storage failed, not the pack
		}
		// Unblock the writer: after an error, every Write fails with it.
		pr.CloseWithError(err)
		w.done <- err
	}()
	return w
}

// Write hands p to the check. Once the check has refused the pack, the rest of the stream is
// read and dropped rather than failed: a file remote's git-upload-pack would otherwise block
// on a full pipe while go-git waits for it to exit. The network timeout bounds how long a
// remote may keep sending; Close says why the pack was refused.
func (w *limitedPackWriter) Write(p []byte) (int, error) {
	if w.refused {
		return len(p), nil
	}
	if _, err := w.pw.Write(p); err != nil {
		w.refused = true
	}
	return len(p), nil
}

// teeReader hands dst what it reads, and keeps dst's error apart from the reader's.
type teeReader struct {
	r    io.Reader
	w    io.Writer
	werr error
}

func (t *teeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if _, werr := t.w.Write(p[:n]); werr != nil {
			t.werr = werr
			return n, werr
		}
	}
	return n, err
}

// Close ends the stream and waits for the check; a refused pack is never kept.
func (w *limitedPackWriter) Close() error {
	_ = w.pw.Close()
	scanErr := <-w.done
	if scanErr != nil {
		// dst's indexer sees a truncated pack and fails; the scanner's error is the one
		// that says why.
		_ = w.dst.Close()
		if w.cleanup != nil {
			w.cleanup()
		}
		return scanErr
	}
	return w.dst.Close()
}

// scanPack reads a whole pack stream and fails at the first object whose inflated size, or
// whose delta's result size, is over limit. It reads through a small buffer, so the reader
// under it is never asked for more than 4 KiB past the current object's header. An empty
// stream (go-git opens a writer also when nothing is fetched) is accepted.
func scanPack(r io.Reader, limit int64) error {
	br := bufio.NewReaderSize(r, 4096)
	var hdr [12]byte
	n, err := io.ReadFull(br, hdr[:])
	if n == 0 && (err == io.EOF || err == io.ErrUnexpectedEOF) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errBadPack, err)
	}
	if string(hdr[:4]) != "PACK" {
		return fmt.Errorf("%w: no PACK signature", errBadPack)
	}
	if v := binary.BigEndian.Uint32(hdr[4:8]); v != 2 && v != 3 {
		return fmt.Errorf("%w: version %d", errBadPack, v)
	}
	count := binary.BigEndian.Uint32(hdr[8:12])
	var z zlibReader
	for i := uint32(0); i < count; i++ {
		if err := scanObject(br, &z, limit); err != nil {
			return err
		}
	}
	// The trailer, a checksum; the indexer below checks it.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return fmt.Errorf("%w: %v", errBadPack, err)
	}
	return nil
}

// zlibReader is one inflater reused for every object of a pack: a new one costs some 40 KB,
// which a clone of thousands of objects would pay thousands of times.
type zlibReader struct{ r io.ReadCloser }

func (z *zlibReader) reset(br *bufio.Reader) (io.Reader, error) {
	if z.r == nil {
		r, err := zlib.NewReader(br)
		if err != nil {
			return nil, err
		}
		z.r = r
		return r, nil
	}
	if err := z.r.(zlib.Resetter).Reset(br, nil); err != nil {
		return nil, err
	}
	return z.r, nil
}

// scanObject reads one object: its header, a delta's base reference, and its zlib stream.
func scanObject(br *bufio.Reader, z *zlibReader, limit int64) error {
	c, err := br.ReadByte()
	if err != nil {
		return fmt.Errorf("%w: %v", errBadPack, err)
	}
	typ := (c >> 4) & 7
	size := int64(c & 0x0f)
	for shift := uint(4); c&0x80 != 0; shift += 7 {
		if shift > 56 {
			return fmt.Errorf("%w: object size header too long", errBadPack)
		}
		if c, err = br.ReadByte(); err != nil {
			return fmt.Errorf("%w: %v", errBadPack, err)
		}
		size |= int64(c&0x7f) << shift
	}
	switch typ {
	case packCommit, packTree, packBlob, packTag:
	case packOFSDelta:
		for i := 0; ; i++ {
			if i > 9 {
				return fmt.Errorf("%w: delta offset too long", errBadPack)
			}
			if c, err = br.ReadByte(); err != nil {
				return fmt.Errorf("%w: %v", errBadPack, err)
			}
			if c&0x80 == 0 {
				break
			}
		}
	case packREFDelta:
		if _, err := br.Discard(20); err != nil {
			return fmt.Errorf("%w: %v", errBadPack, err)
		}
	default:
		return fmt.Errorf("%w: object type %d", errBadPack, typ)
	}
	delta := typ == packOFSDelta || typ == packREFDelta
	if size > limit {
		return &ObjectTooLargeError{Size: size, Limit: limit, Delta: delta}
	}
	// bufio.Reader is an io.ByteReader, so zlib reads no byte past its stream.
	zr, err := z.reset(br)
	if err != nil {
		return fmt.Errorf("%w: %v", errBadPack, err)
	}
	body := io.Reader(zr)
	if delta {
		// A delta starts with the sizes of its base and of its result: a few bytes of delta
		// may copy the same run of the base over and over into a huge object.
		lr := &countingByteReader{r: zr}
		if _, err := readDeltaSize(lr); err != nil {
			return err
		}
		target, err := readDeltaSize(lr)
		if err != nil {
			return err
		}
		if target > limit {
			return &ObjectTooLargeError{Size: target, Limit: limit, Delta: true}
		}
		size -= lr.n
	}
	// Inflate into nothing, one byte past the declared size at most: a stream longer than
	// its header says is refused too.
	n, err := io.Copy(io.Discard, io.LimitReader(body, size+1))
	if err != nil {
		return fmt.Errorf("%w: %v", errBadPack, err)
	}
	if n != size {
		return fmt.Errorf("%w: an object inflates to %d bytes, its header says %d", errBadPack, n, size)
	}
	// Read to the end of the stream so that its checksum is consumed.
	var one [1]byte
	if m, err := zr.Read(one[:]); m != 0 || err != io.EOF {
		return fmt.Errorf("%w: an object's stream does not end where its header says", errBadPack)
	}
	return nil
}

// countingByteReader reads a delta's leading bytes one at a time and counts them.
type countingByteReader struct {
	r io.Reader
	n int64
}

func (c *countingByteReader) ReadByte() (byte, error) {
	var b [1]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil {
		return 0, err
	}
	c.n++
	return b[0], nil
}

// readDeltaSize reads one of a delta's size varints (little-endian, 7 bits a byte).
func readDeltaSize(r io.ByteReader) (int64, error) {
	var v int64
	for shift := uint(0); ; shift += 7 {
		if shift > 56 {
			return 0, fmt.Errorf("%w: delta size too long", errBadPack)
		}
		c, err := r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("%w: %v", errBadPack, err)
		}
		v |= int64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
}
