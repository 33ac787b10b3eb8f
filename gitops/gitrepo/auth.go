package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// Remote URL kinds.
const (
	kindHTTP = "http"
	kindSSH  = "ssh"
	kindFile = "file"
)

// tokenUser is the username sent with a token; GitHub, GitLab and Gitea all accept it.
const tokenUser = "x-access-token"

// remoteKind classifies a remote URL: https/http, ssh (ssh:// and scp-like git@host:path), or
// file (file:// and local paths).
func remoteKind(rawURL string) (string, error) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return "", fmt.Errorf("parse remote URL %s: %w", RedactURL(rawURL), err)
	}
	switch ep.Protocol {
	case "https", "http":
		return kindHTTP, nil
	case "ssh":
		return kindSSH, nil
	case "file":
		return kindFile, nil
	}
	return "", fmt.Errorf("remote URL %s: unsupported protocol %q", RedactURL(rawURL), ep.Protocol)
}

// credentials are a remote's auth method and the secret strings it carries, so that errors
// can be scrubbed of them.
type credentials struct {
	method  transport.AuthMethod
	secrets []string
}

// resolveAuth reads the secrets a policy.GitAuth names (once, at Open) and builds the go-git
// auth method for the URL's kind. A token is sent as HTTP basic auth with the username
// "x-access-token" (or GitAuth.Username when set, e.g. "git" or "oauth2"); an SSH key is
// checked against known_hosts, never accepted blindly.
func resolveAuth(rawURL string, a *policy.GitAuth, getenv func(string) string) (credentials, error) {
	kind, err := remoteKind(rawURL)
	if err != nil {
		return credentials{}, err
	}
	if a == nil || *a == (policy.GitAuth{}) {
		return credentials{}, nil
	}
	hasToken := a.TokenFile != "" || a.TokenEnv != ""
	hasPassword := a.PasswordFile != "" || a.PasswordEnv != ""
	hasKey := a.SSHKeyFile != ""
	forms := 0
	for _, b := range []bool{hasToken, hasPassword, hasKey} {
		if b {
			forms++
		}
	}
	if forms > 1 {
		return credentials{}, errors.New("auth: use one of token, username and password, or SSH key")
	}

	switch {
	case hasToken, hasPassword:
		if kind != kindHTTP {
			return credentials{}, fmt.Errorf("auth: a token or password needs an https URL, not %s", RedactURL(rawURL))
		}
		user := a.Username
		var secret policy.Secret
		if hasToken {
			if user == "" {
				user = tokenUser
			}
			secret, err = readSecret("token", a.TokenFile, a.TokenEnv, getenv)
		} else {
			if user == "" {
				return credentials{}, errors.New("auth: a password needs a username")
			}
			secret, err = readSecret("password", a.PasswordFile, a.PasswordEnv, getenv)
		}
		if err != nil {
			return credentials{}, err
		}
		return credentials{
			method:  &githttp.BasicAuth{Username: user, Password: string(secret)},
			secrets: []string{string(secret)},
		}, nil

	case hasKey:
		if kind != kindSSH {
			return credentials{}, fmt.Errorf("auth: an SSH key needs an ssh URL, not %s", RedactURL(rawURL))
		}
		ep, err := transport.NewEndpoint(rawURL)
		if err != nil {
			return credentials{}, fmt.Errorf("auth: %w", err)
		}
		user := ep.User
		if user == "" {
			user = "git"
		}
		keys, err := gitssh.NewPublicKeysFromFile(user, a.SSHKeyFile, "")
		if err != nil {
			return credentials{}, fmt.Errorf("auth: read SSH key %s: %w", a.SSHKeyFile, err)
		}
		// Without a known_hosts file the system's are used (~/.ssh/known_hosts,
		// /etc/ssh/ssh_known_hosts); an unknown host key is always an error.
		var files []string
		if a.KnownHostsFile != "" {
			files = []string{a.KnownHostsFile}
		}
		cb, err := gitssh.NewKnownHostsCallback(files...)
		if err != nil {
			return credentials{}, fmt.Errorf("auth: read known_hosts: %w", err)
		}
		keys.HostKeyCallback = cb
		return credentials{method: keys}, nil

	default: // a username alone, or a known_hosts file alone
		return credentials{}, errors.New("auth: incomplete: give a token, a username and password, or an SSH key")
	}
}

// readSecret reads a secret from a file (trailing newline trimmed) or an environment variable.
func readSecret(what, file, env string, getenv func(string) string) (policy.Secret, error) {
	var v string
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			// The path is configuration, not a secret; the error never holds the content.
			return "", fmt.Errorf("auth: read %s file %s: %w", what, file, err)
		}
		v = strings.TrimSpace(string(b))
	default:
		v = strings.TrimSpace(getenv(env))
		if v == "" {
			return "", fmt.Errorf("auth: %s environment variable %s is empty or unset", what, env)
		}
	}
	if v == "" {
		return "", fmt.Errorf("auth: %s file %s is empty", what, file)
	}
	return policy.Secret(v), nil
}

// userinfoRE matches the userinfo of a URL: scheme://user:password@.
var userinfoRE = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.\-]*://)[^/@\s]+@`)

// RedactURL hides the userinfo of every URL in s: `https://x:tok@host/r` becomes
// `https://<redacted>@host/r`. Use it on any text that may carry a remote URL.
func RedactURL(s string) string {
	return userinfoRE.ReplaceAllString(s, "${1}<redacted>@")
}

// redactedError carries a scrubbed message. It answers errors.Is for the error it wraps (so
// ErrPushRace and context errors still classify) but does not unwrap to it, so the raw text
// cannot leak through errors.Unwrap.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Is reports whether the scrubbed error is, or wraps, target.
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }

// redact scrubs an error of URL userinfo and of the given secret strings.
func redact(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := RedactURL(err.Error())
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "<redacted>")
		}
	}
	return &redactedError{msg: msg, err: err}
}

// auth is the auth method for a network call: the credentials read at Open, or, with a token
// source, the token as it is now — which then joins the secrets scrubbed from errors.
func (w *Workspace) auth(ctx context.Context) (transport.AuthMethod, error) {
	if w.token == nil {
		return w.creds.method, nil
	}
	tok, err := w.token(ctx)
	if err != nil {
		return nil, redact(fmt.Errorf("git token for %s: %w", w.url, err), w.creds.secrets)
	}
	if tok == "" {
		return nil, fmt.Errorf("git token for %s: the token source gave an empty token", RedactURL(w.url))
	}
	if !slices.Contains(w.creds.secrets, tok) {
		w.creds.secrets = append(w.creds.secrets, tok)
	}
	return &githttp.BasicAuth{Username: w.tokenUser, Password: tok}, nil
}
