package gitobj

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

// Store is a clone's object storage for go-git: what was cloned and fetched lives in the
// clone's files, and the objects Put or SetEncodedObject add live in memory until Persist
// writes them into the clone as one pack, or Discard drops them. It is for a handful of
// objects (a pull request's commit); a cycle's commits, which may be thousands, stream into
// a Pack instead.
type Store struct {
	*filesystem.Storage
	mem map[plumbing.Hash]plumbing.EncodedObject
}

var (
	_ storer.EncodedObjectStorer = (*Store)(nil)
	_ storer.DeltaObjectStorer   = (*Store)(nil)
	_ Sink                       = (*Store)(nil)
)

// NewStore overlays memory on a clone's storage.
func NewStore(fs *filesystem.Storage) *Store {
	s := &Store{Storage: fs}
	s.Discard()
	return s
}

// Config is the clone's configuration with a pack window of 1: the pack encoder then
// searches for no deltas. Its default search compares every object with ten others.
func (s *Store) Config() (*config.Config, error) {
	cfg, err := s.Storage.Config()
	if err != nil {
		return nil, err
	}
	cfg.Pack.Window = 1
	return cfg, nil
}

// NewEncodedObject returns an empty object to fill and store.
func (s *Store) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }

// SetEncodedObject keeps an object in memory.
func (s *Store) SetEncodedObject(o plumbing.EncodedObject) (plumbing.Hash, error) {
	if t := o.Type(); t == plumbing.OFSDeltaObject || t == plumbing.REFDeltaObject || t == plumbing.InvalidObject {
		return plumbing.ZeroHash, plumbing.ErrInvalidType
	}
	h := o.Hash()
	if _, ok := s.mem[h]; !ok {
		s.mem[h] = o
	}
	return h, nil
}

// Put keeps a copy of an object in memory (Sink); deltas are not kept.
func (s *Store) Put(t plumbing.ObjectType, h plumbing.Hash, content []byte, _ plumbing.Hash, _ func() []byte) error {
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
func (s *Store) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
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
func (s *Store) DeltaObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if _, ok := s.mem[h]; ok {
		return s.EncodedObject(t, h)
	}
	return s.Storage.DeltaObject(t, h)
}

// HasEncodedObject reports plumbing.ErrObjectNotFound for an object neither in memory nor in
// the clone.
func (s *Store) HasEncodedObject(h plumbing.Hash) error {
	if _, ok := s.mem[h]; ok {
		return nil
	}
	return s.Storage.HasEncodedObject(h)
}

// EncodedObjectSize is an object's size, uncompressed.
func (s *Store) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	if o, ok := s.mem[h]; ok {
		return o.Size(), nil
	}
	return s.Storage.EncodedObjectSize(h)
}

// IterEncodedObjects iterates over the objects in memory, then the clone's.
func (s *Store) IterEncodedObjects(t plumbing.ObjectType) (storer.EncodedObjectIter, error) {
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

// Persist writes the objects in memory into the clone as one pack and forgets them; reads
// then find them there. A failed write leaves them in memory.
func (s *Store) Persist() (err error) {
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
	s.Discard()
	return nil
}

// Discard forgets the objects in memory.
func (s *Store) Discard() {
	s.mem = map[plumbing.Hash]plumbing.EncodedObject{}
}

// InMemory is the number of objects held in memory, not yet persisted.
func (s *Store) InMemory() int { return len(s.mem) }

// TooLargeError is an object refused for its size before any of it is read.
type TooLargeError struct{ Size, Max int64 }

func (e TooLargeError) Error() string {
	return fmt.Sprintf("the object is %d bytes, more than the %d it may hold", e.Size, e.Max)
}

// ReadObject reads an object's whole content, refusing (unread) one larger than max bytes.
func (s *Store) ReadObject(t plumbing.ObjectType, h plumbing.Hash, max int64) ([]byte, error) {
	r, size, err := s.OpenObject(t, h, max)
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

// OpenObject opens an object's content, with its size, refusing one larger than max bytes
// (TooLargeError) before any of its content is read: go-git reads a packed object's content
// only when it is opened, and a loose one's above the storage's LargeObjectThreshold (the
// caller sets it to its file limit) likewise.
func (s *Store) OpenObject(t plumbing.ObjectType, h plumbing.Hash, max int64) (io.ReadCloser, int64, error) {
	o, err := s.EncodedObject(t, h)
	if err != nil {
		return nil, 0, err
	}
	if o.Size() > max {
		return nil, o.Size(), TooLargeError{Size: o.Size(), Max: max}
	}
	r, err := o.Reader()
	if err != nil {
		return nil, 0, err
	}
	return r, o.Size(), nil
}
