package host

import (
	"errors"
	"strconv"
	"time"
)

// Terms is how a host names a pull request to its users, in every message, log line, body
// and error the autoscaler writes about one: GitHub's "pull request #12", GitLab's "merge
// request !12".
type Terms struct {
	// Noun is the host's word: "pull request", "merge request".
	Noun string
	// Mark precedes a number in a reference: "#", "!".
	Mark string
}

// The terms of the hosts.
var (
	PullRequestTerms  = Terms{Noun: "pull request", Mark: "#"}  // GitHub, GitHub Enterprise
	MergeRequestTerms = Terms{Noun: "merge request", Mark: "!"} // GitLab
)

// Ref is a number as the host writes it: "#12", "!12".
func (t Terms) Ref(number int) string { return t.Mark + strconv.Itoa(number) }

// Name is a numbered pull request in the host's words: "pull request #12", "merge request !12".
func (t Terms) Name(number int) string { return t.Noun + " " + t.Ref(number) }

// Errors a provider returns, wrapped with the repository and the step, for callers that
// decide on them.
var (
	// ErrHostAuth means the host rejected the token (HTTP 401). Calls with the same token
	// fail at once, without a request, until the token changes.
	ErrHostAuth = errors.New("authentication failed: the API token was rejected")
	// ErrRateLimited means the host's rate limit lasts past the call's deadline.
	ErrRateLimited = errors.New("rate limited")
	// ErrPullRequestExists means an open pull request already has this head. Its text names
	// no host's noun: the provider's wrapping does.
	ErrPullRequestExists = errors.New("one is already open for this branch")
	// ErrNotMergeable means the host refused a merge: not open, conflicting, checks not
	// passed, or the head moved since it was read.
	ErrNotMergeable = errors.New("not mergeable")
	// ErrMergeScheduled means the host took the merge for later: it merges by itself once
	// its rules allow (GitLab's auto-merge waits for the pipeline and the approvals).
	ErrMergeScheduled = errors.New("auto-merge set: the host merges when its rules allow")
	// ErrBranchMoved means a branch was not where the caller leased it: commits made through
	// the API were not put on it.
	ErrBranchMoved = errors.New("the branch moved")
)

// CommitsOnBranch are commits to make through a host's API (so that the host signs them),
// each changing one file, and the branch to point at the last.
type CommitsOnBranch struct {
	// Branch is the short branch name; Parent the first commit's parent.
	Branch, Parent string
	// Lease is the branch's expected head ("" for a branch that must not exist yet).
	Lease string
	// FastForward moves the branch only forward (the base branch).
	FastForward bool
	Commits     []NewCommit
}

// NewCommit is one commit to make: File (repository-relative, with its git Mode such as
// "100644") set to Content, with Message exactly and the author given.
type NewCommit struct {
	File, Mode  string
	Content     []byte
	Message     string
	AuthorName  string
	AuthorEmail string
	When        time.Time
}

// PullRequest is a pull request (a merge request, on hosts that call it so) as delivery sees
// it. Branches are short names ("autoscaler/ns/name"); commits are full hex shas.
type PullRequest struct {
	Number int
	URL    string
	State  string // open or closed
	Merged bool
	Title  string
	Body   string
	// Head and Base are branch names; HeadSHA is the head's commit (frozen once closed).
	Head, HeadSHA, Base string
	Labels              []string
	// Mergeable is nil while the host computes it (only a read of one pull request fills it).
	Mergeable      *bool
	MergeableState string
	ClosedAt       time.Time
	MergeCommit    string
}

// NewPullRequest is a pull request to open.
type NewPullRequest struct {
	Title, Body, Head, Base string
}

// MergeRequest merges a pull request: Method "squash" with Title and Message as the commit
// message, only if the head is still SHA.
type MergeRequest struct {
	Method, Title, Message, SHA string
}

// CheckState is the state of a commit's required checks.
type CheckState struct {
	// State is "success" (all passed), "pending" or "failure".
	State string
	// Detail names the checks not passed, e.g. `ci/test pending`.
	Detail string
}
