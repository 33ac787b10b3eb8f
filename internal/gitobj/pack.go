package gitobj

import (
	"bufio"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
)

// Pack is a pack file objects are written into as they are made (a cycle's commits): every
// object goes to a file the moment it exists, a new version of a directory as a delta against the
// version it replaces, so a cycle holds no object in memory however many commits it makes.
// The same bytes are what a push sends, and — with an index written beside them — the pack the
// clone keeps afterwards: nothing is encoded twice.
//
// Deltas are REF_DELTA against an object earlier in the same pack, which every Git server
// accepts and which keeps the pack self-contained (never thin), so the clone can read it.
type Pack struct {
	dir     string // the clone's objects/pack
	f       *os.File
	w       *bufio.Writer
	offset  int64
	entries map[plumbing.Hash]packEntry
	order   []plumbing.Hash
	// depth is how many deltas lie between a delta object and a whole one.
	depth map[plumbing.Hash]int
	zw    *zlib.Writer
	crc   hash.Hash32
}

// packEntry is where an object of the pack starts and the CRC32 of its bytes there, as the
// pack index records them.
type packEntry struct {
	offset int64
	crc    uint32
}

// packHeaderSize is "PACK", the version and the object count.
const packHeaderSize = 12

// NewPack starts a pack in dir, the clone's objects/pack, as a temporary file there.
func NewPack(dir string) (*Pack, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "tmp_pack_cycle_")
	if err != nil {
		return nil, err
	}
	p := &Pack{dir: dir, f: f, entries: map[plumbing.Hash]packEntry{}, depth: map[plumbing.Hash]int{}, crc: crc32.NewIEEE()}
	p.w = bufio.NewWriterSize(f, 64<<10)
	// The count is patched in by Finish, once it is known.
	if _, err := p.w.Write([]byte{'P', 'A', 'C', 'K', 0, 0, 0, 2, 0, 0, 0, 0}); err != nil {
		p.Discard()
		return nil, err
	}
	p.offset = packHeaderSize
	// The fastest level: a directory's entries are mostly object ids, which do not
	// compress, and a large directory is written whole every maxDeltaDepth versions.
	p.zw, _ = zlib.NewWriterLevel(nil, zlib.BestSpeed)
	return p, nil
}

// Has reports whether the pack holds the object.
func (p *Pack) Has(h plumbing.Hash) bool {
	_, ok := p.entries[h]
	return ok
}

// Len is the number of objects written.
func (p *Pack) Len() int { return len(p.order) }

// Put writes an object (Sink): as a delta against prev when prev is in the pack and the
// chain of deltas to a whole object stays within maxDeltaDepth, whole otherwise.
func (p *Pack) Put(t plumbing.ObjectType, h plumbing.Hash, content []byte, prev plumbing.Hash, delta func() []byte) error {
	if p.Has(h) {
		return nil
	}
	if delta != nil && p.Has(prev) && p.depth[prev] < maxDeltaDepth {
		if err := p.addDelta(h, prev, delta()); err != nil {
			return err
		}
		p.depth[h] = p.depth[prev] + 1
		return nil
	}
	return p.Add(t, h, content)
}

// maxDeltaDepth bounds a delta chain, as git's pack.depth does: reading an object at the end
// of a chain applies every delta before it.
const maxDeltaDepth = 50

// Add writes a whole object; an object the pack already holds is not written again.
func (p *Pack) Add(t plumbing.ObjectType, h plumbing.Hash, content []byte) error {
	if p.Has(h) {
		return nil
	}
	return p.write(h, t, nil, content)
}

// addDelta writes an object as a delta against base, an object of the pack.
func (p *Pack) addDelta(h, base plumbing.Hash, delta []byte) error {
	if p.Has(h) {
		return nil
	}
	if !p.Has(base) {
		return fmt.Errorf("pack: delta base %s is not in the pack", base)
	}
	return p.write(h, plumbing.REFDeltaObject, base[:], delta)
}

// write appends one entry: the type-and-size header, the delta base for a delta, and the
// zlib-compressed data.
func (p *Pack) write(h plumbing.Hash, t plumbing.ObjectType, base, data []byte) error {
	p.crc.Reset()
	out := io.MultiWriter(p.w, p.crc)
	var hdr [16]byte
	n := 0
	size := uint64(len(data))
	c := byte(t)<<4 | byte(size&0x0f)
	size >>= 4
	for size > 0 {
		hdr[n] = c | 0x80
		n++
		c = byte(size & 0x7f)
		size >>= 7
	}
	hdr[n] = c
	n++
	counter := &countingWriter{w: out}
	if _, err := counter.Write(hdr[:n]); err != nil {
		return err
	}
	if _, err := counter.Write(base); err != nil {
		return err
	}
	p.zw.Reset(counter)
	if _, err := p.zw.Write(data); err != nil {
		return err
	}
	if err := p.zw.Close(); err != nil {
		return err
	}
	p.entries[h] = packEntry{offset: p.offset, crc: p.crc.Sum32()}
	p.order = append(p.order, h)
	p.offset += counter.n
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// Finish completes the pack: the object count in the header and the SHA-1 trailer. The file
// is then whole and may be sent and installed. It returns the pack's checksum, which names it.
func (p *Pack) Finish() (plumbing.Hash, error) {
	if err := p.w.Flush(); err != nil {
		return plumbing.ZeroHash, err
	}
	// The trailer hashes the header with its final count, so the file is hashed once it is
	// complete. It holds a cycle's objects, mostly deltas of a few bytes: it is small.
	var count [4]byte
	binary.BigEndian.PutUint32(count[:], uint32(len(p.order)))
	if _, err := p.f.WriteAt(count[:], 8); err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return plumbing.ZeroHash, err
	}
	sum := sha1.New()
	if _, err := io.Copy(sum, io.LimitReader(p.f, p.offset)); err != nil {
		return plumbing.ZeroHash, err
	}
	var trailer plumbing.Hash
	copy(trailer[:], sum.Sum(nil))
	if _, err := p.f.WriteAt(trailer[:], p.offset); err != nil {
		return plumbing.ZeroHash, err
	}
	return trailer, nil
}

// Reader reads the finished pack from the start.
func (p *Pack) Reader() (io.Reader, error) {
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return bufio.NewReaderSize(p.f, 64<<10), nil
}

// Install writes the pack's index and moves both into the clone's pack directory, where the
// object storage finds them (after a reindex). A failure leaves the clone as it was.
func (p *Pack) Install(checksum plumbing.Hash) error {
	w := new(idxfile.Writer)
	if err := w.OnHeader(uint32(len(p.order))); err != nil {
		return err
	}
	for _, h := range p.order {
		e := p.entries[h]
		w.Add(h, uint64(e.offset), e.crc)
	}
	if err := w.OnFooter(checksum); err != nil {
		return err
	}
	idx, err := w.Index()
	if err != nil {
		return err
	}
	name := filepath.Join(p.dir, "pack-"+checksum.String())
	tmp, err := os.CreateTemp(p.dir, "tmp_idx_cycle_")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(tmp)
	_, err = idxfile.NewEncoder(bw).Encode(idx)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = p.f.Sync()
	}
	// The pack first, then its index: a pack without an index is ignored, an index without
	// its pack is not.
	if err == nil {
		err = os.Rename(p.f.Name(), name+".pack")
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name+".idx")
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		_ = os.Remove(name + ".pack")
		return err
	}
	_ = p.f.Close()
	p.f = nil
	return nil
}

// Discard removes the pack (unpushed commits, or a pack already installed); it is a no-op
// on a nil or installed pack.
func (p *Pack) Discard() {
	if p == nil || p.f == nil {
		return
	}
	_ = p.f.Close()
	_ = os.Remove(p.f.Name())
	p.f = nil
}
