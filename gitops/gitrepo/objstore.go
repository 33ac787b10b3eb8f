package gitrepo

import (
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// maxDeltaDepth bounds a delta chain, as git's pack.depth does: reading an object at the end
// of a chain applies every delta before it.
const maxDeltaDepth = 50

// objectStore is a workspace's object storage: what was cloned and fetched lives in the
// clone's files, and the objects a cycle writes live in memory until they are pushed. A cycle
// of a thousand commits writes thousands of objects; as loose files each costs a temporary
// file, a compression and a rename, and most are never read again once pushed. Unpushed
// objects are dropped with the cycle (Sync), pushed ones are written as one pack (persist).
//
// Each object the cycle writes in place of another — the new version of a file, of a
// directory — is also kept as a delta against the object it replaces when that one is in
// memory too; the pack encoder reuses those deltas (see Config), so pushing a thousand
// versions of a large directory needs no delta search.
type objectStore struct {
	*filesystem.Storage
	mem    map[plumbing.Hash]plumbing.EncodedObject
	deltas map[plumbing.Hash]*memDelta
	// trees are the entries of the trees the last commit wrote: the next commit, on top of
	// it, starts from them instead of decoding them again (see commitFile).
	trees map[plumbing.Hash][]object.TreeEntry
}

// memDelta is an object of the cycle stored as the changes to another one.
type memDelta struct {
	plumbing.EncodedObject // the delta instructions
	base, target           plumbing.Hash
	size                   int64 // the target's size
	depth                  int   // deltas between the target and a whole object
}

func (d *memDelta) BaseHash() plumbing.Hash   { return d.base }
func (d *memDelta) ActualHash() plumbing.Hash { return d.target }
func (d *memDelta) ActualSize() int64         { return d.size }

var (
	_ storer.EncodedObjectStorer = (*objectStore)(nil)
	_ storer.DeltaObjectStorer   = (*objectStore)(nil)
	_ plumbing.DeltaObject       = (*memDelta)(nil)
)

func newObjectStore(fs *filesystem.Storage) *objectStore {
	s := &objectStore{Storage: fs}
	s.discard()
	return s
}

// Config is the clone's configuration with a pack window of 1: the pack encoder then reuses
// the deltas the store holds and searches for no others. Its default search compares every
// object with ten others and took seconds for a thousand commits.
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

// DeltaObject is EncodedObject, but returns an object of the cycle as its delta when it has
// one, for the pack encoder to reuse.
func (s *objectStore) DeltaObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	o, ok := s.mem[h]
	if !ok {
		return s.Storage.DeltaObject(t, h)
	}
	if t != plumbing.AnyObject && o.Type() != t {
		return nil, plumbing.ErrObjectNotFound
	}
	if d, ok := s.deltas[h]; ok {
		return d, nil
	}
	return o, nil
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

// deltify keeps target, an object of the cycle, also as a delta against base, the object it
// replaces, when base is an object of the cycle too (a delta on an object the remote has
// would be undone by the encoder) and the delta is much smaller than the object.
func (s *objectStore) deltify(target, base plumbing.Hash) error {
	to, ok := s.mem[target]
	if !ok || target == base {
		return nil
	}
	bo, ok := s.mem[base]
	// go-git refuses to apply a delta to an empty object.
	if !ok || bo.Type() != to.Type() || bo.Size() == 0 {
		return nil
	}
	depth := 1
	if d, ok := s.deltas[base]; ok {
		depth = d.depth + 1
	}
	if depth > maxDeltaDepth {
		return nil
	}
	src, err := objectBytes(bo)
	if err != nil {
		return fmt.Errorf("read delta base: %w", err)
	}
	tgt, err := objectBytes(to)
	if err != nil {
		return fmt.Errorf("read delta target: %w", err)
	}
	delta := spliceDelta(src, tgt)
	if len(delta) > len(tgt)/2 {
		return nil
	}
	do := &plumbing.MemoryObject{}
	do.SetType(plumbing.OFSDeltaObject)
	if _, err := do.Write(delta); err != nil {
		return err
	}
	s.deltas[target] = &memDelta{EncodedObject: do, base: base, target: target, size: to.Size(), depth: depth}
	return nil
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

// discard forgets the objects in memory: the cycle's unpushed commits.
func (s *objectStore) discard() {
	s.mem = map[plumbing.Hash]plumbing.EncodedObject{}
	s.deltas = map[plumbing.Hash]*memDelta{}
}

func objectBytes(o plumbing.EncodedObject) ([]byte, error) {
	r, err := o.Reader()
	if err != nil {
		return nil, err
	}
	b := make([]byte, o.Size())
	_, err = io.ReadFull(r, b)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	return b, err
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
