// Command loadapp stands in for the Laravel application of the example: it exports, on
// /metrics, the metrics the example's policies query — under the names and labels a Laravel app
// with a Prometheus exporter, mysqld-exporter and redis_exporter would — and lets you drive
// them over HTTP, so the autoscaler can be watched reacting to load against a real Prometheus:
//
//	POST /load?rps=400&latency=0.2&errors=0.01   serve 400 req/s, 0.2 s mean latency, 1 % 5xx
//	POST /queue?backlog=3000[&queue=emails]      set a queue's pending jobs
//	POST /tasks/start[?queue=emails]             enqueue one job
//	POST /tasks/finish[?queue=emails]            finish the oldest job
//	GET  /load                                   the current settings, as JSON
//
// Exported: http_requests_total{app,route,status}, http_request_duration_seconds{app,route}
// (histogram), laravel_queue_jobs_pending{queue}, laravel_queue_oldest_job_age_seconds{queue},
// mysql_global_status_threads_running and redis_memory_used_bytes. MySQL threads follow the
// requests in flight and Redis memory follows the queued jobs, as they would in the real stack.
//
// It is a demo part, not part of the product: `make demo-live` runs it beside a local
// Prometheus that scrapes it, and `loadapp --help` says how to drive it by hand.
package main
