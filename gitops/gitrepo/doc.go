// Package gitrepo is the Git repository the loop works on, and the only package that speaks
// Git (go-git) to a repository; the objects of its commits and the packs that carry them are
// written by internal/gitobj.
//
// A Workspace is one repository's clone, kept in a cache directory across cycles: cloned once,
// then fetched and hard-reset to the remote base branch at every Sync. It offers the loop what
// it does to a repository, and nothing of go-git:
//
//   - read the worktree: Root, Files, ReadFile (paths joined under the root by policy/repopath),
//     FileID (a file's blob, for callers that keep what they parsed of it). The worktree is
//     checked out by the workspace itself (checkout.go): a sync writes only the files that
//     differ, and a marker in .git tells a complete checkout from one a killed process left.
//     Git content is untrusted (docs/design.md §6): every tree entry is checked as Git's fsck
//     checks it (entry.go) before anything is written, every write and removal goes through
//     an os.Root on the clone, each repository has a clone directory of its own, and a file
//     over limits.git.maxFileBytes is left out unread (ReadFile refuses it by name);
//   - commit one file: Commit on the local base branch, CommitOnBase for a pull request's
//     branch. A commit re-encodes only the directories along its file's path, changing 20
//     bytes of each (internal/gitobj's TreeBuilder). The cycle's commits stream into a pack
//     file as they are made, each new version of a directory a delta against the one before
//     (internal/gitobj's Pack): nothing of them is held in memory, and that pack is what
//     Push sends and the clone keeps;
//   - push: Push sends the cycle's commits in one push that never forces (a moved branch is
//     ErrPushRace, and the commits are dropped); PushBranch, DeleteBranch and RemoteBranch
//     handle a pull request's branch, with leases. A pull request's commit is a handful of
//     objects, kept in memory until its branch is pushed;
//   - repair: a cache whose objects are missing or damaged is fetched or cloned again;
//   - walk history: WalkBase visits the first-parent commits of the base branch, newest first,
//     each a PastCommit with its message, author and time and, through FileChange, the blobs
//     of one file before and after it; ReadBlob reads a blob under limits.git.maxFileBytes and
//     LookupCommit finds a commit by hash. Commits are decoded and diffed once, kept across
//     syncs by hash (dropped when no walk used them for two syncs), and a caller keeps what it
//     derives from one in its Memo, so every policy's walk shares the work; WalkBaseTouching
//     visits only the commits that changed one file or carry one of a caller's keys, through
//     an index of the base's chain built once per sync (docs/design.md §6, "Reading
//     history"). What a commit means — a decision, a revert, a person's edit — is not decided
//     here but in gitops/history. ClaimStarts tells where documents began to hold a claim (a
//     caller's predicate over a file's bytes) on that history, for the set checks to keep the
//     first (docs/design.md §4), and History does the same on a checkout's HEAD (validate
//     --repo);
//   - sign: with a Signer every commit is signed as git signs it (the gpgsig header over the
//     object without it; gitops/signing makes OpenPGP and SSH signatures);
//   - publish: with a Publisher the commits are made again through a host's API instead of
//     pushed (GitHub's verified commits), the branch moved only from its lease, and
//     PushedAs maps a local sha to the remote's;
//   - compare: SameFile and IsAncestor tell whether a pull request's branch point still
//     holds the base's version of its file.
//
// Auth (token, username and password, SSH key with known_hosts) is read once, at Open — or,
// with a Token source, at every network call (a minted, refreshed token) — and every error is
// scrubbed of secrets and URL credentials (secret.RedactError).
//
// Commits and SHAs cross the boundary as hex strings. What to commit is the loop's (package
// gitops), and the messages it commits are given to it whole; pull requests belong to the
// hosts. It knows no decision: it imports neither the message format (gitops/commitmsg), nor
// the replica editor, nor the engine. Nor does it import the service config
// (internal/svcconfig) or the policy documents (package policy): it has its own small types
// for what it is given — Auth (the secrets' names), Identity (a commit's author), ClaimStart —
// and its own defaults (DefaultBranch, DefaultMaxFileBytes, DefaultAuthorName,
// DefaultAuthorEmail); the loop converts its config to them. Of policy's tree it uses only the
// path rules of policy/repopath, a leaf.
//
// Must not import: cmd/..., gitops, gitops/commitmsg, gitops/delivery, gitops/history,
// gitops/host/..., internal/edit, internal/svcconfig, internal/web, policy, policy/convert,
// policy/engine, policy/optimum, render/..., promclient/..., integration/....
package gitrepo
