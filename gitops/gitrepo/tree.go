package gitrepo

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// commitFile writes a commit on parent whose tree is parent's with one file's blob replaced
// (or added), built from the object store alone: a few object writes per commit however large
// the repository, where go-git's Worktree.Add and Commit read, rewrite and re-hash the whole
// index and tree (a 1,000-policy cycle spent most of its time there). Only the trees along the
// file's path change, so the commit changes exactly that file. The index is left as it was;
// nothing reads it before the next sync or reset rewrites it.
//
// With a signer, the commit is signed as git signs it: the signature of the commit object
// without its gpgsig header goes into that header.
func (s *objectStore) commitFile(parent plumbing.Hash, rel string, content []byte, sig object.Signature, msg string, signer Signer) (plumbing.Hash, error) {
	pc, err := object.GetCommit(s, parent)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read head commit: %w", err)
	}
	blob, err := s.writeBlob(content)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write blob: %w", err)
	}
	written := map[plumbing.Hash][]object.TreeEntry{}
	root, err := s.treeWithFile(pc.TreeHash, strings.Split(rel, "/"), blob, written)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	s.trees = written
	if root == pc.TreeHash {
		return plumbing.ZeroHash, ErrNothingToCommit
	}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg, TreeHash: root, ParentHashes: []plumbing.Hash{parent}}
	if signer != nil {
		unsigned := &plumbing.MemoryObject{}
		if err := c.EncodeWithoutSignature(unsigned); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("encode commit: %w", err)
		}
		payload, err := objectBytes(unsigned)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("encode commit: %w", err)
		}
		signature, err := signer.Sign(payload)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("sign commit: %w", err)
		}
		c.PGPSignature = string(signature)
	}
	obj := s.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode commit: %w", err)
	}
	h, err := s.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write commit: %w", err)
	}
	return h, nil
}

// treeWithFile writes the tree that is tree (zero: a new, empty directory) with the file at
// parts pointing at blob, and the trees along the way, and returns the new tree's hash. An
// existing file keeps its mode; a symlink or a directory in the file's place is refused.
// The entries of the trees it writes go into written.
func (s *objectStore) treeWithFile(tree plumbing.Hash, parts []string, blob plumbing.Hash, written map[plumbing.Hash][]object.TreeEntry) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	if cached, ok := s.trees[tree]; ok {
		entries = slices.Clone(cached)
	} else if !tree.IsZero() {
		t, err := object.GetTree(s, tree)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("read tree: %w", err)
		}
		entries = slices.Clone(t.Entries)
	}
	i := slices.IndexFunc(entries, func(e object.TreeEntry) bool { return e.Name == parts[0] })
	e := object.TreeEntry{Name: parts[0], Mode: filemode.Regular, Hash: blob}
	if len(parts) == 1 {
		if i >= 0 {
			if m := entries[i].Mode; m != filemode.Regular && m != filemode.Executable && m != filemode.Deprecated {
				return plumbing.ZeroHash, fmt.Errorf("%s is not a regular file in the commit", parts[0])
			}
			e.Mode = entries[i].Mode
			if err := s.deltify(blob, entries[i].Hash); err != nil {
				return plumbing.ZeroHash, err
			}
		}
	} else {
		var sub plumbing.Hash
		if i >= 0 {
			if entries[i].Mode != filemode.Dir {
				return plumbing.ZeroHash, fmt.Errorf("%s is not a directory in the commit", parts[0])
			}
			sub = entries[i].Hash
		}
		h, err := s.treeWithFile(sub, parts[1:], blob, written)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		e = object.TreeEntry{Name: parts[0], Mode: filemode.Dir, Hash: h}
	}
	if i >= 0 {
		if entries[i] == e {
			return tree, nil
		}
		entries[i] = e
	} else {
		entries = append(entries, e)
		// Git orders a tree's entries by name, a directory's name as if it ended in '/'.
		key := func(e object.TreeEntry) string {
			if e.Mode == filemode.Dir {
				return e.Name + "/"
			}
			return e.Name
		}
		slices.SortFunc(entries, func(a, b object.TreeEntry) int { return strings.Compare(key(a), key(b)) })
	}
	raw, err := encodeTree(entries)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encode tree: %w", err)
	}
	h, err := s.writeObject(plumbing.TreeObject, raw)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write tree: %w", err)
	}
	if err := s.deltify(h, tree); err != nil {
		return plumbing.ZeroHash, err
	}
	written[h] = entries
	return h, nil
}

// encodeTree is a tree object's content, as object.Tree's Encode writes it, in one buffer:
// entries in the order given, each "<octal mode> <name>\x00<hash>".
func encodeTree(entries []object.TreeEntry) ([]byte, error) {
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

// writeBlob stores content as a blob object.
func (s *objectStore) writeBlob(content []byte) (plumbing.Hash, error) {
	return s.writeObject(plumbing.BlobObject, content)
}

// writeObject stores an object of a type with this content.
func (s *objectStore) writeObject(t plumbing.ObjectType, content []byte) (plumbing.Hash, error) {
	obj := s.NewEncodedObject()
	obj.SetType(t)
	obj.SetSize(int64(len(content)))
	wr, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := wr.Write(content); err != nil {
		_ = wr.Close()
		return plumbing.ZeroHash, err
	}
	if err := wr.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}
