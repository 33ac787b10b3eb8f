// Package githubtest runs an in-process GitHub REST API for tests: exactly the endpoints the
// autoscaler's pull request provider calls, with real state (pull requests, numbers, labels,
// states, merges) over a real Git server of package gittest. Branches are looked up in that
// server's bare repository, and a merge is a real squash commit pushed onto its base branch
// with the git command line — so history, reverts and trailers can be checked on the result.
//
// The Git Data API (blobs, trees, commits, refs) writes real objects into that repository,
// and signs the commits it makes without a given committer, as GitHub signs "Verified"
// commits made through the API.
//
// It validates requests as GitHub does: 401 on a bad token, 404 on an unknown repository or
// pull request, 422 on a duplicate open pull request for one head or a missing branch, 405 on
// a merge that is not allowed, 409 on a merge whose head moved. Knobs act as the people and
// settings around the autoscaler: required status checks, their state, a rate limit, a pull
// request closed by hand. Write requests are counted so a test can assert "nothing written".
//
// It is test infrastructure: a broken setup fails the test; API misuse gets GitHub's answer.
package githubtest
