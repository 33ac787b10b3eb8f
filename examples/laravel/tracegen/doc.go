// Command tracegen writes examples/laravel/trace.csv, the metrics trace `make demo` and
// `gitops-autoscaler backtest --trace` replay: two hours of the Laravel example's signals,
// sampled every 30 s from 2026-11-22T08:00:00Z (a Sunday, so the web policy's business-hours
// schedule stays out of the picture), in the `timestamp,metric,value` format keyed by the
// policies' metric names.
//
// The story: a traffic spike (100 → 600 → 100 req/s, 08:15–09:00) with latency, errors and
// MySQL threads rising with it, and a newsletter batch (09:10) that fills the email queue to
// 3000 jobs, which drain by 09:45. The output is a pure function of the code — no randomness —
// so the file can be regenerated and diffed:
//
//	go run ./examples/laravel/tracegen > examples/laravel/trace.csv
//
// It is a demo part, not part of the product; a test keeps the committed trace.csv equal to
// what it writes.
package main
