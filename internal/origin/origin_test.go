package origin

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSame(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"https://prom.example.com/api", "https://prom.example.com/other?x=1", true},
		{"https://prom.example.com", "https://PROM.Example.com:443", true},
		{"http://prom.example.com", "http://prom.example.com:80", true},
		{"http://prom.example.com:0080", "http://prom.example.com", true},
		{"https://u:p@prom.example.com", "https://prom.example.com", true},
		{"http://[::1]:9090", "http://[0:0:0:0:0:0:0:1]:9090", true},
		{"https://prom.example.com", "http://prom.example.com", false},
		{"http://prom.example.com", "https://prom.example.com", false},
		{"https://prom.example.com", "https://prom.example.com:8443", false},
		{"http://127.0.0.1:9090", "http://127.0.0.1:9091", false},
		{"http://127.0.0.1:9090", "http://localhost:9090", false},
		{"https://example.com", "https://api.example.com", false},
		{"https://example.com", "https://example.com.", false},
		{"http://127.0.0.1", "http://[::ffff:127.0.0.1]", false},
	}
	for _, tt := range tests {
		t.Run(tt.a+" "+tt.b, func(t *testing.T) {
			a, err := url.Parse(tt.a)
			require.NoError(t, err)
			b, err := url.Parse(tt.b)
			require.NoError(t, err)
			assert.Equal(t, tt.same, Same(a, b))
			assert.Equal(t, tt.same, Same(b, a), "symmetric")
		})
	}
}

// recorder is a server that records the headers of every request it gets, by Host.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string][]http.Header
}

func newRecorder(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *recorder {
	rec := &recorder{seen: map[string][]http.Header{}}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen[r.Host] = append(rec.seen[r.Host], r.Header.Clone())
		rec.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (r *recorder) headers(host string) []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[host]
}

// inject adds credentials to every request, as the clients' auth round trippers do.
type inject struct{ next http.RoundTripper }

func (i inject) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer tok")
	r.Header.Set("X-Scope-OrgID", "team-a")
	r.Header.Set("X-Custom-Key", "k")
	r.Header["PRIVATE-TOKEN"] = []string{"glpat"} // set by map key, as some clients do
	return i.next.RoundTrip(r)
}

func TestCheckRedirectRefusesAnotherOrigin(t *testing.T) {
	other := newRecorder(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("other")) })
	first := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/landed", http.StatusFound)
		case "/away":
			http.Redirect(w, r, other.URL+"/x?token=abc", http.StatusTemporaryRedirect)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		default:
			_, _ = w.Write([]byte("landed"))
		}
	})
	c := Client(&http.Client{Transport: inject{http.DefaultTransport}})
	c.Transport = inject{c.Transport}

	resp, err := c.Get(first.URL + "/same")
	require.NoError(t, err, "a redirect within the origin is followed")
	resp.Body.Close()
	assert.Equal(t, "/landed", resp.Request.URL.Path)

	_, err = c.Get(first.URL + "/away")
	var re *RedirectError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, &RedirectError{From: Of(mustParse(t, first.URL)), To: Of(mustParse(t, other.URL))}, re)
	assert.NotContains(t, re.Error(), "token=abc", "an origin, not the URL")
	assert.Contains(t, re.Error(), "another origin: not followed")
	assert.Empty(t, other.headers(strings.TrimPrefix(other.URL, "http://")), "nothing reached the other origin")

	_, err = c.Get(first.URL + "/loop")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stopped after 10 redirects")
}

// TestTransportStripsCredentialsOffTheOrigin pins the second line of the rule: for a client
// whose CheckRedirect follows any redirect, the transport removes every credential header —
// those net/http copies and those a round tripper above it adds — once the chain left the
// first request's origin, and keeps them within it.
func TestTransportStripsCredentialsOffTheOrigin(t *testing.T) {
	var back string
	other := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/back" {
			http.Redirect(w, r, back, http.StatusFound)
			return
		}
		_, _ = w.Write([]byte("other"))
	})
	first := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/landed", http.StatusFound)
		case "/roundtrip":
			http.Redirect(w, r, other.URL+"/back", http.StatusFound)
		case "/same":
			http.Redirect(w, r, "/landed", http.StatusFound)
		default:
			_, _ = w.Write([]byte("landed"))
		}
	})
	back = first.URL + "/home"
	c := &http.Client{Transport: inject{Transport(nil, "X-Custom-Key")}}
	u := mustParse(t, first.URL)
	u.User = url.UserPassword("user", "pw")
	for _, path := range []string{"/away", "/roundtrip", "/same"} {
		u.Path = path
		req, err := http.NewRequest(http.MethodGet, u.String(), nil)
		require.NoError(t, err)
		req.Header.Set("Cookie", "session=1")
		resp, err := c.Do(req)
		require.NoError(t, err, path)
		resp.Body.Close()
	}
	otherHost := strings.TrimPrefix(other.URL, "http://")
	require.Len(t, other.headers(otherHost), 2)
	for _, h := range other.headers(otherHost) {
		for _, name := range []string{"Authorization", "X-Scope-Orgid", "X-Custom-Key", "PRIVATE-TOKEN", "Private-Token", "Cookie"} {
			assert.Empty(t, h[name], name)
		}
	}
	firstHost := strings.TrimPrefix(first.URL, "http://")
	got := first.headers(firstHost)
	require.Len(t, got, 5) // /away, /roundtrip, /home (back from the other origin), /same, /landed
	assert.Equal(t, "Bearer tok", got[0].Get("Authorization"), "the first request carries them")
	assert.Empty(t, got[2].Get("Authorization"), "once the chain left the origin, they stay off")
	assert.Empty(t, got[2].Get("X-Scope-Orgid"))
	assert.Equal(t, "Bearer tok", got[4].Get("Authorization"), "a redirect within the origin keeps them")
	assert.Equal(t, "team-a", got[4].Get("X-Scope-Orgid"))
}

func TestRedirectErrorIsFoundThroughTheClientsError(t *testing.T) {
	err := error(&url.Error{Op: "Get", URL: "http://a/", Err: &RedirectError{From: "http://a", To: "http://b"}})
	var re *RedirectError
	assert.True(t, errors.As(err, &re))
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// FuzzCheckRedirect: for any two URLs, the origin rule is reflexive and symmetric, a redirect
// is followed exactly when the origins are the same, and a refusal names origins only — never
// the userinfo, path or query of either URL.
func FuzzCheckRedirect(f *testing.F) {
	for _, seed := range [][2]string{
		{"https://prom.example.com/api", "https://prom.example.com:443/x"},
		{"https://prom.example.com", "http://prom.example.com"},
		{"http://127.0.0.1:9090", "http://localhost:9090"},
		{"https://u:secret@git.example.com/r.git", "https://evil.example.com/r.git?t=secret"},
		{"http://[::1]:80/", "http://[0::1]/"},
		{"https://EXAMPLE.com", "https://example.com."},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ua, err := url.Parse(a)
		if err != nil || ua.Host == "" {
			return
		}
		ub, err := url.Parse(b)
		if err != nil || ub.Host == "" {
			return
		}
		assert.True(t, Same(ua, ua), "reflexive")
		assert.Equal(t, Same(ua, ub), Same(ub, ua), "symmetric")
		err = CheckRedirect(&http.Request{URL: ub}, []*http.Request{{URL: ua}})
		if Same(ua, ub) {
			assert.NoError(t, err)
			return
		}
		var re *RedirectError
		require.ErrorAs(t, err, &re)
		for _, u := range []*url.URL{ua, ub} {
			if p, ok := u.User.Password(); ok && p != "" && !strings.Contains(u.Host, p) && !strings.Contains(u.Scheme, p) {
				assert.NotContains(t, re.Error(), "@", "no userinfo")
			}
		}
	})
}
