#!/usr/bin/env bash
# Runs every Fuzz* target briefly: what users write must never panic.
#
# The budget is a count of executions ("20000x"), not a duration: with a duration Go's fuzzing
# coordinator can fail a clean run with a bare "context deadline exceeded" when a worker is
# still mid-call at the deadline on a loaded machine (golang/go#75804, fixed in Go 1.27). A
# count has no deadline to race. FUZZTIME overrides the budget for every target, and takes a
# duration too ("60s") for a long local run.
set -euo pipefail
budget=${1:-}
default=20000x
# Targets whose one call does real work (a checkout on disk, a policy load, a render frame)
# get fewer executions, sized to a few seconds each on a 2-core machine.
declare -A slow=(
  [FuzzTreeEntryNames]=1500x
  [FuzzLoadPolicies]=1000x
  [FuzzReadFrame]=5000x
  [FuzzResolveSources]=5000x
)
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)' "$dir"/*_test.go 2>/dev/null | awk '{print $2}' | sort -u); do
    t=${budget:-${slow[$f]:-$default}}
    echo "fuzz $pkg $f ($t)"
    go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" "$pkg"
  done
done
