package gitrepo

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// objectStore is a workspace's object storage: what was cloned and fetched lives in the
// clone's files, and the objects of a pull request's commit (CommitOnBase) live in memory
// until its branch is pushed, then land in the clone as one pack (persist), or are dropped
// with the cycle (discard). A pull request's commit is a handful of objects; the cycle's
// commits on the base branch, which may be thousands, never come here: they stream into a
// pack of their own (packStream).
type objectStore struct {
	*filesystem.Storage
	mem map[plumbing.Hash]plumbing.EncodedObject
}

var (
	_ storer.EncodedObjectStorer = (*objectStore)(nil)
	_ storer.DeltaObjectStorer   = (*objectStore)(nil)
	_ objectSink                 = (*objectStore)(nil)
)

func newObjectStore(fs *filesystem.Storage) *objectStore {
	s := &objectStore{Storage: fs}
	s.discard()
	return s
}

// Config is the clone's configuration with a pack window of 1: the pack encoder then
// searches for no deltas. Its default search compares every object with ten others.
func (s *objectStore) Config() (*config.Config, error) {
	cfg, err := s.Storage.Config()
	if err != nil {
		return nil, err
	}
	cfg.Pack.Window = 1
	return cfg, nil
}

// NewEncodedObject returns an empty object to fill and store.
func (s *objectStore) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }

// SetEncodedObject keeps an object in memory.
func (s *objectStore) SetEncodedObject(o plumbing.EncodedObject) (plumbing.Hash, error) {
	if t := o.Type(); t == plumbing.OFSDeltaObject || t == plumbing.REFDeltaObject || t == plumbing.InvalidObject {
		return plumbing.ZeroHash, plumbing.ErrInvalidType
	}
	h := o.Hash()
	if _, ok := s.mem[h]; !ok {
		s.mem[h] = o
	}
	return h, nil
}

// put keeps a copy of an object in memory (objectSink); deltas are not kept.
func (s *objectStore) put(t plumbing.ObjectType, h plumbing.Hash, content []byte, _ plumbing.Hash, _ func() []byte) error {
	if _, ok := s.mem[h]; ok {
		return nil
	}
	o := &plumbing.MemoryObject{}
	o.SetType(t)
	if _, err := o.Write(content); err != nil {
		return err
	}
	if o.Hash() != h {
		return fmt.Errorf("object %s: content hashes to %s", h, o.Hash())
	}
	s.mem[h] = o
	return nil
}

// EncodedObject reads an object from memory or the clone.
func (s *objectStore) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if o, ok := s.mem[h]; ok {
		if t != plumbing.AnyObject && o.Type() != t {
			return nil, plumbing.ErrObjectNotFound
		}
		return o, nil
	}
	return s.Storage.EncodedObject(t, h)
}

// DeltaObject is EncodedObject for the pack encoder, which asks for an object as a delta
// when the clone stores it so: the objects in memory are whole.
func (s *objectStore) DeltaObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if _, ok := s.mem[h]; ok {
		return s.EncodedObject(t, h)
	}
	return s.Storage.DeltaObject(t, h)
}

// HasEncodedObject reports plumbing.ErrObjectNotFound for an object neither in memory nor in
// the clone.
func (s *objectStore) HasEncodedObject(h plumbing.Hash) error {
	if _, ok := s.mem[h]; ok {
		return nil
	}
	return s.Storage.HasEncodedObject(h)
}

// EncodedObjectSize is an object's size, uncompressed.
func (s *objectStore) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	if o, ok := s.mem[h]; ok {
		return o.Size(), nil
	}
	return s.Storage.EncodedObjectSize(h)
}

// IterEncodedObjects iterates over the objects in memory, then the clone's.
func (s *objectStore) IterEncodedObjects(t plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	onDisk, err := s.Storage.IterEncodedObjects(t)
	if err != nil {
		return nil, err
	}
	var inMem []plumbing.EncodedObject
	for _, o := range s.mem {
		if t == plumbing.AnyObject || o.Type() == t {
			inMem = append(inMem, o)
		}
	}
	return storer.NewMultiEncodedObjectIter([]storer.EncodedObjectIter{storer.NewEncodedObjectSliceIter(inMem), onDisk}), nil
}

// persist writes the objects in memory into the clone as one pack and forgets them; reads
// then find them there. A failed write leaves them in memory.
func (s *objectStore) persist() (err error) {
	if len(s.mem) == 0 {
		return nil
	}
	hashes := slices.Collect(maps.Keys(s.mem))
	pw, err := s.Storage.PackfileWriter()
	if err != nil {
		return fmt.Errorf("write pack: %w", err)
	}
	if _, err := packfile.NewEncoder(pw, s, false).Encode(hashes, 1); err != nil {
		_ = pw.Close()
		return fmt.Errorf("write pack: %w", err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("write pack: %w", err)
	}
	s.discard()
	return nil
}

// discard forgets the objects in memory.
func (s *objectStore) discard() {
	s.mem = map[plumbing.Hash]plumbing.EncodedObject{}
}

// Bounds of what the checkout reads of objects other than files (files have
// limits.git.maxFileBytes): a tree (a directory of 100,000 entries is about 4 MiB) and a
// symlink's target (Linux's PATH_MAX).
const (
	maxTreeBytes    = 64 << 20
	maxSymlinkBytes = 4096
)

// errObjectTooLarge is an object refused for its size before any of it is read.
type errObjectTooLarge struct{ size, max int64 }

func (e errObjectTooLarge) Error() string {
	return fmt.Sprintf("the object is %d bytes, more than the %d it may hold", e.size, e.max)
}

// readObject reads an object's whole content, refusing (unread) one larger than max bytes.
func (s *objectStore) readObject(t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, error) {
	r, size, err := s.openObject(t, h, max)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b := make([]byte, size)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// openObject opens an object's content, with its size, refusing one larger than max bytes
// (errObjectTooLarge) before any of its content is read: go-git reads a packed object's
// content only when it is opened, and a loose one's above the store's LargeObjectThreshold
// (set to the file limit, see openRepository) likewise.
func (s *objectStore) openObject(t plumbing.ObjectType, h plumbing.Hash, max int64) (io.ReadCloser, int64, error) {
	o, err := s.EncodedObject(t, h)
	if err != nil {
		return nil, 0, err
	}
	if o.Size() > max {
		return nil, o.Size(), errObjectTooLarge{size: o.Size(), max: max}
	}
	r, err := o.Reader()
	if err != nil {
		return nil, 0, err
	}
	return r, o.Size(), nil
}

// Git's delta format: a copy instruction takes up to 4 offset and 3 size bytes, an insert
// instruction carries up to 127 literal bytes.
const (
	maxDeltaCopy   = 0xffff
	maxDeltaInsert = 0x7f
)

// spliceDelta is a Git delta that makes tgt from src by keeping their common prefix and
// suffix and inserting what lies between. One decision changes one value of a file and one
// entry of each directory above it, so that is the whole change, found without the hash
// index a general delta search builds.
func spliceDelta(src, tgt []byte) []byte {
	pre := 0
	for pre < len(src) && pre < len(tgt) && src[pre] == tgt[pre] {
		pre++
	}
	suf := 0
	for suf < len(src)-pre && suf < len(tgt)-pre && src[len(src)-1-suf] == tgt[len(tgt)-1-suf] {
		suf++
	}
	out := appendDeltaSize(nil, len(src))
	out = appendDeltaSize(out, len(tgt))
	out = appendDeltaCopy(out, 0, pre)
	for mid := tgt[pre : len(tgt)-suf]; len(mid) > 0; {
		n := min(len(mid), maxDeltaInsert)
		out = append(out, byte(n))
		out = append(out, mid[:n]...)
		mid = mid[n:]
	}
	return appendDeltaCopy(out, len(src)-suf, suf)
}

// replaceDelta is the Git delta that overwrites len(with) bytes at off of an object of size
// bytes, keeping its size: a directory one of whose entries now names another object.
func replaceDelta(size, off int, with []byte) []byte {
	out := appendDeltaSize(nil, size)
	out = appendDeltaSize(out, size)
	out = appendDeltaCopy(out, 0, off)
	out = append(out, byte(len(with)))
	out = append(out, with...)
	return appendDeltaCopy(out, off+len(with), size-off-len(with))
}

func appendDeltaSize(out []byte, n int) []byte {
	for n >= 0x80 {
		out = append(out, byte(n)|0x80)
		n >>= 7
	}
	return append(out, byte(n))
}

func appendDeltaCopy(out []byte, off, n int) []byte {
	for n > 0 {
		size := min(n, maxDeltaCopy)
		cmd := byte(0x80)
		var args []byte
		for i := range 4 {
			if b := byte(off >> (8 * i)); b != 0 {
				cmd |= 1 << i
				args = append(args, b)
			}
		}
		for i := range 3 {
			if b := byte(size >> (8 * i)); b != 0 {
				cmd |= 0x10 << i
				args = append(args, b)
			}
		}
		out = append(append(out, cmd), args...)
		off += size
		n -= size
	}
	return out
}
