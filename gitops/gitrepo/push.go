package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/storage"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
)

// ErrPushRace means the remote branch moved since the last fetch, so a push was rejected. The
// caller syncs, re-reads and re-decides on the new head — never force-pushes (docs/design.md §9 invariant 3).
var ErrPushRace = errors.New("push rejected: the remote branch moved")

// raceMarkers are how Git servers and go-git word a rejected update of a moved ref.
var raceMarkers = []string{
	"non-fast-forward",
	"fetch first",
	"cannot lock ref",
	"failed to lock",
	"incorrect old value",
	"failed to update ref",
	"stale info",
	"reference has changed concurrently",
	"required to be", // our lease (RequireRemoteRefs) did not hold
}

// classifyPush marks a rejected push as ErrPushRace; other errors pass unchanged.
func classifyPush(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, git.ErrNonFastForwardUpdate) || errors.Is(err, storage.ErrReferenceHasChanged) {
		return fmt.Errorf("%w: %v", ErrPushRace, err)
	}
	msg := strings.ToLower(err.Error())
	for _, m := range raceMarkers {
		if strings.Contains(msg, m) {
			return fmt.Errorf("%w: %v", ErrPushRace, err)
		}
	}
	return err
}

// Push sends all local commits of the cycle to the base branch in one push. It never forces:
// when the branch moved since the last Sync it returns an error matching ErrPushRace and the
// remote keeps its commits. With nothing to push it does nothing. A push that fails drops the
// cycle's commits — the workspace is back at Base — so that a caller that tries again syncs
// and decides again on the new head rather than replaying a stale commit.
//
// What is sent is the cycle's pack as the commits wrote it (gitobj.Pack); the server's ref
// update, checked against the base this cycle saw, is atomic. The pack then becomes the
// clone's. Should that fail the push still stands, and the next Sync fetches the commits
// back.
//
// With a Publisher the commits are made again through the host's API instead (see
// Publisher): the workspace then syncs to the remote's new head, and PushedAs gives each
// commit's published sha.
func (w *Workspace) Push(ctx context.Context) error {
	head := w.head
	if head == w.base {
		return nil
	}
	if w.publisher != nil {
		if err := w.publish(ctx); err != nil {
			_ = w.resetTo(w.base)
			return w.fail("push", err)
		}
		return nil
	}
	err := w.sendPack(ctx, head)
	if err != nil {
		_ = w.resetTo(w.base)
		return w.fail("push", err)
	}
	w.base, w.baseTree = head, w.headTree
	w.made = nil
	if w.keepPack() == nil {
		_ = w.repo.Storer.SetReference(plumbing.NewHashReference(w.branch, head))
		_ = w.repo.Storer.SetReference(plumbing.NewHashReference(w.tracker, head))
		_ = w.co.settle(w.headTree)
	}
	return nil
}

// sendPack pushes the cycle's pack with one command: the base branch from base to head.
func (w *Workspace) sendPack(ctx context.Context, head plumbing.Hash) error {
	checksum, err := w.pack.Finish()
	if err != nil {
		return fmt.Errorf("write pack: %w", err)
	}
	w.packSum = checksum
	pack, err := w.pack.Reader()
	if err != nil {
		return fmt.Errorf("read pack: %w", err)
	}
	auth, err := w.auth(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := w.netContext(ctx)
	defer cancel()
	ep, err := transport.NewEndpoint(w.url)
	if err != nil {
		return err
	}
	cli, err := client.NewClient(ep)
	if err != nil {
		return err
	}
	sess, err := cli.NewReceivePackSession(ep, auth)
	if err != nil {
		return err
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return err
	}
	refs, err := ar.AllReferences()
	if err != nil {
		return err
	}
	if cur, err := refs.Reference(w.branch); err != nil || cur.Hash() != w.base {
		// Checked again by the server, atomically, against the old value sent below.
		return fmt.Errorf("%w: %s is no longer at %s", ErrPushRace, w.branch.Short(), gitname.Short(w.base.String()))
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
	req.Commands = []*packp.Command{{Name: w.branch, Old: w.base, New: head}}
	req.Packfile = io.NopCloser(pack)
	rs, err := sess.ReceivePack(ctx, req)
	if err != nil {
		return classifyPush(err)
	}
	if rs != nil {
		return classifyPush(rs.Error())
	}
	return nil
}

// keepPack makes the pushed pack the clone's, where reads find its objects from now on.
func (w *Workspace) keepPack() error {
	err := w.pack.Install(w.packSum)
	if err != nil {
		w.pack.Discard()
		w.pack = nil
		return err
	}
	w.pack = nil
	w.store.Reindex()
	return nil
}

// BranchPush pushes one commit to a branch of its own (a pull request's), with
// force-with-lease semantics: the push overwrites the branch only if it is still at Lease.
type BranchPush struct {
	// Branch is the short branch name, e.g. autoscaler/laravel-demo/laravel-web.
	Branch string
	// Commit is the sha the branch should point at, usually a commit of this cycle.
	Commit string
	// Lease is the branch's expected remote head; empty means the branch must not exist (an
	// existing branch is then only fast-forwarded, never overwritten).
	Lease string
}

// PushBranch pushes a commit to a branch other than the base branch. A broken lease returns
// an error matching ErrPushRace. It does not move the local base branch. With a Publisher the
// commit is made again through the host's API, and PushedAs(p.Commit) is the branch's head.
func (w *Workspace) PushBranch(ctx context.Context, p BranchPush) error {
	ref := plumbing.NewBranchReferenceName(p.Branch)
	fail := func(err error) error { return w.fail("push branch "+p.Branch, err) }
	if err := w.checkBranch(ref); err != nil {
		return fail(err)
	}
	commit, err := parseSHA(p.Commit)
	if err != nil || commit.IsZero() {
		return fail(errors.New("no commit"))
	}
	lease, err := parseSHA(p.Lease)
	if err != nil {
		return fail(fmt.Errorf("lease: %w", err))
	}
	if w.publisher != nil {
		if err := w.publishBranch(ctx, p, commit); err != nil {
			return fail(err)
		}
		return nil
	}
	// go-git pushes local refs; a scratch local ref carries the commit and is dropped after.
	if err := w.repo.Storer.SetReference(plumbing.NewHashReference(ref, commit)); err != nil {
		return fail(err)
	}
	defer func() { _ = w.repo.Storer.RemoveReference(ref) }()

	opts := &git.PushOptions{RefSpecs: []config.RefSpec{config.RefSpec(fmt.Sprintf("%s:%s", ref, ref))}}
	if !lease.IsZero() {
		// Force past a non-fast-forward, but only from the leased commit: go-git checks the
		// advertisement, and the server's update checks the same old value atomically.
		opts.RefSpecs = []config.RefSpec{config.RefSpec(fmt.Sprintf("+%s:%s", ref, ref))}
		opts.RequireRemoteRefs = []config.RefSpec{config.RefSpec(fmt.Sprintf("%s:%s", lease, ref))}
	}
	if err := w.push(ctx, opts); err != nil {
		return fail(err)
	}
	// Kept past the cycle, so the next one finds its own pull request's commit (see Push).
	_ = w.store.Persist()
	return nil
}

// DeleteBranch deletes a branch of the remote (not the base branch). With a lease (a sha) it
// deletes only a branch still at that commit. Deleting a missing branch is not an error.
func (w *Workspace) DeleteBranch(ctx context.Context, branch, lease string) error {
	ref := plumbing.NewBranchReferenceName(branch)
	fail := func(err error) error { return w.fail("delete branch "+branch, err) }
	if err := w.checkBranch(ref); err != nil {
		return fail(err)
	}
	at, err := parseSHA(lease)
	if err != nil {
		return fail(fmt.Errorf("lease: %w", err))
	}
	_, exists, err := w.remoteRef(ctx, branch)
	if err != nil || !exists {
		return err
	}
	opts := &git.PushOptions{RefSpecs: []config.RefSpec{config.RefSpec(":" + ref.String())}}
	if !at.IsZero() {
		opts.RequireRemoteRefs = []config.RefSpec{config.RefSpec(fmt.Sprintf("%s:%s", at, ref))}
	}
	if err := w.push(ctx, opts); err != nil {
		return fail(err)
	}
	return nil
}

// Commit is a commit as the loop reads it back.
type Commit struct {
	// SHA and Parents are full hex shas.
	SHA     string
	Parents []string
	Message string
}

// RemoteBranch reads where a branch of the remote points (one ref advertisement) and, when
// it exists, its head commit — fetched when the clone does not have it yet (a branch another
// run pushed). It reports false for a branch the remote does not have.
func (w *Workspace) RemoteBranch(ctx context.Context, branch string) (Commit, bool, error) {
	h, exists, err := w.remoteRef(ctx, branch)
	if err != nil || !exists {
		return Commit{}, false, err
	}
	c, err := w.repo.CommitObject(h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		if err := w.fetchBranch(ctx, branch); err != nil {
			return Commit{}, false, err
		}
		c, err = w.repo.CommitObject(h)
	}
	if err != nil {
		return Commit{}, false, w.fail("read branch "+branch, err)
	}
	out := Commit{SHA: c.Hash.String(), Message: c.Message}
	for _, p := range c.ParentHashes {
		out.Parents = append(out.Parents, p.String())
	}
	return out, true, nil
}

// remoteRef asks the remote where a branch points (one ref advertisement).
func (w *Workspace) remoteRef(ctx context.Context, branch string) (plumbing.Hash, bool, error) {
	remote, err := w.repo.Remote(remoteName)
	if err != nil {
		return plumbing.ZeroHash, false, w.fail("list remote", err)
	}
	ctx, cancel := w.netContext(ctx)
	defer cancel()
	auth, err := w.auth(ctx)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: auth})
	if err != nil {
		return plumbing.ZeroHash, false, w.fail("list remote", err)
	}
	want := plumbing.NewBranchReferenceName(branch)
	for _, r := range refs {
		if r.Name() == want && r.Type() == plumbing.HashReference {
			return r.Hash(), true, nil
		}
	}
	return plumbing.ZeroHash, false, nil
}

// fetchBranch fetches one branch of the remote into its remote-tracking ref.
func (w *Workspace) fetchBranch(ctx context.Context, branch string) error {
	auth, err := w.auth(ctx)
	if err != nil {
		return err
	}
	nctx, cancel := w.netContext(ctx)
	defer cancel()
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(branch), plumbing.NewRemoteReferenceName(remoteName, branch)))
	err = w.repo.FetchContext(nctx, &git.FetchOptions{
		RemoteName: remoteName, RefSpecs: []config.RefSpec{spec}, Auth: auth, Tags: git.NoTags,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return w.fail("fetch branch "+branch, err)
	}
	return nil
}

// parseSHA reads a full hex sha; empty is the zero hash.
func parseSHA(s string) (plumbing.Hash, error) {
	if s == "" {
		return plumbing.ZeroHash, nil
	}
	if !plumbing.IsHash(s) {
		return plumbing.ZeroHash, fmt.Errorf("%q is not a commit sha", s)
	}
	return plumbing.NewHash(s), nil
}

func (w *Workspace) checkBranch(ref plumbing.ReferenceName) error {
	if ref == w.branch {
		return errors.New("refusing to treat the base branch as a pull request branch")
	}
	if err := ref.Validate(); err != nil {
		return err
	}
	return nil
}

func (w *Workspace) push(ctx context.Context, opts *git.PushOptions) error {
	auth, err := w.auth(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := w.netContext(ctx)
	defer cancel()
	opts.RemoteName = remoteName
	opts.Auth = auth
	err = w.repo.PushContext(ctx, opts)
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil
	}
	return classifyPush(err)
}
