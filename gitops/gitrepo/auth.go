package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/origin"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
)

// Git over HTTP(S) follows the one rule for credentials across redirects (internal/origin): a
// redirect of the remote to another origin is refused, and no request that left it carries the
// token. go-git keeps one HTTP client per scheme for the process; this package is its only user.
func init() {
	c := githttp.NewClient(origin.Client(nil))
	client.InstallProtocol("https", c)
	client.InstallProtocol("http", c)
}

// tokenUser is the username sent with a token; GitHub, GitLab and Gitea all accept it.
const tokenUser = "x-access-token"

// credentials are a remote's auth method and the secret strings it carries, so that errors
// can be scrubbed of them.
type credentials struct {
	method  transport.AuthMethod
	secrets []string
}

// Auth says how to authenticate to a remote: a token, a username and password, or an SSH key
// checked against known_hosts. Each secret is named by a file or an environment variable,
// never given inline. The caller converts its config (package gitops converts
// svcconfig.GitAuth, which has the same fields).
type Auth struct {
	TokenFile      string
	TokenEnv       string
	Username       string
	PasswordFile   string
	PasswordEnv    string
	SSHKeyFile     string
	KnownHostsFile string
}

// resolveAuth reads the secrets an Auth names (once, at Open) and builds the go-git
// auth method for the URL's kind. A token is sent as HTTP basic auth with the username
// "x-access-token" (or Auth.Username when set, e.g. "git" or "oauth2"); an SSH key is
// checked against known_hosts, never accepted blindly.
func resolveAuth(rawURL string, a *Auth, getenv func(string) string) (credentials, error) {
	// One rule for what a URL is, shared with config validation (gitname.Classify).
	kind, err := gitname.Classify(rawURL)
	if err != nil {
		return credentials{}, fmt.Errorf("remote URL %s: %w", secret.RedactURLs(rawURL), err)
	}
	if a == nil || *a == (Auth{}) {
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
		if kind != gitname.HTTPS && kind != gitname.HTTP {
			return credentials{}, fmt.Errorf("auth: a token or password needs an https URL, not %s", secret.RedactURLs(rawURL))
		}
		user := a.Username
		var pass secret.Value
		if hasToken {
			if user == "" {
				user = tokenUser
			}
			pass, err = secret.Read("git token", a.TokenFile, a.TokenEnv, lookupEnv(getenv))
		} else {
			if user == "" {
				return credentials{}, errors.New("auth: a password needs a username")
			}
			pass, err = secret.Read("git password", a.PasswordFile, a.PasswordEnv, lookupEnv(getenv))
		}
		if err != nil {
			return credentials{}, fmt.Errorf("auth: %w", err)
		}
		return credentials{
			method:  &githttp.BasicAuth{Username: user, Password: string(pass)},
			secrets: []string{string(pass)},
		}, nil

	case hasKey:
		if kind != gitname.SSH {
			return credentials{}, fmt.Errorf("auth: an SSH key needs an ssh URL, not %s", secret.RedactURLs(rawURL))
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

// lookupEnv adapts the workspace's getenv to secret.Read: a variable it answers empty
// for counts as unset.
func lookupEnv(getenv func(string) string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v := getenv(k)
		return v, v != ""
	}
}

// auth is the auth method for a network call: the credentials read at Open, or, with a token
// source, the token as it is now — which then joins the secrets scrubbed from errors.
func (w *Workspace) auth(ctx context.Context) (transport.AuthMethod, error) {
	if w.token == nil {
		return w.creds.method, nil
	}
	tok, err := w.token(ctx)
	if err != nil {
		return nil, secret.RedactError(fmt.Errorf("git token for %s: %w", w.url, err), w.creds.secrets...)
	}
	if tok == "" {
		return nil, fmt.Errorf("git token for %s: the token source gave an empty token", secret.RedactURLs(w.url))
	}
	if !slices.Contains(w.creds.secrets, tok) {
		w.creds.secrets = append(w.creds.secrets, tok)
	}
	return &githttp.BasicAuth{Username: w.tokenUser, Password: tok}, nil
}
