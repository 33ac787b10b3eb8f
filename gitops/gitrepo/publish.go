package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
)

// A Publisher makes commits on the remote through a host's API rather than a Git push, so
// that the host makes — and signs — them: GitHub's "Verified" commits for a bot that has no
// signing key. The workspace hands it the commits it made locally, as plain data; each
// published commit has the same parent chain, file, content, message and author, but its own
// committer and signature, hence its own sha.
type Publisher interface {
	// Publish makes p.Commits on the remote, the first on p.Parent and each on the one
	// before, and points p.Branch at the last; it returns the shas made, in order. The
	// branch moves only from p.Lease (empty: the branch must not exist yet), and with
	// p.FastForward only forward; a branch that is elsewhere is an error matching
	// ErrPushRace, and then no branch moved.
	Publish(ctx context.Context, p Publication) ([]string, error)
}

// Publication is what a Publisher makes on the remote.
type Publication struct {
	// Branch is the short branch name.
	Branch string
	// Parent is the first commit's parent; Lease the branch's expected head ("" for a new
	// branch). For the base branch both are its head as of the last sync.
	Parent, Lease string
	// FastForward is set for the base branch, which never moves but forward.
	FastForward bool
	Commits     []PublishedCommit
}

// PublishedCommit is one commit to make again: one file changed, as the local commit did.
type PublishedCommit struct {
	// Local is the sha of the workspace's commit.
	Local string
	// File is the repository-relative path, Mode its git mode (e.g. "100644"), Content the
	// file's new content.
	File    string
	Mode    string
	Content []byte
	// Message is the commit message exactly; AuthorName, AuthorEmail and When the author.
	Message     string
	AuthorName  string
	AuthorEmail string
	When        time.Time
}

// pendingCommit is a commit of the cycle as a Publisher makes it again. It is kept as data:
// the cycle's commits are in its pack stream, which the workspace does not read back.
type pendingCommit struct {
	sha    plumbing.Hash
	commit PublishedCommit
}

// published reads a local commit back as a PublishedCommit.
func (w *Workspace) published(sha plumbing.Hash, file string) (PublishedCommit, error) {
	c, err := object.GetCommit(w.store, sha)
	if err != nil {
		return PublishedCommit{}, fmt.Errorf("read commit %s: %w", gitname.Short(sha.String()), err)
	}
	tree, err := c.Tree()
	if err != nil {
		return PublishedCommit{}, fmt.Errorf("read commit %s: %w", gitname.Short(sha.String()), err)
	}
	e, err := tree.FindEntry(file)
	if err != nil {
		return PublishedCommit{}, fmt.Errorf("read %s in commit %s: %w", file, gitname.Short(sha.String()), err)
	}
	blob, err := object.GetBlob(w.store, e.Hash)
	if err != nil {
		return PublishedCommit{}, fmt.Errorf("read %s in commit %s: %w", file, gitname.Short(sha.String()), err)
	}
	r, err := blob.Reader()
	if err != nil {
		return PublishedCommit{}, err
	}
	content, err := io.ReadAll(r)
	_ = r.Close()
	if err != nil {
		return PublishedCommit{}, err
	}
	return PublishedCommit{
		Local: sha.String(), File: file, Mode: fmt.Sprintf("%06o", uint32(e.Mode)), Content: content,
		Message: c.Message, AuthorName: c.Author.Name, AuthorEmail: c.Author.Email, When: c.Author.When,
	}, nil
}

// publish sends the cycle's commits through the Publisher and adopts what the remote made:
// the workspace syncs to the remote's new head, and PushedAs maps each local sha to its
// published one.
func (w *Workspace) publish(ctx context.Context) error {
	p := Publication{Branch: w.branch.Short(), Parent: w.base.String(), Lease: w.base.String(), FastForward: true}
	for _, pc := range w.pending {
		p.Commits = append(p.Commits, pc.commit)
	}
	shas, err := w.publisher.Publish(ctx, p)
	if err != nil {
		return err
	}
	if len(shas) != len(p.Commits) {
		return fmt.Errorf("publish: %d commits made for %d", len(shas), len(p.Commits))
	}
	for i, c := range p.Commits {
		w.pushedAs[c.Local] = shas[i]
	}
	// The local commits are not the remote's: read the remote's back.
	return w.Sync(ctx)
}

// publishBranch makes a pull request's commit (one of CommitOnBase) through the Publisher.
func (w *Workspace) publishBranch(ctx context.Context, bp BranchPush, commit plumbing.Hash) error {
	file, ok := w.onBase[commit]
	if !ok {
		return fmt.Errorf("commit %s was not made by CommitOnBase", gitname.Short(bp.Commit))
	}
	c, err := object.GetCommit(w.store, commit)
	if err != nil {
		return fmt.Errorf("read commit %s: %w", gitname.Short(bp.Commit), err)
	}
	pc, err := w.published(commit, file)
	if err != nil {
		return err
	}
	shas, err := w.publisher.Publish(ctx, Publication{
		Branch: bp.Branch, Parent: c.ParentHashes[0].String(), Lease: bp.Lease, Commits: []PublishedCommit{pc},
	})
	if err != nil {
		return err
	}
	if len(shas) != 1 {
		return fmt.Errorf("publish: %d commits made for 1", len(shas))
	}
	w.pushedAs[bp.Commit] = shas[0]
	return nil
}

// PushedAs is the remote's sha of a commit the workspace made: the published one when a
// Publisher made it again, else the commit itself.
func (w *Workspace) PushedAs(sha string) string {
	if p, ok := w.pushedAs[sha]; ok {
		return p
	}
	return sha
}

// SameFile reports whether a file is the same (content and mode, or absent in both) in two
// commits of the clone: a pull request's branch point and the current base, say.
func (w *Workspace) SameFile(a, b, file string) (bool, error) {
	entry := func(sha string) (*object.TreeEntry, error) {
		h, err := parseSHA(sha)
		if err != nil {
			return nil, err
		}
		c, err := object.GetCommit(w.store, h)
		if err != nil {
			return nil, fmt.Errorf("read commit %s: %w", gitname.Short(sha), err)
		}
		t, err := c.Tree()
		if err != nil {
			return nil, err
		}
		e, err := t.FindEntry(file)
		if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
			return nil, nil
		}
		return e, err
	}
	ea, err := entry(a)
	if err != nil {
		return false, err
	}
	eb, err := entry(b)
	if err != nil {
		return false, err
	}
	if ea == nil || eb == nil {
		return ea == nil && eb == nil, nil
	}
	return ea.Hash == eb.Hash && ea.Mode == eb.Mode, nil
}

// IsAncestor reports whether commit a is b or an ancestor of b in the clone.
func (w *Workspace) IsAncestor(a, b string) (bool, error) {
	ha, err := parseSHA(a)
	if err != nil {
		return false, err
	}
	hb, err := parseSHA(b)
	if err != nil {
		return false, err
	}
	if ha == hb {
		return true, nil
	}
	ca, err := object.GetCommit(w.store, ha)
	if err != nil {
		return false, nil // not in the clone: not on the base's history
	}
	cb, err := object.GetCommit(w.store, hb)
	if err != nil {
		return false, fmt.Errorf("read commit %s: %w", gitname.Short(b), err)
	}
	return ca.IsAncestor(cb)
}
