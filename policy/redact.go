package policy

import (
	"cmp"
	"errors"
	"regexp"
	"slices"
	"strings"
)

// Secrets never reach a log line, an error, a commit or a pull request body (docs/design.md §9
// invariant 7). These are the one set of tools every package scrubs text with, so that they
// cannot drift apart: URL userinfo always goes, known secret strings go, and a scrubbed error
// cannot be unwrapped back to the raw one.

// userinfoRE matches the userinfo of a URL: scheme://user:password@.
var userinfoRE = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.\-]*://)[^/@\s]+@`)

// RedactURLs hides the userinfo of every URL in text: `https://x:tok@host/r` becomes
// `https://<redacted>@host/r`. The user part goes too, because a token is often sent as the
// user. Use it on any text that may carry a URL.
func RedactURLs(text string) string {
	return userinfoRE.ReplaceAllString(text, "${1}<redacted>@")
}

// RedactText is RedactURLs, then every non-empty secret replaced by <secret> (the longest
// first, so that a secret containing another is not left half shown).
func RedactText(text string, secrets ...string) string {
	text = RedactURLs(text)
	sorted := slices.Clone(secrets)
	slices.SortFunc(sorted, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, s := range sorted {
		if s != "" {
			text = strings.ReplaceAll(text, s, "<secret>")
		}
	}
	return text
}

// RedactedError is an error whose text has been scrubbed (RedactText). It answers errors.Is
// for the error it was made from, so that classification survives — a push race, a deadline,
// a canceled context — but it never unwraps to it: the raw text, secrets included, cannot be
// reached through errors.Unwrap or errors.As.
type RedactedError struct {
	msg string
	err error
}

// RedactError scrubs err of URL userinfo and of the given secrets; nil stays nil.
func RedactError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return &RedactedError{msg: RedactText(err.Error(), secrets...), err: err}
}

func (e *RedactedError) Error() string { return e.msg }

// Is reports whether the error it was made from is, or wraps, target.
func (e *RedactedError) Is(target error) bool { return errors.Is(e.err, target) }
