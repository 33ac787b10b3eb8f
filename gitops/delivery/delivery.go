package delivery

import (
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/commitmsg"
	"github.com/gitops-autoscaler/gitops-autoscaler/gitops/gitrepo"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// Withdrawn is the pull request a Withdraw closed: its URL and its name in the host's terms
// ("merge request !12"); both empty when none was open.
type Withdrawn struct {
	URL, Name string
}

// Proposal is one decision to deliver by pull request.
type Proposal struct {
	Repo   svcconfig.Repository
	Policy *policy.Policy
	Mode   policy.Mode
	// File and Content are the edited file (repository-relative) and its new bytes.
	File    string
	Content []byte
	Message commitmsg.Message
	Author  gitrepo.Identity
	// Rendered is the rendered workload diff, when render verification ran.
	Rendered string
}

// Result is what a delivery did.
type Result struct {
	// URL is the pull request's, Name its name in the host's terms ("merge request !12").
	URL, Name string
	// Commit is the decision's commit on the policy's branch.
	Commit string
	Merged bool
	// Held is set when delivery decided not to propose the change (e.g. auto-merge refused
	// and the policy wants a person); Reasons say why.
	Held bool
	// MergeCommit is the squash commit on the base branch when Merged.
	MergeCommit string
	// Unchanged is set when the open PR already carried this decision: nothing was written.
	Unchanged bool
	Reasons   []engine.Reason
}
