// Package prgit is the Git side of a pull request that the fake GitHub and GitLab servers
// (githubtest, gitlabtest) share: both keep their pull requests' branches in a real bare
// repository of gittest, and read and move them with the git binary — a branch's commit, an
// ancestor check, a merge without a worktree — isolated from the machine's Git configuration.
// Both count the same way too (Counts): every request, and each write request they accepted.
// What a host's API answers stays in its own server.
//
// It is test infrastructure: a failed git command is returned with git's own words.
//
// Must not import: cmd/..., gitops/..., policy/..., promclient/..., render/....
package prgit
