// Package tinyfs mounts a small, real file system for tests whose subject is a full disk: a
// tmpfs of a few megabytes, where a write past its size fails with ENOSPC as it would on a
// full volume. Filling it with a ballast file puts a disk at the edge at will.
//
// Mounting needs CAP_SYS_ADMIN (root in CI, as `make test` runs there). Without it the test is
// skipped — or, in CI (CI=true), failed: there a missing capability is a broken setup, not a
// reason to test less.
package tinyfs
