package gitrepo

import (
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitobj"
)

// maxPacks bounds the pack files of a kept clone. Every fetch that brings commits writes one,
// and so does every push (the cycle's pack is kept), while every object read searches their
// indexes and reopens a pack that is not among the few kept open. A service fetching a busy
// repository every second had hundreds within minutes, and every sync and history read grew
// slower with each — until, with a person pushing every 100 ms, a decision lost every push
// race (integration.TestServeE2EHumanPushesDuringABurst). Past maxPacks, Sync merges them.
const maxPacks = 16

// compactPacks merges the clone's packs but the largest — the clone's own — into one, once
// there are more than maxPacks: every object of theirs is read whole and written to a new pack
// (they are the small objects of a few fetches and pushes; no delta is searched), which is
// installed before the old ones are removed, indexes first. The clone is then opened afresh,
// so that no index or open file of a removed pack is kept. A failure leaves a readable clone:
// before the new pack is installed, as it was; after, with some objects in two packs.
func (w *Workspace) compactPacks() error {
	dir := filepath.Join(w.root, git.GitDirName, "objects", "pack")
	idxs, err := filepath.Glob(filepath.Join(dir, "pack-*.idx"))
	if err != nil || len(idxs) <= maxPacks {
		return err
	}
	type pack struct {
		base string // the path without .idx or .pack
		size int64
	}
	packs := make([]pack, 0, len(idxs))
	for _, idx := range idxs {
		base := strings.TrimSuffix(idx, ".idx")
		if fi, err := os.Stat(base + ".pack"); err == nil {
			packs = append(packs, pack{base, fi.Size()})
		}
	}
	if len(packs) <= maxPacks {
		return nil
	}
	sort.Slice(packs, func(i, j int) bool { return packs[i].size > packs[j].size })
	small := packs[1:]

	out, err := gitobj.NewPack(dir)
	if err != nil {
		return err
	}
	defer out.Discard() // a no-op once installed
	for _, p := range small {
		hashes, err := packObjects(p.base + ".idx")
		if err != nil {
			return err
		}
		for _, h := range hashes {
			if out.Has(h) {
				continue
			}
			o, err := w.store.Storage.EncodedObject(plumbing.AnyObject, h)
			if err != nil {
				return local(err)
			}
			content, err := gitobj.ReadAll(o)
			if err != nil {
				return local(err)
			}
			if err := out.Add(o.Type(), h, content); err != nil {
				return err
			}
		}
	}
	sum, err := out.Finish()
	if err != nil {
		return err
	}
	if err := out.Install(sum); err != nil {
		return err
	}
	// Closed while its packs are removed, then opened again whatever happened.
	err = w.store.Close()
	for _, p := range small {
		if err != nil {
			break
		}
		if p.base == filepath.Join(dir, "pack-"+sum.String()) {
			continue // the merged pack itself, had one held exactly its objects
		}
		if rerr := os.Remove(p.base + ".idx"); rerr != nil && !os.IsNotExist(rerr) {
			err = rerr
		} else if rerr := os.Remove(p.base + ".pack"); rerr != nil && !os.IsNotExist(rerr) {
			err = rerr
		}
	}
	repo, st, oerr := openRepository(w.root, w.maxFile, w.maxObject)
	if oerr != nil {
		return oerr
	}
	w.attach(repo, st)
	return err
}

// packObjects lists the objects a pack index names.
func packObjects(idxPath string) ([]plumbing.Hash, error) {
	f, err := os.Open(idxPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(f).Decode(idx); err != nil {
		return nil, local(err)
	}
	entries, err := idx.Entries()
	if err != nil {
		return nil, err
	}
	defer entries.Close()
	var out []plumbing.Hash
	for {
		e, err := entries.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, e.Hash)
	}
}
