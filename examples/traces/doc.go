// Package traces is the benchmark corpus of real public traffic that policies are measured on
// (docs/traces.md, docs/benchmarks.md): the manifest of every trace (corpus.json: where it
// comes from — repository, commit, path, licence —, what it measures, how it becomes a need,
// and which half of the corpus it belongs to), the conversion of each upstream file into the
// project's trace format (timestamp,metric,value), and the checksums of the converted files
// (SHA256SUMS), so that anyone who converts the same upstream data gets the same bytes.
//
// Nothing downloaded is part of the repository. The corpus command (examples/traces/corpus) reads
// each upstream file — from GitHub at the pinned commit, or from a local clone or file — and
// writes the converted traces into a directory outside the repository: $TRACES_DIR, else
// gitops-autoscaler/traces under the user's cache directory (Dir). The benchmark
// (BenchmarkTraces, `make bench-traces`) reads them from there, checks every checksum first,
// and says how to get them when they are missing.
//
// The corpus is split into a tuning half and a held-out half that nobody tunes on. The split
// was fixed before any policy was replayed on these traces, by a rule stated in
// docs/traces.md: the traces come in pairs of the same kind, and of each pair the one whose
// name has the smaller SHA-256 is held out (TestSplitFollowsTheRule checks it). Every report
// shows the held-out half first.
package traces
