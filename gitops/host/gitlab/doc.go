// Package gitlab is the merge request host of a GitLab project, on gitlab.com or a
// self-managed instance, over the official client (gitlab.com/gitlab-org/api/client-go):
// merge requests listed (every page), opened, updated in place, labelled and closed; merges
// squashed with the autoscaler's message on the squash commit and on the merge commit alike,
// through auto-merge ("merge when the pipeline succeeds"), which GitLab carries out once the
// pipeline passed and the approvals it requires were given; branches read and deleted.
//
// A personal, project or group access token is read from its file or environment variable
// at every request; a token GitLab rejected stops further calls until it changes, and no
// error carries it. Rate limits (429) and server errors (5xx) are retried by the one retry
// policy, internal/httpretry, within the request's deadline; the client's own retries are
// off. It does not decide when to merge or what a closed merge request means:
// that is pull request delivery's.
//
// Must not import: cmd/..., gitops, gitops/host/hosts, internal/web, render/..., promclient/...,
// integration/..., internal/testserver/....
package gitlab
