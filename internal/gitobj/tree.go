package gitobj

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Sink is where the objects of new commits go: a Pack for a cycle's commits on the base
// branch, a Store's memory for a pull request's commit.
type Sink interface {
	// Put stores an object. prev is the object it replaces — the previous version of the
	// same directory — or zero; delta computes the change from prev to it, for a sink that
	// stores deltas.
	Put(t plumbing.ObjectType, h plumbing.Hash, content []byte, prev plumbing.Hash, delta func() []byte) error
}

// ErrNoChange is returned by TreeBuilder.CommitFile when the file already has the content:
// such a commit would be empty.
var ErrNoChange = errors.New("nothing to commit: the file already has this content")

// Signer signs a commit: given the commit object's bytes without its signature header, it
// returns the armored signature git keeps in the gpgsig header.
type Signer interface {
	Sign(payload []byte) ([]byte, error)
}

// TreeBuilder makes commits that change one file, re-encoding only the directories along the
// file's path. It keeps the encoded trees it reads and writes, by hash, with an index of their
// entries: a commit on top of the last one finds every directory it needs already there, and
// changing a file is overwriting 20 bytes of each directory above it, however many entries
// they hold. A directory of ten thousand values files then costs one copy of its encoding per
// commit, not a decode, a sort and an encode.
type TreeBuilder struct {
	// read returns a tree object's content from the clone.
	read  func(plumbing.Hash) ([]byte, error)
	trees map[plumbing.Hash]*treeBuf
}

// treeBuf is one encoded tree and where each of its entries starts.
type treeBuf struct {
	raw   []byte
	names map[string]int
	// own marks a tree a commit of this builder wrote: the next commit may change it in
	// place, since nothing else refers to it. Trees read from the clone are never changed.
	own bool
}

// NewTreeBuilder is a builder that reads the trees it does not hold through read (a tree
// object's content by hash, bounded by the caller).
func NewTreeBuilder(read func(plumbing.Hash) ([]byte, error)) *TreeBuilder {
	return &TreeBuilder{read: read, trees: map[plumbing.Hash]*treeBuf{}}
}

// Reset forgets the trees (a new base: the ones read may no longer be the ones needed).
func (b *TreeBuilder) Reset() { clear(b.trees) }

// DropOwn forgets the trees its commits wrote, keeping those read from the clone: a pull
// request's commit is made on the base, never on the one before.
func (b *TreeBuilder) DropOwn() {
	for h, t := range b.trees {
		if t.own {
			delete(b.trees, h)
		}
	}
}

// tree returns the encoded tree h (zero: an empty directory).
func (b *TreeBuilder) tree(h plumbing.Hash) (*treeBuf, error) {
	if h.IsZero() {
		return &treeBuf{names: map[string]int{}}, nil
	}
	if t, ok := b.trees[h]; ok {
		return t, nil
	}
	raw, err := b.read(h)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	names, err := indexTree(raw)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	t := &treeBuf{raw: raw, names: names}
	b.trees[h] = t
	return t, nil
}

// indexTree maps each entry's name to the offset where the entry starts.
func indexTree(raw []byte) (map[string]int, error) {
	names := map[string]int{}
	for off := 0; off < len(raw); {
		sp := bytes.IndexByte(raw[off:], ' ')
		nul := bytes.IndexByte(raw[off:], 0)
		if sp < 0 || nul < sp || off+nul+1+20 > len(raw) {
			return nil, fmt.Errorf("malformed tree at offset %d", off)
		}
		names[string(raw[off+sp+1:off+nul])] = off
		off += nul + 1 + 20
	}
	return names, nil
}

// Entry finds name in the tree h: its mode and the object it names; ok is false when the
// tree has no such entry.
func (b *TreeBuilder) Entry(h plumbing.Hash, name string) (mode filemode.FileMode, obj plumbing.Hash, ok bool, err error) {
	t, err := b.tree(h)
	if err != nil {
		return 0, plumbing.ZeroHash, false, err
	}
	off, ok := t.names[name]
	if !ok {
		return 0, plumbing.ZeroHash, false, nil
	}
	mode, hashAt, err := t.entry(off)
	if err != nil {
		return 0, plumbing.ZeroHash, false, fmt.Errorf("read tree %s: %w", h, err)
	}
	copy(obj[:], t.raw[hashAt:hashAt+20])
	return mode, obj, true, nil
}

// entry reads the entry that starts at off: its mode and where its hash lies.
func (t *treeBuf) entry(off int) (mode filemode.FileMode, hashAt int, err error) {
	sp := bytes.IndexByte(t.raw[off:], ' ')
	nul := bytes.IndexByte(t.raw[off:], 0)
	m, err := strconv.ParseUint(string(t.raw[off:off+sp]), 8, 32)
	if err != nil {
		return 0, 0, err
	}
	return filemode.FileMode(m), off + nul + 1, nil
}

// withFile writes the tree that is tree h with the file at parts pointing at blob, and the
// trees along the way, into sink, and returns the new tree's hash (h itself when nothing
// changes). An existing file keeps its mode; a symlink or a directory in the file's place,
// or a file in a directory's, is refused.
func (b *TreeBuilder) withFile(h plumbing.Hash, parts []string, blob plumbing.Hash, sink Sink) (plumbing.Hash, error) {
	t, err := b.tree(h)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	name := parts[0]
	off, exists := t.names[name]
	var mode filemode.FileMode
	var hashAt int
	if exists {
		if mode, hashAt, err = t.entry(off); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("read tree %s: %w", h, err)
		}
	}
	target := blob
	if len(parts) == 1 {
		switch {
		case !exists:
			mode = filemode.Regular
		case mode != filemode.Regular && mode != filemode.Executable && mode != filemode.Deprecated:
			return plumbing.ZeroHash, fmt.Errorf("%s is not a regular file in the commit", name)
		}
	} else {
		var sub plumbing.Hash
		if exists {
			if mode != filemode.Dir {
				return plumbing.ZeroHash, fmt.Errorf("%s is not a directory in the commit", name)
			}
			copy(sub[:], t.raw[hashAt:hashAt+20])
		}
		if target, err = b.withFile(sub, parts[1:], blob, sink); err != nil {
			return plumbing.ZeroHash, err
		}
		mode = filemode.Dir
	}
	var next *treeBuf
	var delta func() []byte
	if exists {
		if bytes.Equal(t.raw[hashAt:hashAt+20], target[:]) {
			return h, nil
		}
		next = t
		if !t.own {
			next = &treeBuf{raw: slices.Clone(t.raw), names: t.names, own: true}
		}
		copy(next.raw[hashAt:], target[:])
		size := len(next.raw)
		delta = func() []byte { return ReplaceDelta(size, hashAt, target[:]) }
	} else {
		entries, err := DecodeTree(t.raw)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("read tree %s: %w", h, err)
		}
		entries = append(entries, object.TreeEntry{Name: name, Mode: mode, Hash: target})
		SortTree(entries)
		raw, err := EncodeTree(entries)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("encode tree: %w", err)
		}
		names, err := indexTree(raw)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		old := t.raw
		next = &treeBuf{raw: raw, names: names, own: true}
		delta = func() []byte { return SpliceDelta(old, raw) }
	}
	nh := Hash(plumbing.TreeObject, next.raw)
	if err := sink.Put(plumbing.TreeObject, nh, next.raw, h, delta); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write tree: %w", err)
	}
	if next == t {
		delete(b.trees, h) // changed in place: h is gone
	}
	b.trees[nh] = next
	return nh, nil
}

// SortTree orders entries as Git does: by name, a directory's name as if it ended in '/'.
func SortTree(entries []object.TreeEntry) {
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	slices.SortFunc(entries, func(a, b object.TreeEntry) int { return strings.Compare(key(a), key(b)) })
}

// DecodeTree reads a tree object's entries.
func DecodeTree(raw []byte) ([]object.TreeEntry, error) {
	var out []object.TreeEntry
	for off := 0; off < len(raw); {
		sp := bytes.IndexByte(raw[off:], ' ')
		nul := bytes.IndexByte(raw[off:], 0)
		if sp < 0 || nul < sp || off+nul+1+20 > len(raw) {
			return nil, fmt.Errorf("malformed tree at offset %d", off)
		}
		m, err := strconv.ParseUint(string(raw[off:off+sp]), 8, 32)
		if err != nil {
			return nil, fmt.Errorf("malformed tree at offset %d: %w", off, err)
		}
		e := object.TreeEntry{Name: string(raw[off+sp+1 : off+nul]), Mode: filemode.FileMode(m)}
		copy(e.Hash[:], raw[off+nul+1:off+nul+21])
		out = append(out, e)
		off += nul + 1 + 20
	}
	return out, nil
}

// EncodeTree is a tree object's content, as object.Tree's Encode writes it, in one buffer:
// entries in the order given, each "<octal mode> <name>\x00<hash>".
func EncodeTree(entries []object.TreeEntry) ([]byte, error) {
	n := 0
	for _, e := range entries {
		n += len(e.Name) + len(e.Hash) + 8
	}
	raw := make([]byte, 0, n)
	for _, e := range entries {
		if strings.IndexByte(e.Name, 0) >= 0 {
			return nil, fmt.Errorf("malformed filename %q", e.Name)
		}
		raw = strconv.AppendUint(raw, uint64(e.Mode), 8)
		raw = append(raw, ' ')
		raw = append(raw, e.Name...)
		raw = append(raw, 0)
		raw = append(raw, e.Hash[:]...)
	}
	return raw, nil
}

// Hash is the object id of content of type t: SHA-1 of "<type> <size>\x00" and the
// content. It is plain SHA-1: these are objects this process encodes itself.
func Hash(t plumbing.ObjectType, content []byte) plumbing.Hash {
	h := sha1.New()
	h.Write(t.Bytes())
	h.Write([]byte{' '})
	h.Write(strconv.AppendInt(nil, int64(len(content)), 10))
	h.Write([]byte{0})
	h.Write(content)
	var out plumbing.Hash
	copy(out[:], h.Sum(nil))
	return out
}

// commitObject encodes a commit and returns its content and hash.
func commitObject(c *object.Commit) ([]byte, plumbing.Hash, error) {
	obj := &plumbing.MemoryObject{}
	if err := c.Encode(obj); err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("encode commit: %w", err)
	}
	raw, err := ReadAll(obj)
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	return raw, obj.Hash(), nil
}

// ReadAll is an object's content.
func ReadAll(o plumbing.EncodedObject) ([]byte, error) {
	r, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// CommitFile writes, into sink, a commit on parent (whose tree is root) with one file's blob
// replaced or added: the blob, the trees along the file's path, the commit. Only those trees
// change, so the commit changes exactly that file.
//
// With a signer, the commit is signed as git signs it: the signature of the commit object
// without its gpgsig header goes into that header.
func (b *TreeBuilder) CommitFile(parent, root plumbing.Hash, rel string, content []byte, sig object.Signature, msg string, signer Signer, sink Sink) (commit, tree plumbing.Hash, err error) {
	blob := Hash(plumbing.BlobObject, content)
	if err := sink.Put(plumbing.BlobObject, blob, content, plumbing.ZeroHash, nil); err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("write blob: %w", err)
	}
	tree, err = b.withFile(root, strings.Split(rel, "/"), blob, sink)
	if err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	if tree == root {
		return plumbing.ZeroHash, plumbing.ZeroHash, ErrNoChange
	}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: tree, ParentHashes: []plumbing.Hash{parent}}
	if signer != nil {
		unsigned := &plumbing.MemoryObject{}
		if err := c.EncodeWithoutSignature(unsigned); err != nil {
			return plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("encode commit: %w", err)
		}
		payload, err := ReadAll(unsigned)
		if err != nil {
			return plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("encode commit: %w", err)
		}
		signature, err := signer.Sign(payload)
		if err != nil {
			return plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("sign commit: %w", err)
		}
		c.PGPSignature = string(signature)
	}
	raw, h, err := commitObject(c)
	if err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	if err := sink.Put(plumbing.CommitObject, h, raw, plumbing.ZeroHash, nil); err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, fmt.Errorf("write commit: %w", err)
	}
	return h, tree, nil
}
