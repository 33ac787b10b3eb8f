package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Test App identity: a server made WithApp mints installation tokens for this App.
const (
	DefaultAppID          = 1042
	DefaultInstallationID = 7001
)

// installationTokenLifetime is how long GitHub's installation tokens last.
const installationTokenLifetime = time.Hour

// app is a GitHub App installed on the server's repository.
type app struct {
	id, installation int64
	key              *rsa.PrivateKey
	tokens           map[string]time.Time // minted token → expiry
	mints            int
}

// WithApp installs a GitHub App (DefaultAppID, DefaultInstallationID) on the repository, with
// a fresh RSA key: POST /app/installations/{id}/access_tokens then mints installation tokens
// for a JWT signed by that key, and the API and the Git server accept them until they expire
// an hour later (by the server's clock).
func WithApp() Option {
	return func(s *Server) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			s.t.Fatalf("githubtest: app key: %v", err)
		}
		s.app = &app{id: DefaultAppID, installation: DefaultInstallationID, key: key, tokens: map[string]time.Time{}}
	}
}

// AppPrivateKeyPEM is the App's private key as GitHub offers it for download (PKCS#1 PEM).
func (s *Server) AppPrivateKeyPEM() []byte {
	s.t.Helper()
	if s.app == nil {
		s.t.Fatalf("githubtest: no app: use WithApp")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(s.app.key)})
}

// MintedTokens counts the installation tokens minted.
func (s *Server) MintedTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.app == nil {
		return 0
	}
	return s.app.mints
}

// IssuedTokens lists every installation token minted, expired ones included, so that a test
// can look for them where no secret may appear.
func (s *Server) IssuedTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.app == nil {
		return nil
	}
	out := make([]string, 0, len(s.app.tokens))
	for t := range s.app.tokens {
		out = append(out, t)
	}
	return out
}

// validToken reports whether the server accepts tok now: the static token, or an installation
// token that has not expired. The caller holds s.mu.
func (s *Server) validToken(tok string, now time.Time) bool {
	if tok == "" {
		return false
	}
	if s.token != "" && tok == s.token {
		return true
	}
	if s.app == nil {
		return false
	}
	exp, ok := s.app.tokens[tok]
	return ok && now.Before(exp)
}

// gitCredentials is what the Git server accepts besides its own password: a valid token with
// the username GitHub documents for tokens over HTTPS.
func (s *Server) gitCredentials(user, password string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return user == "x-access-token" && s.validToken(password, s.now())
}

// mintToken serves POST /app/installations/{id}/access_tokens. GitHub checks the JWT: signed
// with RS256 by the App's key, issued by the App ID, not expired, and expiring at most ten
// minutes after it was issued; then the installation.
func (s *Server) mintToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.app == nil {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return
	}
	if msg := s.checkJWT(raw, now); msg != "" {
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	if id, err := strconv.ParseInt(r.PathValue("installation"), 10, 64); err != nil || id != s.app.installation {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	buf := make([]byte, 18)
	_, _ = rand.Read(buf)
	tok := "ghs_" + hex.EncodeToString(buf)
	exp := now.Add(installationTokenLifetime).UTC().Truncate(time.Second)
	s.app.tokens[tok] = exp
	s.app.mints++
	writeJSON(w, http.StatusCreated, map[string]any{
		"token":                tok,
		"expires_at":           exp.Format(time.RFC3339),
		"permissions":          map[string]string{"contents": "write", "pull_requests": "write", "metadata": "read"},
		"repository_selection": "selected",
	})
}

// checkJWT returns GitHub's message for a JWT it refuses, "" for a good one.
func (s *Server) checkJWT(raw string, now time.Time) string {
	var claims jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return &s.app.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithLeeway(0))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	case err != nil:
		return "A JSON web token could not be decoded"
	case claims.IssuedAt == nil || claims.ExpiresAt == nil:
		return "'Issued at' claim ('iat') and 'Expiration time' claim ('exp') are required"
	case claims.IssuedAt.After(now.Add(time.Minute)):
		return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	case claims.ExpiresAt.Sub(claims.IssuedAt.Time) > 10*time.Minute:
		return "'Expiration time' claim ('exp') is too far in the future"
	case claims.Issuer != strconv.FormatInt(s.app.id, 10):
		return "Integration not found"
	}
	return ""
}
