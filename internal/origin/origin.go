package origin

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// maxRedirects is net/http's own bound on a chain of redirects, kept.
const maxRedirects = 10

// credentialHeaders are the headers that carry a credential, for Transport to remove: the
// standard ones, GitLab's tokens, and the tenant header of Mimir, Cortex and Loki. A client
// names its own custom headers too (Transport's extra).
var credentialHeaders = []string{
	"Authorization", "Proxy-Authorization", "Cookie", "Private-Token", "Job-Token", "X-Scope-Orgid",
}

// Same reports whether two URLs are one origin: the same scheme, the same host (ASCII letters in
// any case; an IP address in any of its spellings) and the same port, the scheme's default
// when none is written. A subdomain is another origin, and so is http against https.
func Same(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && host(a) == host(b) && port(a) == port(b)
}

func host(u *url.URL) string {
	h := u.Hostname()
	if addr, err := netip.ParseAddr(h); err == nil {
		return addr.String()
	}
	// ASCII only: a Unicode fold could call two hosts one that DNS keeps apart.
	b := []byte(h)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func port(u *url.URL) string {
	if p := strings.TrimLeft(u.Port(), "0"); p != "" {
		return p
	} else if u.Port() != "" {
		return "0"
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// Of is a URL's origin as text, scheme://host[:port], for messages: no userinfo, path or query.
func Of(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + u.Host
}

// RedirectError is a redirect to another origin, refused.
type RedirectError struct {
	// From is the origin of the first request, To the one the server redirected to.
	From, To string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("the server redirected from %s to %s, another origin: not followed, so that no credential "+
		"leaves the server it was given for; configure the URL the server redirects to", e.From, e.To)
}

// CheckRedirect is an http.Client's CheckRedirect: a redirect within the first request's origin
// is followed, up to 10 as net/http's default; one to another origin is refused with a
// *RedirectError.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) == 0 {
		return nil
	}
	if len(via) >= maxRedirects {
		return errors.New("stopped after 10 redirects")
	}
	first := via[0].URL
	if !Same(first, req.URL) {
		return &RedirectError{From: Of(first), To: Of(req.URL)}
	}
	return nil
}

// Client returns a copy of c (of a new client when c is nil) that follows the rule: its
// CheckRedirect is CheckRedirect and its transport (http.DefaultTransport when unset) is
// wrapped by Transport with the extra header names. Wrap the returned client's transport
// further to add credentials: they are then under the rule too.
func Client(c *http.Client, extra ...string) *http.Client {
	out := &http.Client{}
	if c != nil {
		*out = *c
	}
	out.CheckRedirect = CheckRedirect
	out.Transport = Transport(out.Transport, extra...)
	return out
}

// Transport wraps next (http.DefaultTransport when nil) so that a request that a redirect took
// off the origin of the chain's first request — at this hop or an earlier one — carries no
// credential: every credential header, the extra ones named, and URL userinfo are removed,
// whoever set them. Put it under every round tripper that adds credentials.
func Transport(next http.RoundTripper, extra ...string) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	headers := append([]string(nil), credentialHeaders...)
	for _, h := range extra {
		headers = append(headers, http.CanonicalHeaderKey(h))
	}
	return &guard{next: next, headers: headers}
}

type guard struct {
	next    http.RoundTripper
	headers []string
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if !leftOrigin(req) {
		return g.next.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	for _, h := range g.headers {
		r.Header.Del(h)
		// A header set by map key, bypassing canonicalization, goes too.
		for k := range r.Header {
			if strings.EqualFold(k, h) {
				delete(r.Header, k)
			}
		}
	}
	r.URL.User = nil
	return g.next.RoundTrip(r)
}

// leftOrigin reports whether req is a redirect that left, at its hop or an earlier one, the
// origin of its chain's first request. net/http sets Response on every redirected request.
func leftOrigin(req *http.Request) bool {
	var hops []*url.URL
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
		hops = append(hops, first.URL)
	}
	if first == req {
		return false
	}
	if !Same(first.URL, req.URL) {
		return true
	}
	for _, u := range hops {
		if !Same(first.URL, u) {
			return true
		}
	}
	return false
}
