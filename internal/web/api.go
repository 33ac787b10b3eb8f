package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gitops-autoscaler/gitops-autoscaler/gitops"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// Options are what the service's HTTP face needs.
type Options struct {
	// Service is the running service: its status, history and evaluation on demand.
	Service *gitops.Service
	// CommitURL links a repository's commit on the status page: its host's answer (e.g.
	// gitops/host/hosts' CommitURLs); nil or "" links none.
	CommitURL func(repository, sha string) string
	// Gatherer is what /metrics serves.
	Gatherer prometheus.Gatherer
	// Token reads the API's bearer token at every request, so a rotated secret file takes
	// effect without a restart. Empty means none configured: the POST endpoints refuse.
	Token func() (secret.Value, error)
	// StatusToken reads the read-only token of the status page and GET /api/v1/policies at
	// every request; nil or empty leaves them open. The API token opens them too.
	StatusToken func() (secret.Value, error)
	// Limits bound the requests (limits.http; a zero field takes its default): the handler
	// caps bodies, NewServer and Listen the rest.
	Limits svcconfig.HTTPLimits
	// CycleTimeout is the deadline of one evaluation (default svcconfig.DefaultCycleTimeout): an
	// authorized evaluation on demand may wait for a running cycle and then run its own, so
	// it is given twice this, and the write timeout on top, to answer.
	CycleTimeout time.Duration
	// Series gives the status page's chart data; nil draws no metric line ("no data").
	Series SeriesSource
	// Now is the status page's clock.
	Now func() time.Time
	// Logger receives what a request cannot answer; nil discards.
	Logger *slog.Logger
	// Shard labels the status page ("1/3") when the service runs one shard of several.
	Shard string
}

// api answers the HTTP API and the webhooks.
type api struct {
	svc         *gitops.Service
	token       func() (secret.Value, error)
	statusToken func() (secret.Value, error)
	log         *slog.Logger
	// evaluation is how long an authorized evaluation on demand has to be read and answered.
	evaluation time.Duration
}

// NewHandler is the service's HTTP face: metrics, probes, the status API and page, and
// evaluation on demand (the API and the Alertmanager webhook).
func NewHandler(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Limits.SetDefaults()
	if o.CycleTimeout <= 0 {
		o.CycleTimeout = svcconfig.DefaultCycleTimeout
	}
	d := api{svc: o.Service, token: o.Token, statusToken: o.StatusToken, log: o.Logger,
		evaluation: 2*o.CycleTimeout + o.Limits.WriteTimeout.Duration}
	page := &statusPage{svc: o.Service, commitURL: o.CommitURL, series: o.Series, now: o.Now, log: o.Logger, shard: o.Shard}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !d.svc.Ready() {
			http.Error(w, "not ready: waiting for the first sync of every repository", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.HandleFunc("GET /api/v1/policies", func(w http.ResponseWriter, r *http.Request) {
		if !d.authorizeRead(w, r) {
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Policies []gitops.PolicyStatus `json:"policies"`
		}{d.svc.Status()})
	})
	mux.HandleFunc("POST /api/v1/evaluate", func(w http.ResponseWriter, r *http.Request) {
		if !d.authorize(w, r) {
			return
		}
		extendDeadlines(w, d.evaluation)
		d.evaluate(w, r, r.URL.Query()["policy"], nil)
	})
	mux.HandleFunc("POST /api/v1/alertmanager", func(w http.ResponseWriter, r *http.Request) {
		if !d.authorize(w, r) {
			return
		}
		var payload alertmanagerPayload
		if err := json.NewDecoder(r.Body).Decode(&payload); err != nil {
			if isBodyTooLarge(err) {
				writeError(w, http.StatusRequestEntityTooLarge, bodyTooLarge(int64(o.Limits.MaxBodyBytes)))
				return
			}
			writeError(w, http.StatusBadRequest, "the body is not an Alertmanager webhook payload: "+err.Error())
			return
		}
		extendDeadlines(w, d.evaluation)
		named := payload.policies()
		if len(named) == 0 {
			d.evaluate(w, r, nil, nil) // no alert names a policy: all
			return
		}
		// Alertmanager sends to every instance; each evaluates the named policies it serves.
		known, ignored := d.known(named)
		if len(known) == 0 {
			writeJSON(w, http.StatusOK, evaluateResponse{Results: []gitops.Result{}, Ignored: ignored})
			return
		}
		d.evaluate(w, r, known, ignored)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if d.authorizeRead(w, r) {
			page.ServeHTTP(w, r)
		}
	})
	return limitBodies(mux, int64(o.Limits.MaxBodyBytes))
}

// evaluateResponse is `evaluate -o json`'s document, plus what went wrong around it.
type evaluateResponse struct {
	Results []gitops.Result `json:"results"`
	Error   string          `json:"error,omitempty"`
	// Ignored lists the policies an Alertmanager payload named that this instance does not
	// serve (another shard's, or unknown).
	Ignored []string `json:"ignored,omitempty"`
}

func (d api) evaluate(w http.ResponseWriter, r *http.Request, only, ignored []string) {
	results, err := d.svc.EvaluateNow(r.Context(), only)
	if results == nil {
		results = []gitops.Result{}
	}
	resp := evaluateResponse{Results: results, Ignored: ignored}
	switch {
	case errors.Is(err, gitops.ErrUnknownPolicy):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case errors.Is(err, gitops.ErrShuttingDown):
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	case err != nil && len(results) == 0:
		d.log.Error("on-demand evaluation failed", "error", err)
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	case err != nil:
		resp.Error = err.Error()
	}
	writeJSON(w, http.StatusOK, resp)
}

// known splits names into those a served policy carries (by ID or name) and the rest.
func (d api) known(names []string) (known, ignored []string) {
	have := map[string]bool{}
	for _, st := range d.svc.Status() {
		have[st.ID] = true
		if st.Policy != nil {
			have[st.Policy.Metadata.Name] = true
		}
	}
	for _, n := range names {
		if have[n] {
			known = append(known, n)
		} else {
			ignored = append(ignored, n)
		}
	}
	return known, ignored
}

// authorize checks the bearer token. Without a configured token the endpoint is closed:
// evaluation on demand is never open by default. A refused request is answered at once and its
// connection closed: the rest of its body is not waited for.
func (d api) authorize(w http.ResponseWriter, r *http.Request) bool {
	want, err := d.token()
	if err != nil {
		d.log.Error("API token unreadable", "error", err)
		dropConnection(w)
		writeError(w, http.StatusInternalServerError, "the API token cannot be read; see the service log")
		return false
	}
	if want == "" {
		dropConnection(w)
		writeError(w, http.StatusForbidden, "evaluation on demand is disabled: no API token is configured. "+
			"Set http.tokenFile (or http.tokenEnv) in the service config to a file (variable) holding a token, "+
			"then call with the header \"Authorization: Bearer <token>\".")
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !tokenEqual(got, want) {
		dropConnection(w)
		w.Header().Set("WWW-Authenticate", `Bearer realm="gitops-autoscaler"`)
		writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return false
	}
	return true
}

// authorizeRead checks the status token, when one is configured, for the status page and GET
// /api/v1/policies: as a bearer token, or as the password of HTTP basic auth (any user name),
// which a browser asks for. The API token opens them too.
func (d api) authorizeRead(w http.ResponseWriter, r *http.Request) bool {
	if d.statusToken == nil {
		return true
	}
	status, err := d.statusToken()
	if err != nil {
		d.log.Error("status token unreadable", "error", err)
		writeError(w, http.StatusInternalServerError, "the status token cannot be read; see the service log")
		return false
	}
	if status == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		_, got, ok = r.BasicAuth()
	}
	if ok && tokenEqual(got, status) {
		return true
	}
	if ok && d.token != nil {
		if api, err := d.token(); err == nil && api != "" && tokenEqual(got, api) {
			return true
		}
	}
	dropConnection(w)
	w.Header().Set("WWW-Authenticate", `Basic realm="gitops-autoscaler status", charset="UTF-8"`)
	writeError(w, http.StatusUnauthorized, "missing or wrong status token: send it as a bearer token, or as the password of basic auth")
	return false
}

// tokenEqual compares a token sent with the one configured in constant time; hashing first
// makes it constant-time in the length too.
func tokenEqual(got string, want secret.Value) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// alertmanagerPayload is the part of Alertmanager's webhook payload (version 4) we read.
type alertmanagerPayload struct {
	Version string `json:"version"`
	Status  string `json:"status"`
	Alerts  []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

// policyLabel is the alert label that names the policy to evaluate.
const policyLabel = "autoscaler_policy"

// policies are the distinct policies the firing alerts name, sorted.
func (p alertmanagerPayload) policies() []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range p.Alerts {
		name := strings.TrimSpace(a.Labels[policyLabel])
		if a.Status != "firing" || name == "" || seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, struct {
		Error string `json:"error"`
	}{msg})
}
