// Package benchrepo generates the GitOps repository of a platform with many teams, for the
// scale benchmarks: N policies, each scaling its own workload from its own values file, in one
// of the two layouts real repositories use, and the metric values that make exactly one policy
// in Every change its count. The repository is imported into a real Git server (gittest) in one
// `git fast-import`, so even 50,000 policies take seconds to set up, outside any timing.
//
// It is test infrastructure: it decides nothing and measures nothing itself.
package benchrepo
