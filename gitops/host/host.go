package host

import (
	"errors"
	"time"
)

// Errors a provider returns, wrapped with the repository and the step, for callers that
// decide on them.
var (
	// ErrHostAuth means the host rejected the token (HTTP 401). Calls with the same token
	// fail at once, without a request, until the token changes.
	ErrHostAuth = errors.New("authentication failed: the API token was rejected")
	// ErrRateLimited means the host's rate limit lasts past the call's deadline.
	ErrRateLimited = errors.New("rate limited")
	// ErrPullRequestExists means an open pull request already has this head.
	ErrPullRequestExists = errors.New("a pull request already exists for this branch")
	// ErrNotMergeable means the host refused a merge: not open, conflicting, checks not
	// passed, or the head moved since it was read.
	ErrNotMergeable = errors.New("not mergeable")
)

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
