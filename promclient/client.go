package promclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/httpretry"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/origin"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// Retry defaults: a handful of attempts, backing off from 200ms to at most 5s. The caller's
// context deadline bounds them all.
const (
	defaultMaxAttempts = 4
	defaultBackoffBase = 200 * time.Millisecond
	defaultBackoffMax  = 5 * time.Second
)

// Client queries one Prometheus server. It adds the server's authentication and headers to
// every request, bounds each query by the server's timeout, the number of concurrent queries by
// its QueryConcurrency and each answer by limits.prometheus, and retries transient failures. It
// is safe for concurrent use.
type Client struct {
	name    string
	http    *http.Client
	base    *url.URL // the server's URL; the API's paths are joined to its path
	limits  svcconfig.PrometheusLimits
	timeout time.Duration
	log     *slog.Logger
	secrets []string // the URL's userinfo and the secrets read at New
	auth    *authTransport
	slots   chan struct{}
	warned  sync.Map // query text → struct{}: warnings are logged once per query
}

// Option configures a Client.
type Option func(*options)

type options struct {
	httpClient  *http.Client
	log         *slog.Logger
	now         func() time.Time
	sleep       func(context.Context, time.Duration) error
	jitter      func(time.Duration) time.Duration
	maxAttempts int
	backoffBase time.Duration
	backoffMax  time.Duration
	concurrency int
	limits      svcconfig.PrometheusLimits
}

// WithHTTPClient sets the HTTP client whose transport carries the requests. Its transport is
// wrapped (never modified) to add authentication, headers and retries.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithLogger sets the logger for query warnings and retries.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithClock sets the clock used to interpret Retry-After dates and remaining deadlines.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithSleep sets how the client waits between attempts. It must return early with the
// context's error when the context ends. Tests pass a function that records the duration.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) { o.sleep = sleep }
}

// WithJitter sets how a backoff duration d is randomized; the default picks uniformly from
// [d/2, d).
func WithJitter(jitter func(d time.Duration) time.Duration) Option {
	return func(o *options) { o.jitter = jitter }
}

// WithRetry sets the number of attempts per query (1 disables retries) and the exponential
// backoff's first and largest wait.
func WithRetry(maxAttempts int, base, maxWait time.Duration) Option {
	return func(o *options) {
		o.maxAttempts, o.backoffBase, o.backoffMax = maxAttempts, base, maxWait
	}
}

// WithConcurrency overrides the server's QueryConcurrency: how many queries may be in flight
// to this server at once.
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = n } }

// WithLimits bounds every answer (limits.prometheus); a zero field takes its default.
func WithLimits(l svcconfig.PrometheusLimits) Option { return func(o *options) { o.limits = l } }

func buildOptions(opts []Option) options {
	o := options{
		maxAttempts: defaultMaxAttempts,
		backoffBase: defaultBackoffBase,
		backoffMax:  defaultBackoffMax,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.maxAttempts < 1 {
		o.maxAttempts = 1
	}
	o.limits.SetDefaults()
	return o
}

// New returns a client for one configured server. The TLS CA file is read now; secrets are
// read now to fail early and again at every request, so a rotated token is picked up without
// a restart. New fails when a secret or the CA file cannot be read.
func New(server svcconfig.PrometheusServer, opts ...Option) (*Client, error) {
	o := buildOptions(opts)
	u, err := url.Parse(server.URL)
	name := server.Name
	switch {
	case name != "":
	case err != nil:
		name = "<invalid url>" // the text does not parse: nothing of it is shown
	default:
		name = secret.RedactURLs(server.URL)
	}
	if err != nil {
		// url.Parse errors quote the whole URL, userinfo included: say only what is wrong.
		return nil, fmt.Errorf("prometheus %s: invalid url", name)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("prometheus %s: url scheme must be http or https, not %q", name, u.Scheme)
	}

	auth, err := newAuthTransport(server)
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", name, err)
	}
	var secrets []string
	if u.User != nil {
		secrets = append(secrets, u.User.String())
		if p, ok := u.User.Password(); ok && p != "" {
			// net/http sends URL userinfo as a basic-auth header: redact an echo of it too.
			secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+p)), p)
		}
	}
	secrets = append(secrets, auth.staticSecrets()...)

	base := http.DefaultTransport
	hc := http.Client{}
	if o.httpClient != nil {
		hc = *o.httpClient
		if hc.Transport != nil {
			base = hc.Transport
		}
	}
	if server.TLS != nil {
		tr, err := tlsTransport(base, server.TLS)
		if err != nil {
			return nil, fmt.Errorf("prometheus %s: %w", name, err)
		}
		base = tr
	}
	// Credentials stay on the server: a redirect to another origin is refused, and the
	// transport under the auth strips them from any request that left it (internal/origin).
	custom := make([]string, 0, len(server.Headers))
	for k := range server.Headers {
		custom = append(custom, k)
	}
	auth.next = origin.Transport(base, custom...)
	hc.CheckRedirect = origin.CheckRedirect
	hc.Transport = httpretry.Policy{
		MaxAttempts: o.maxAttempts, Base: o.backoffBase, Max: o.backoffMax,
		Now: o.now, Sleep: o.sleep, Jitter: o.jitter, Log: o.log.With("prometheus", name),
	}.Transport(auth)

	timeout := server.Timeout.Duration
	if timeout <= 0 {
		timeout = svcconfig.DefaultPromTimeout
	}
	concurrency := server.QueryConcurrency
	if o.concurrency > 0 {
		concurrency = o.concurrency
	}
	if concurrency <= 0 {
		concurrency = svcconfig.DefaultQueryConcurrency
	}
	return &Client{
		name:    name,
		http:    &hc,
		base:    u,
		limits:  o.limits,
		timeout: timeout,
		log:     o.log.With("prometheus", name),
		secrets: secrets,
		auth:    auth,
		slots:   make(chan struct{}, concurrency),
	}, nil
}

// Name is the server's configured name (or its redacted URL for an unnamed server).
func (c *Client) Name() string { return c.name }

// Concurrency is how many queries may be in flight to this server at once.
func (c *Client) Concurrency() int { return cap(c.slots) }

// Query runs an instant query at the given instant (the server's now when at is zero). The
// error names the server and the query and never contains a credential.
func (c *Client) Query(ctx context.Context, q string, at time.Time) (model.Value, error) {
	form := url.Values{"query": {q}, "timeout": {c.timeout.String()}}
	if !at.IsZero() {
		form.Set("time", formatTime(at))
	}
	return c.do(ctx, q, func(ctx context.Context) (model.Value, []string, error) {
		return c.post(ctx, "api/v1/query", form)
	})
}

// QueryRange runs a range query. The error names the server and the query and never contains
// a credential.
func (c *Client) QueryRange(ctx context.Context, q string, r v1.Range) (model.Value, error) {
	form := url.Values{
		"query": {q}, "start": {formatTime(r.Start)}, "end": {formatTime(r.End)},
		"step":    {strconv.FormatFloat(r.Step.Seconds(), 'f', -1, 64)},
		"timeout": {c.timeout.String()},
	}
	return c.do(ctx, q, func(ctx context.Context) (model.Value, []string, error) {
		return c.post(ctx, "api/v1/query_range", form)
	})
}

// post sends a query to an endpoint of the query API as a form, as Prometheus's own client
// does, and again as a GET when the server refuses the POST (403, 405 or 501: a read-only
// proxy in front). The answer is read under the client's limits.
func (c *Client) post(ctx context.Context, endpoint string, form url.Values) (model.Value, []string, error) {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + endpoint
	u.RawPath = ""
	body := form.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	switch resp.StatusCode {
	case http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusNotImplemented:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		_ = resp.Body.Close()
		u.RawQuery = body
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil); err != nil {
			return nil, nil, err
		}
		if resp, err = c.http.Do(req); err != nil {
			return nil, nil, err
		}
	}
	defer resp.Body.Close()
	return readAnswer(resp, c.limits)
}

// formatTime writes an instant as the API takes it: unix seconds with a fraction.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.Unix())+float64(t.Nanosecond())/1e9, 'f', -1, 64)
}

func (c *Client) do(ctx context.Context, q string, run func(context.Context) (model.Value, []string, error)) (model.Value, error) {
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return nil, fmt.Errorf("prometheus %s: query %q: waiting for a free connection: %w", c.name, q, ctx.Err())
	}
	// The timeout bounds the query including its retries; the caller's deadline still applies.
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	v, warnings, err := run(ctx)
	if len(warnings) > 0 {
		if _, seen := c.warned.LoadOrStore(q, struct{}{}); !seen {
			c.log.Warn("prometheus query warnings", "query", q, "warnings", c.redactText(strings.Join(warnings, "; ")))
		}
	}
	if err != nil {
		secrets := append(slices.Clone(c.secrets), c.auth.staticSecrets()...)
		return nil, &QueryError{Server: c.name, Query: q, cause: secret.RedactError(err, secrets...)}
	}
	return v, nil
}

// redactText replaces every credential of the server in s: those known at New and the ones
// current now (a token file may have been rotated since).
func (c *Client) redactText(s string) string {
	return secret.Redact(s, append(slices.Clone(c.secrets), c.auth.staticSecrets()...)...)
}

// QueryError is a failed query. Its text names the server and the query and has the URL
// userinfo and every known credential of the server scrubbed. It unwraps to that scrubbed
// cause, a *secret.RedactedError: errors.Is still sees a deadline or a cancellation, but the
// raw error, which may quote a credential, cannot be reached (the one rule for scrubbed errors).
type QueryError struct {
	Server string
	Query  string
	cause  error
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("prometheus %s: query %q: %s", e.Server, e.Query, e.cause)
}

// Unwrap gives the scrubbed cause.
func (e *QueryError) Unwrap() error { return e.cause }

// authTransport adds the server's credentials and headers to each request. Secrets are read
// at every request (svcconfig.PrometheusServer.ReadBearerToken, BasicAuth.ReadPassword), so a
// rotated token file is picked up without a restart.
type authTransport struct {
	next   http.RoundTripper
	server svcconfig.PrometheusServer
}

func newAuthTransport(s svcconfig.PrometheusServer) (*authTransport, error) {
	t := &authTransport{server: s}
	// Read once now so a wrong path or unset variable fails at startup, not at the first cycle.
	if _, err := t.token(); err != nil {
		return nil, err
	}
	if _, err := t.password(); err != nil {
		return nil, err
	}
	return t, nil
}

// staticSecrets are the secrets as they read now, for redacting error text.
func (t *authTransport) staticSecrets() []string {
	var out []string
	if tok, err := t.token(); err == nil && tok != "" {
		out = append(out, string(tok))
	}
	if pw, err := t.password(); err == nil && pw != "" {
		// The header carries user:password in base64; an echo of it is a leak too.
		cred := base64.StdEncoding.EncodeToString([]byte(t.server.BasicAuth.Username + ":" + string(pw)))
		out = append(out, cred, string(pw))
	}
	return out
}

func (t *authTransport) token() (secret.Value, error) { return t.server.ReadBearerToken() }

func (t *authTransport) password() (secret.Value, error) {
	if t.server.BasicAuth == nil {
		return "", nil
	}
	return t.server.BasicAuth.ReadPassword()
}

// RoundTrip implements http.RoundTripper.
func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range t.server.Headers {
		req.Header.Set(k, v)
	}
	tok, err := t.token()
	if err != nil {
		return nil, httpretry.Permanent{Err: err}
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+string(tok))
	}
	if t.server.BasicAuth != nil {
		pw, err := t.password()
		if err != nil {
			return nil, httpretry.Permanent{Err: err}
		}
		req.SetBasicAuth(t.server.BasicAuth.Username, string(pw))
	}
	return t.next.RoundTrip(req)
}

func tlsTransport(base http.RoundTripper, cfg *svcconfig.TLSConfig) (http.RoundTripper, error) {
	bt, ok := base.(*http.Transport)
	if !ok {
		return nil, errors.New("tls: settings need an *http.Transport, the given HTTP client has another transport")
	}
	tr := bt.Clone()
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if tr.TLSClientConfig != nil {
		tc = tr.TLSClientConfig.Clone()
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.caFile %s: no PEM certificate found", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	tc.InsecureSkipVerify = cfg.InsecureSkipVerify //nolint:gosec // an explicit, documented opt-in
	tr.TLSClientConfig = tc
	return tr, nil
}
