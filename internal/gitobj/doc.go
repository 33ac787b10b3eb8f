// Package gitobj writes Git objects fast: the one-file commits of the loop, their trees and
// the packs that carry them, without go-git's general encoders (docs/design.md §3).
// It knows Git's object, tree, delta and pack formats, and nothing of a repository's remote,
// worktree or history, nor of what a commit means.
//
// The interface is small:
//
//   - Sink, one method (Put), is where new objects go: a Pack, or a Store's memory;
//   - TreeBuilder.CommitFile makes a commit on a parent that replaces or adds one file,
//     re-encoding only the directories along its path — changing 20 bytes of each, and
//     handing the sink a delta against the directory's previous version (ReplaceDelta,
//     SpliceDelta);
//   - Pack streams objects into a pack file as they are made, each new version of a directory
//     a REF_DELTA against the one before (chains bounded at 50, git's pack.depth); Finish
//     gives the bytes a push sends, Install writes the index and moves both into a clone;
//   - Store overlays memory on a clone's go-git storage: a handful of objects (a pull
//     request's commit) kept until Persist writes them as one pack, and ReadObject and
//     OpenObject, which refuse an object over a size before reading any of it;
//   - Hash, EncodeTree, DecodeTree and SortTree are Git's own rules for object ids and trees.
//
// Its tests check what it writes against the git binary (git fsck, git cat-file, git
// verify-pack, git hash-object, git mktree). gitops/gitrepo is its one user.
//
// Must not import: cmd/..., gitops/..., policy/..., promclient/..., render/..., integration/...,
// internal/edit, internal/secret, internal/web, internal/testserver/..., net/http, os/exec.
package gitobj
