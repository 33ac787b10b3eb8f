// Command corpus converts the benchmark corpus of real public traces (examples/traces,
// docs/traces.md) into the trace format, in a directory outside the repository, and checks
// every converted file against the checksums recorded in examples/traces/SHA256SUMS.
//
//	go run ./examples/traces/corpus                      # download from GitHub at the pinned commits
//	go run ./examples/traces/corpus --repo numenta/NAB=$HOME/src/NAB ...   # or read local clones
//	go run ./examples/traces/corpus --file numenta/NAB/data/realKnownCause/nyc_taxi.csv=nyc_taxi.csv
//
// The output directory is -o, else $TRACES_DIR, else gitops-autoscaler/traces under the user's
// cache directory. A trace whose converted bytes differ from the recorded checksum is written
// anyway, reported, and makes the command exit 1; --write-sums records the new checksums
// instead (for a maintainer who changed the manifest on purpose). Nothing is downloaded that is
// not named in examples/traces/corpus.json.
package main
