// Package gitlabtest runs an in-process GitLab REST API (v4) for tests: exactly the endpoints
// the autoscaler's merge request provider calls, with real state (merge requests, iids,
// labels, states, pipelines, approvals, auto-merge, merges) over a real Git server of package
// gittest. Branches are looked up in that server's bare repository, and a merge is real:
// squash and merge commits written with the git command line and moved onto the target
// branch only from the commit they were made on.
//
// It validates requests as GitLab does: 401 on a bad token, 404 on an unknown project, merge
// request or branch, 400 on a missing required attribute, 409 on a second open merge request
// for one source branch and on a merge whose sha is not the source's head, 405 on a merge
// request that cannot merge, 422 on a merge that fails. The pipelines of a commit are listed
// too. Lists are paginated with GitLab's
// headers (X-Page, X-Next-Page, X-Total, Link). Auto-merge ("merge when the pipeline
// succeeds") is kept on the merge request and carried out when the pipeline and the approvals
// allow it — unless the source branch moved since it was set, which cancels it.
//
// Knobs act as the people and settings around the autoscaler: the project's merge method and
// squash option, "pipelines must succeed", the state of the pipelines, required approvals and
// approving, a merge request closed by hand, a rate limit, a server error. Write requests are counted so a
// test can assert "nothing written".
//
// It is test infrastructure: a broken setup fails the test; API misuse gets GitLab's answer.
package gitlabtest
