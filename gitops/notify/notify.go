package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // X-Hub-Signature is HMAC-SHA1 by GitHub's definition; sent beside the SHA-256 one
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/origin"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// The bounds of one call (docs/security.md).
const (
	// Timeout bounds one webhook call, from connecting to the end of its answer.
	Timeout = 5 * time.Second
	// MaxResponseBytes is the most of a webhook's answer that is read.
	MaxResponseBytes = 64 << 10
	// maxQuoted is how much of a refusing answer an error quotes.
	maxQuoted = 200
)

// The controllers, as Outcome.Controller and the metrics' label name them.
const (
	ControllerFlux   = "flux"
	ControllerArgoCD = "argocd"
)

// Push is what landed on a repository's branch: the event the webhooks are told of.
type Push struct {
	// Repository is the configured repository (its URL names it in the event).
	Repository svcconfig.Repository
	// Before is the branch's head before the push ("" when unknown), After its head now.
	Before, After string
	// Commits are the decisions' commits, each with the files it changed.
	Commits []Commit
	// Pusher names who pushed (the commit author's name).
	Pusher string
}

// Commit is one commit of a Push.
type Commit struct {
	ID    string
	Files []string
}

// Outcome is the result of one webhook call.
type Outcome struct {
	Controller string
	// Endpoint is the webhook's origin (scheme://host:port): its path is not printed, as a
	// Flux receiver's is a digest of its token.
	Endpoint string
	// Status is the HTTP status of the answer (0: none came).
	Status int
	Took   time.Duration
	// Err is why the call failed; nil when the controller accepted it (2xx).
	Err error
}

// Client calls the webhooks. The zero value is ready: http.DefaultTransport under the origin
// rule, Timeout, and secrets read by secret.Read.
type Client struct {
	// HTTP is the client whose transport is used (nil: a new one); its CheckRedirect is
	// replaced by the origin rule.
	HTTP   *http.Client
	Logger *slog.Logger
	// Timeout bounds one call (0: Timeout).
	Timeout time.Duration
	// ReadSecret reads a token or secret from its file at each call, so that a rotated secret
	// is picked up (nil: secret.Read).
	ReadSecret func(what, file string) (secret.Value, error)

	once   sync.Once
	client *http.Client
}

func (c *Client) init() {
	c.once.Do(func() {
		c.client = origin.Client(c.HTTP)
		if c.client.Timeout == 0 || c.client.Timeout > c.timeout() {
			c.client.Timeout = c.timeout()
		}
	})
}

func (c *Client) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return Timeout
}

func (c *Client) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

func (c *Client) readSecret(what, file string) (secret.Value, error) {
	if c.ReadSecret != nil {
		return c.ReadSecret(what, file)
	}
	return secret.Read(what, file, "", nil)
}

// Notify calls every webhook of targets about p, all at once, and returns their outcomes in
// the order of targets. It waits for each at most the client's timeout; a failure is logged
// and returned, never raised.
func (c *Client) Notify(ctx context.Context, targets []svcconfig.Notify, p Push) []Outcome {
	c.init()
	out := make([]Outcome, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			out[i] = c.call(ctx, t, p)
			log := c.logger().With("repository", p.Repository.Name, "controller", out[i].Controller, "endpoint", out[i].Endpoint,
				"status", out[i].Status, "took", out[i].Took.Round(time.Millisecond), "commit", p.After)
			if out[i].Err != nil {
				log.Warn("notify failed: the controller syncs at its next poll", "error", out[i].Err)
				return
			}
			log.Info("notified")
		})
	}
	wg.Wait()
	return out
}

// call makes one webhook call.
func (c *Client) call(ctx context.Context, t svcconfig.Notify, p Push) Outcome {
	start := time.Now()
	o := Outcome{}
	req, err := c.request(ctx, t, p, &o)
	if err != nil {
		o.Err = err
		return o
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	resp, err := c.client.Do(req.WithContext(ctx))
	o.Took = time.Since(start)
	if err != nil {
		o.Err = callError(err)
		return o
	}
	defer resp.Body.Close()
	o.Status = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes))
	o.Took = time.Since(start)
	if resp.StatusCode/100 != 2 {
		o.Err = fmt.Errorf("answered %s%s", resp.Status, quote(body))
		return o
	}
	if err != nil {
		o.Err = fmt.Errorf("reading the answer: %w", callError(err))
	}
	return o
}

// request builds the signed request of one target and fills o's controller and endpoint.
func (c *Client) request(ctx context.Context, t svcconfig.Notify, p Push, o *Outcome) (*http.Request, error) {
	var raw, kind, secretFile, what, repoURL string
	switch {
	case t.Flux != nil:
		o.Controller, raw, kind = ControllerFlux, t.Flux.ReceiverURL, t.Flux.Type
		secretFile, what = t.Flux.TokenFile, "flux receiver token"
		if kind == "" {
			kind = svcconfig.FluxReceiverGeneric
		}
	case t.ArgoCD != nil:
		o.Controller, raw, kind = ControllerArgoCD, t.ArgoCD.WebhookURL, svcconfig.FluxReceiverGitHub
		secretFile, what, repoURL = t.ArgoCD.SecretFile, "argocd webhook secret", t.ArgoCD.RepoURL
	default:
		return nil, errors.New("a notify entry without flux or argocd")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, errors.New("the webhook URL is not an absolute URL")
	}
	o.Endpoint = origin.Of(u)
	body, err := json.Marshal(pushEvent(p, repoURL))
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, errors.New("the webhook URL is not usable")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gitops-autoscaler")
	if kind == svcconfig.FluxReceiverGitHub {
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-GitHub-Delivery", deliveryID())
	}
	if secretFile == "" {
		return req, nil
	}
	secret, err := c.readSecret(what, secretFile)
	if err != nil {
		return nil, err
	}
	switch kind {
	case svcconfig.FluxReceiverGenericHMAC:
		req.Header.Set("X-Signature", "sha256="+sign(sha256.New, secret, body))
	case svcconfig.FluxReceiverGitHub:
		req.Header.Set("X-Hub-Signature-256", "sha256="+sign(sha256.New, secret, body))
		req.Header.Set("X-Hub-Signature", "sha1="+sign(sha1.New, secret, body))
	}
	return req, nil
}

// sign is the hex HMAC of body with the secret.
func sign(h func() hash.Hash, secret secret.Value, body []byte) string {
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// callError is a transport error without the request's URL (*url.Error prints it, and a Flux
// receiver's path is a digest of its token).
func callError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("no answer within the timeout: %w", ue.Err)
		}
		return ue.Err
	}
	return err
}

// quote is the start of a refusing answer, printable, for the error.
func quote(body []byte) string {
	s := strings.TrimSpace(string(body))
	if s == "" {
		return ""
	}
	if len(s) > maxQuoted {
		s = s[:maxQuoted] + "…"
	}
	return ": " + strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return ' '
	}, s)
}

func deliveryID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
