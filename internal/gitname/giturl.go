package gitname

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Transport is how a repository URL reaches its remote.
type Transport string

// The transports a repository URL may name.
const (
	HTTPS Transport = "https"
	HTTP  Transport = "http"
	// SSH is ssh://host/path or Git's scp-like [user@]host:path.
	SSH Transport = "ssh"
	// File is file:///path.
	File Transport = "file"
	// Local is a path on this machine, absolute or relative.
	Local Transport = "local"
)

// Classify tells how a repository URL is reached. It is the one rule for every reader of
// a repository URL — validation, resolving a relative path against the config's directory,
// choosing the credentials to send — so that they cannot disagree about what a URL is.
//
// A URL with "://" is classified by its scheme (https, http, ssh or file; any other is an
// error). Otherwise Git's own rule applies: with a colon and no slash before it, the URL is
// scp-like SSH ("git@github.com:acme/platform.git"); anything else is a local path
// ("./gitops", "/srv/git/platform.git", "backup/a:b").
func Classify(raw string) (Transport, error) {
	if raw == "" {
		return "", errors.New("required: https://, ssh://, git@host:path, file:// or a local path")
	}
	if strings.Contains(raw, "://") {
		u, err := url.Parse(raw)
		if err != nil {
			return "", errors.New("not a valid URL")
		}
		switch t := Transport(u.Scheme); t {
		case HTTPS, HTTP, SSH, File:
			return t, nil
		}
		return "", fmt.Errorf("unsupported scheme %q: use https://, ssh://, git@host:path, file:// or a local path", u.Scheme)
	}
	colon := strings.IndexByte(raw, ':')
	slash := strings.IndexAny(raw, `/\`)
	if colon < 0 || (slash >= 0 && slash < colon) {
		return Local, nil
	}
	return SSH, nil
}

// GitHubWebURL is the web address, for people, of the GitHub whose REST API is at apiURL:
// https://github.com for the public API (api.github.com, or no URL), else the scheme and host
// (with its port) of a GitHub Enterprise server, whose API is at https://HOST/api/v3/. A
// repository's page is this, "/", owner, "/", repo. It is the one place that derives it: the
// status page's commit links and the addresses an Argo CD Application may name a repository
// by both use it.
func GitHubWebURL(apiURL string) string {
	u, err := url.Parse(apiURL)
	if err != nil || u.Host == "" || u.Hostname() == "api.github.com" || (u.Scheme != "https" && u.Scheme != "http") {
		return "https://github.com"
	}
	return u.Scheme + "://" + u.Host
}
