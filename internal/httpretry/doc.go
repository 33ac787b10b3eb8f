// Package httpretry is the one retry policy for the HTTP services the autoscaler depends on:
// Prometheus (package promclient) and the Git hosts' REST APIs (gitops/host/...). A transient
// failure is tried again after the wait the server asks for (Retry-After, in seconds or as an
// HTTP date), or else after a jittered exponential backoff; never past the request's deadline,
// never more than a bound of attempts, and only when the request's body can be sent again.
// What counts as transient is the caller's to say (Transient is the common answer; a host adds
// its own rate-limit signals), so the loop, the waits and the deadline rule stay one.
//
// The clock, the sleep and the jitter are injected, so that tests run at fixed instants and
// never wait. (hashicorp/go-retryablehttp is the field's library for this; its waits are
// timers of its own that a test cannot replace, which is why the policy is ours.)
//
// Must not import: cmd/..., gitops/..., policy/..., render/..., promclient/....
package httpretry
