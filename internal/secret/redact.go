package secret

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"errors"
	"net/url"
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

// Redact is RedactURLs, then every non-empty secret replaced by <secret> in each encoding
// it takes on the wire (the longest secret first, so that a secret containing another is not
// left half shown):
//
//   - as it is;
//   - URL-encoded (as a query value or a path segment, hex digits in either case);
//   - in base64, standard or URL-safe, padded or not, alone or inside a longer value: HTTP basic
//     auth sends base64("x-access-token:" + token), base64("oauth2:" + token) or
//     base64(user + ":" + password), and a server that quotes the header back puts that in its
//     answer. The whole base64 run that holds the secret's bits is replaced, at any of the three
//     alignments a prefix of any length gives it.
//
// Then the credential of any HTTP authorization a text quotes goes too, known or not:
// "Basic <base64 of user:password>" and "Bearer <token>" (a token of 20 characters or more).
func Redact(text string, secrets ...string) string {
	text = RedactURLs(text)
	sorted := slices.Clone(secrets)
	slices.SortFunc(sorted, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	for _, s := range sorted {
		if s == "" {
			continue
		}
		text = strings.ReplaceAll(text, s, secretMark)
		for _, esc := range urlEncodings(s) {
			text = replaceFold(text, esc)
		}
		for _, core := range base64Cores(s) {
			text = redactBase64Runs(text, core)
		}
	}
	return redactAuthorizations(text)
}

// secretMark replaces a secret.
const secretMark = "<secret>"

// urlEncodings are the URL encodings of s that differ from it.
func urlEncodings(s string) []string {
	var out []string
	for _, e := range []string{url.QueryEscape(s), url.PathEscape(s)} {
		if e != s && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// replaceFold replaces every occurrence of a URL-encoded s, its %XX escapes matched in either
// case.
func replaceFold(text, s string) string {
	lower := asciiLower(text) // byte for byte, so that indexes into it index text
	ls := asciiLower(s)
	if !strings.Contains(lower, ls) || !strings.Contains(s, "%") {
		return strings.ReplaceAll(text, s, secretMark)
	}
	// Only the escapes fold: match on the lowered text where s's unescaped bytes match exactly.
	var b strings.Builder
	for i := 0; i < len(text); {
		j := strings.Index(lower[i:], ls)
		if j < 0 {
			b.WriteString(text[i:])
			break
		}
		at := i + j
		if escapedEqual(text[at:at+len(s)], s) {
			b.WriteString(text[i:at])
			b.WriteString(secretMark)
			i = at + len(s)
			continue
		}
		b.WriteString(text[i : at+1])
		i = at + 1
	}
	return b.String()
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// escapedEqual reports whether got is want with the hex digits of its %XX escapes in any case.
func escapedEqual(got, want string) bool {
	for i := 0; i < len(want); i++ {
		if got[i] == want[i] {
			continue
		}
		inEscape := (i >= 1 && want[i-1] == '%') || (i >= 2 && want[i-2] == '%')
		if !inEscape || !strings.EqualFold(got[i:i+1], want[i:i+1]) {
			return false
		}
	}
	return true
}

// base64Cores are the base64 characters that encode s alone, whatever precedes it: one string
// for each alignment s can take in a longer value (its offset modulo 3), without the
// characters that also carry bits of a neighbour. Cores shorter than 4 characters would match
// too much and are left out (s is then at most 3 bytes long, and replaced as it is).
func base64Cores(s string) []string {
	var out []string
	n := len(s)
	for k := range 3 {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, k), s...))
		start := (8*k + 5) / 6   // the first character with no bit of the k bytes before
		end := (8 * (k + n)) / 6 // past the last character with no bit of what follows
		if end-start < 4 {
			continue
		}
		out = append(out, enc[start:end])
	}
	return out
}

// redactBase64Runs replaces every run of base64 characters (either alphabet, with padding)
// that holds core, or core in the URL-safe alphabet.
func redactBase64Runs(text, core string) string {
	urlCore := strings.NewReplacer("+", "-", "/", "_").Replace(core)
	for _, c := range []string{core, urlCore} {
		// Scan forward past each mark, written now or before: the letters of "<secret>" may
		// hold c.
		for from := 0; ; {
			at := strings.Index(text[from:], c)
			if at < 0 {
				break
			}
			start, end := from+at, from+at+len(c)
			for start > 0 && isBase64Char(text[start-1]) {
				start--
			}
			for end < len(text) && isBase64Char(text[end]) {
				end++
			}
			if start > 0 && end < len(text) && text[start-1:end+1] == secretMark {
				from = end // a mark written already
				continue
			}
			text = text[:start] + secretMark + text[end:]
			from = start + len(secretMark)
		}
	}
	return text
}

func isBase64Char(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '+' || c == '/' || c == '-' || c == '_' || c == '='
}

// authorizationRE matches an HTTP authorization's scheme and credentials (token68) as a text
// may quote them.
var authorizationRE = regexp.MustCompile(`(?i)\b(basic|bearer)(\s+)([A-Za-z0-9+/._~-]+=*)`)

// redactAuthorizations replaces the credentials of quoted authorizations: Basic ones that
// decode to user:password, Bearer tokens of 20 characters or more (shorter words after
// "bearer" are prose: "bearer token").
func redactAuthorizations(text string) string {
	return authorizationRE.ReplaceAllStringFunc(text, func(m string) string {
		sub := authorizationRE.FindStringSubmatch(m)
		scheme, space, cred := sub[1], sub[2], sub[3]
		switch strings.ToLower(scheme) {
		case "basic":
			dec, err := base64.StdEncoding.DecodeString(cred)
			if err != nil {
				dec, err = base64.RawStdEncoding.DecodeString(cred)
			}
			if err != nil || !bytes.Contains(dec, []byte(":")) {
				return m
			}
		case "bearer":
			if len(cred) < 20 {
				return m
			}
		}
		return scheme + space + secretMark
	})
}

// RedactedError is an error whose text has been scrubbed (Redact). It answers errors.Is
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
	return &RedactedError{msg: Redact(err.Error(), secrets...), err: err}
}

func (e *RedactedError) Error() string { return e.msg }

// Is reports whether the error it was made from is, or wraps, target.
func (e *RedactedError) Is(target error) bool { return errors.Is(e.err, target) }
