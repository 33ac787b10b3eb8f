package githubapp

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/origin"
)

// Config names a GitHub App installation and its private key.
type Config struct {
	AppID          int64
	InstallationID int64
	// PrivateKeyFile is the App's private key (PEM), as GitHub offers it for download.
	PrivateKeyFile string
	// APIURL is the REST API's base URL (default https://api.github.com/; GitHub Enterprise:
	// https://HOST/api/v3/).
	APIURL string
}

// Options shape a token source.
type Options struct {
	// HTTPClient carries the requests (default: one whose requests time out after 30s).
	HTTPClient *http.Client
	// Now is the clock tokens are minted and expire by (default time.Now).
	Now func() time.Time
}

// Token lifetimes. GitHub accepts a JWT that expires at most 10 minutes after it was issued,
// and advises to date iat 60 seconds back against clock drift; an installation token lasts an
// hour, and is replaced refreshBefore its end so that no request starts with a token about
// to expire.
const (
	jwtLifetime   = 9 * time.Minute
	jwtBackdate   = 60 * time.Second
	refreshBefore = 5 * time.Minute
)

// ErrMint means GitHub refused to mint an installation token: the App ID, the installation
// or the key is wrong, or the installation was suspended.
var ErrMint = errors.New("github app: could not mint an installation token")

// Tokens mints and refreshes the installation tokens of one App installation. It is safe for
// concurrent use; concurrent callers share one mint.
type Tokens struct {
	cfg    Config
	key    *rsa.PrivateKey
	client *http.Client
	now    func() time.Time
	mint   string // the access_tokens URL

	mu      sync.Mutex
	token   string
	expires time.Time
	mints   int
}

// New reads the App's private key and returns its installation's token source. It makes no
// request: the first Token call mints. Errors name the key file, never its content.
func New(cfg Config, opts Options) (*Tokens, error) {
	if cfg.AppID <= 0 || cfg.InstallationID <= 0 {
		return nil, errors.New("github app: appID and installationID are required")
	}
	data, err := os.ReadFile(cfg.PrivateKeyFile)
	if err != nil {
		return nil, fmt.Errorf("github app: read private key: %w", err) // *PathError: the path only
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(data)
	if err != nil {
		return nil, fmt.Errorf("github app: private key %s is not an RSA private key in PEM form", cfg.PrivateKeyFile)
	}
	api := cfg.APIURL
	if api == "" {
		api = "https://api.github.com/"
	}
	base, err := url.Parse(api)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("github app: apiURL %q is not an http(s) URL", api)
	}
	base.User = nil
	base.Path = strings.TrimSuffix(base.Path, "/") + fmt.Sprintf("/app/installations/%d/access_tokens", cfg.InstallationID)
	t := &Tokens{cfg: cfg, key: key, client: opts.HTTPClient, now: opts.Now, mint: base.String()}
	if t.client == nil {
		t.client = origin.Client(&http.Client{Timeout: 30 * time.Second})
	}
	if t.now == nil {
		t.now = time.Now
	}
	return t, nil
}

// String names the installation, for errors and logs.
func (t *Tokens) String() string {
	return fmt.Sprintf("github app %d installation %d", t.cfg.AppID, t.cfg.InstallationID)
}

// Token returns a valid installation token, minting a new one when there is none or the one
// held ends within five minutes. The token is a secret: it goes in an Authorization header or
// a Git credential, never in a log line or an error.
func (t *Tokens) Token(ctx context.Context) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && t.now().Before(t.expires.Add(-refreshBefore)) {
		return t.token, nil
	}
	tok, exp, err := t.mintToken(ctx)
	if err != nil {
		return "", err
	}
	t.token, t.expires = tok, exp
	t.mints++
	return tok, nil
}

// Invalidate drops the token held if it is tok, so that the next Token mints another: for a
// token the host answered 401 to (revoked, or the installation's permissions changed).
func (t *Tokens) Invalidate(tok string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tok != "" && t.token == tok {
		t.token, t.expires = "", time.Time{}
	}
}

// Mints counts the tokens minted so far.
func (t *Tokens) Mints() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.mints
}

// appJWT is the App's own credential: a JWT signed with its private key, valid for minutes.
func (t *Tokens) appJWT() (string, error) {
	now := t.now()
	claims := jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(t.cfg.AppID, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-jwtBackdate)),
		ExpiresAt: jwt.NewNumericDate(now.Add(jwtLifetime)),
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(t.key)
	if err != nil {
		return "", fmt.Errorf("%s: sign the app JWT: %w", t, err)
	}
	return s, nil
}

// mintToken asks GitHub for a new installation token.
func (t *Tokens) mintToken(ctx context.Context) (string, time.Time, error) {
	signed, err := t.appJWT()
	if err != nil {
		return "", time.Time{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.mint, http.NoBody)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", t, err)
	}
	req.Header.Set("Authorization", "Bearer "+signed)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := t.client.Do(req)
	if err != nil {
		// *url.Error carries the method and URL, neither of them secret.
		return "", time.Time{}, fmt.Errorf("%s: mint a token: %w", t, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: mint a token: read the answer: %w", t, err)
	}
	if resp.StatusCode != http.StatusCreated {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &e)
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return "", time.Time{}, fmt.Errorf("%s: %w: HTTP %d: %s", t, ErrMint, resp.StatusCode, e.Message)
	}
	var out struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&out); err != nil || out.Token == "" || out.ExpiresAt.IsZero() {
		return "", time.Time{}, fmt.Errorf("%s: %w: the answer has no token and expiry", t, ErrMint)
	}
	return out.Token, out.ExpiresAt, nil
}
