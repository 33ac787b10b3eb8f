package svcconfig

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/secret"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/strictyaml"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/repopath"
)

// LoadConfig decodes, defaults and validates the one AutoscalerConfig document of a file, as
// strictly as policies: unknown fields (a literal token or password among them) and wrong types
// are errors, and every problem is a *FieldError, all joined.
func LoadConfig(file string, data []byte) (*Config, error) {
	var configs []*Config
	var problems []*FieldError
	strictyaml.EachDocument(file, data, func(root *yaml.Node, syntax *FieldError) {
		if syntax != nil {
			problems = append(problems, syntax)
			return
		}
		if root.Kind != yaml.MappingNode {
			problems = append(problems, &FieldError{File: file, Line: root.Line, Msg: "a document must be a mapping with apiVersion and kind"})
			return
		}
		if kind, line := strictyaml.ScalarField(root, "kind"); kind != KindConfig {
			msg := fmt.Sprintf("must be %s, got %q", KindConfig, kind)
			if kind == "" {
				msg = "required: " + KindConfig
			}
			problems = append(problems, &FieldError{File: file, Line: line, Field: "kind", Msg: msg})
			return
		}
		cfg, errs := Decode(file, root)
		problems = append(problems, errs...)
		if len(errs) == 0 {
			configs = append(configs, cfg)
		}
	})
	if err := strictyaml.Join(problems); err != nil {
		return nil, err
	}
	switch len(configs) {
	case 0:
		return nil, &FieldError{File: file, Line: 1, Msg: "no " + KindConfig + " document"}
	case 1:
		return configs[0], nil
	default:
		return nil, &FieldError{File: file, Line: configs[1].Source.Line, Msg: "more than one " + KindConfig + " document"}
	}
}

// LoadConfigFile reads and loads a config file, then settles what depends on where the file is
// and who reads it: a repository given as a relative local path is relative to the file's
// directory (not to wherever the command runs), and without cacheDir the clones go to
// DefaultCacheDir.
func LoadConfigFile(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := LoadConfig(file, data)
	if err != nil {
		return nil, err
	}
	base := filepath.Dir(file)
	for i := range cfg.Repositories {
		r := &cfg.Repositories[i]
		if t, _ := gitname.Classify(r.URL); t != gitname.Local || filepath.IsAbs(r.URL) {
			continue
		}
		abs, err := filepath.Abs(filepath.Join(base, r.URL))
		if err != nil {
			field := fmt.Sprintf("repositories[%d].url", i)
			return nil, &FieldError{File: file, Line: cfg.Source.LineOf(field), Field: field, Msg: err.Error()}
		}
		r.URL = abs
	}
	if cfg.CacheDir == "" {
		cfg.CacheDir = DefaultCacheDir()
	}
	return cfg, nil
}

// Decode decodes, defaults and validates one config document, given its root node: the
// loader of a file of both kinds of document (package policy) calls it for each config.
func Decode(file string, root *yaml.Node) (*Config, []*FieldError) {
	cfg := &Config{}
	d := strictyaml.NewDecoder(file)
	d.Decode(root, reflect.ValueOf(cfg).Elem(), "")
	cfg.Source = d.Source(root.Line)
	cfg.SetDefaults()
	c := &checker{Checker: strictyaml.Checker{Src: cfg.Source, Failed: d.Failed()}}
	c.config(cfg)
	return cfg, append(d.Errors(), c.Errs...)
}

// Validate checks a defaulted config and returns all problems joined, each a *FieldError.
func (cfg *Config) Validate() error {
	c := &checker{Checker: strictyaml.Checker{Src: cfg.Source}}
	c.config(cfg)
	return strictyaml.Join(c.Errs)
}

// repoNameRE keeps repository names safe as directory names of the clone cache.
var repoNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (c *checker) config(cfg *Config) {
	CheckAPIVersion(&c.Checker, cfg.APIVersion)
	if cfg.Kind != KindConfig {
		c.Errorf("kind", "must be %s, got %q", KindConfig, cfg.Kind)
	}
	if len(cfg.Repositories) == 0 {
		c.Errorf("repositories", "at least one repository is required")
	}
	names := map[string]string{}
	for i := range cfg.Repositories {
		r := &cfg.Repositories[i]
		f := fmt.Sprintf("repositories[%d]", i)
		c.uniqueName(f+".name", r.Name, names)
		if r.Name != "" && !repoNameRE.MatchString(r.Name) {
			c.Errorf(f+".name", "must be letters, digits, '.', '_' or '-', got %q", r.Name)
		}
		transport := c.gitURL(f+".url", r.URL)
		c.branch(f+".branch", r.Branch)
		for j, g := range r.Policies {
			if err := ValidateGlob(g); err != nil {
				c.Errorf(fmt.Sprintf("%s.policies[%d]", f, j), "%v", err)
			}
		}
		c.owners(f, r.Owners)
		c.gitAuth(f+".auth", r.Auth, transport)
		c.github(f+".github", r.GitHub)
		c.gitlab(f+".gitlab", r.GitLab)
		if r.GitHub != nil && r.GitLab != nil {
			c.Errorf(f+".gitlab", "set github or gitlab, not both: a repository has one host")
		}
		for j := range r.Notify {
			c.notify(fmt.Sprintf("%s.notify[%d]", f, j), r.Notify[j])
		}
	}
	for i, cr := range cfg.ChartRepositories {
		c.chartRepository(fmt.Sprintf("chartRepositories[%d]", i), cr)
	}
	servers := map[string]string{}
	for i := range cfg.Prometheus {
		c.prometheusServer(fmt.Sprintf("prometheus[%d]", i), &cfg.Prometheus[i], servers)
	}
	if cfg.QueryConcurrency < 1 {
		c.Errorf("queryConcurrency", "must be at least 1, got %d", cfg.QueryConcurrency)
	}
	if cfg.CycleTimeout.Duration <= 0 {
		c.Errorf("cycleTimeout", "must be above 0, got %s", cfg.CycleTimeout)
	}
	if e := cfg.Commit.AuthorEmail; !strings.Contains(e, "@") || strings.ContainsAny(e, "<> \n") {
		c.Errorf("commit.authorEmail", "must be an email address, got %q", e)
	}
	if strings.ContainsAny(cfg.Commit.AuthorName, "<>\n") {
		c.Errorf("commit.authorName", "must not contain '<', '>' or a newline")
	}
	c.commitSigning("commit.signing", cfg.Commit.Signing)
	if _, _, err := net.SplitHostPort(cfg.HTTP.Listen); err != nil {
		c.Errorf("http.listen", "must be host:port or :port, got %q", cfg.HTTP.Listen)
	}
	c.secretSource("http", "token", cfg.HTTP.TokenFile, cfg.HTTP.TokenEnv, false)
	c.secretSource("http", "statusToken", cfg.HTTP.StatusTokenFile, cfg.HTTP.StatusTokenEnv, false)
	c.limits(&cfg.Limits)
}

// uniqueName checks a required name that must be unique among its siblings.
func (c *checker) uniqueName(field, name string, seen map[string]string) {
	switch {
	case name == "":
		c.Errorf(field, "required")
	case seen[name] != "":
		c.Errorf(field, "duplicate name %q (first at line %d)", name, c.Src.LineOf(seen[name]))
	default:
		seen[name] = field
	}
}

// gitURL checks a repository URL and returns its transport (empty when the URL is unusable).
func (c *checker) gitURL(field, raw string) gitname.Transport {
	t, err := gitname.Classify(raw)
	if err != nil {
		c.Errorf(field, "%v", err)
		return ""
	}
	if t != gitname.HTTPS && t != gitname.HTTP && !(t == gitname.SSH && strings.Contains(raw, "://")) {
		return t
	}
	u, err := url.Parse(raw)
	if err != nil {
		c.Errorf(field, "not a valid URL")
		return ""
	}
	if u.Host == "" {
		c.Errorf(field, "%s URL needs a host", u.Scheme)
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		c.Errorf(field, "must not carry a password (%s): use auth.passwordFile or auth.passwordEnv", u.Redacted())
	} else if u.User != nil && t != gitname.SSH {
		c.Errorf(field, "must not carry credentials (%s): use auth", u.Redacted())
	}
	return t
}

// branch checks the main rules of git check-ref-format for a branch name.
func (c *checker) branch(field, b string) {
	if b == "" || strings.HasPrefix(b, "-") || strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") ||
		strings.HasSuffix(b, ".lock") || strings.Contains(b, "..") || strings.Contains(b, "@{") ||
		strings.ContainsAny(b, " ~^:?*[\\\t\n") {
		c.Errorf(field, "not a valid branch name: %q", b)
	}
}

// gitAuth checks that exactly one authentication form is set and that it fits the URL.
func (c *checker) gitAuth(f string, a *GitAuth, transport gitname.Transport) {
	if a == nil {
		return
	}
	var forms []string
	if a.TokenFile != "" || a.TokenEnv != "" {
		forms = append(forms, "token")
		c.secretSource(f, "token", a.TokenFile, a.TokenEnv, true)
	}
	if a.Username != "" || a.PasswordFile != "" || a.PasswordEnv != "" {
		forms = append(forms, "username and password")
		if a.Username == "" {
			c.Errorf(f+".username", "required with passwordFile or passwordEnv")
		}
		c.secretSource(f, "password", a.PasswordFile, a.PasswordEnv, true)
	}
	if a.SSHKeyFile != "" || a.KnownHostsFile != "" {
		forms = append(forms, "SSH key")
		if a.SSHKeyFile == "" {
			c.Errorf(f+".sshKeyFile", "required with knownHostsFile")
		}
		if a.KnownHostsFile == "" {
			// Host keys are always verified; there is no "accept any host" mode.
			c.Errorf(f+".knownHostsFile", "required with sshKeyFile: host keys are always verified")
		}
	}
	switch {
	case len(forms) == 0:
		c.Errorf(f, "set one form: tokenFile or tokenEnv; username with passwordFile or passwordEnv; or sshKeyFile with knownHostsFile (or leave auth out)")
	case len(forms) > 1:
		c.Errorf(f, "set exactly one form, got %s", strings.Join(forms, " and "))
	case forms[0] == "SSH key" && (transport == gitname.HTTPS || transport == gitname.HTTP):
		c.Errorf(f, "an SSH key needs an ssh:// or git@host:path URL")
	case forms[0] != "SSH key" && transport == gitname.SSH:
		c.Errorf(f, "an ssh URL needs sshKeyFile and knownHostsFile")
	}
}

// secretSource checks a secret named by file or environment variable: not both, and, when
// required, one of them.
func (c *checker) secretSource(f, name, file, env string, required bool) {
	switch {
	case file != "" && env != "":
		c.Errorf(f, "set %sFile or %sEnv, not both", name, name)
	case required && file == "" && env == "":
		c.Errorf(f+"."+name+"File", "required: %sFile or %sEnv", name, name)
	}
}

// chartRepository checks one chartRepositories entry: an https://, http:// or oci:// URL
// without credentials in it, and a username with its passwordFile.
func (c *checker) chartRepository(f string, cr ChartRepository) {
	u, err := url.Parse(cr.URL)
	switch {
	case cr.URL == "":
		c.Errorf(f+".url", "required: the Helm repository (https://…) or OCI registry (oci://host/path) these credentials are for")
	case err != nil:
		c.Errorf(f+".url", "not a valid URL")
	case u.Scheme != "https" && u.Scheme != "http" && u.Scheme != "oci":
		c.Errorf(f+".url", "must start with https://, http:// or oci://, got %q", u.Scheme)
	case u.Host == "":
		c.Errorf(f+".url", "needs a host")
	case u.User != nil:
		c.Errorf(f+".url", "must not carry credentials (%s): use username and passwordFile", u.Redacted())
	}
	if (cr.Username == "") != (cr.PasswordFile == "") {
		c.Errorf(f, "set username and passwordFile together")
	}
}

// commitSigning checks that a signing block names exactly one key.
func (c *checker) commitSigning(f string, s *CommitSigning) {
	switch {
	case s == nil:
	case s.GPGKeyFile != "" && s.SSHKeyFile != "":
		c.Errorf(f, "set gpgKeyFile or sshKeyFile, not both")
	case s.GPGKeyFile == "" && s.SSHKeyFile == "":
		c.Errorf(f, "set gpgKeyFile (OpenPGP) or sshKeyFile (SSH signatures), with passphraseFile when the key has a passphrase")
	}
}

func (c *checker) github(f string, g *GitHubRepo) {
	if g == nil {
		return
	}
	if g.Owner == "" {
		c.Errorf(f+".owner", "required")
	}
	if g.Repo == "" {
		c.Errorf(f+".repo", "required")
	}
	if err := CheckHTTPURL(g.APIURL); err != nil {
		c.Errorf(f+".apiURL", "%v", err)
	}
	c.secretSource(f, "token", g.TokenFile, g.TokenEnv, false)
	if a := g.App; a != nil {
		if g.TokenFile != "" || g.TokenEnv != "" {
			c.Errorf(f+".app", "set a token or an app, not both")
		}
		if a.AppID <= 0 {
			c.Errorf(f+".app.appID", "required: the App's numeric ID")
		}
		if a.InstallationID <= 0 {
			c.Errorf(f+".app.installationID", "required: the installation's numeric ID")
		}
		if a.PrivateKeyFile == "" {
			c.Errorf(f+".app.privateKeyFile", "required: the App's private key (PEM), by file")
		}
	}
}

// notify checks one webhook of a repository's notify list: exactly one controller, an
// http(s) URL without credentials, and the secret its type needs (docs/design.md §6).
func (c *checker) notify(f string, n Notify) {
	switch {
	case n.Flux == nil && n.ArgoCD == nil:
		c.Errorf(f, "set flux (a notification-controller Receiver) or argocd (argocd-server's /api/webhook)")
	case n.Flux != nil && n.ArgoCD != nil:
		c.Errorf(f, "set flux or argocd, not both: one entry is one webhook")
	}
	if fl := n.Flux; fl != nil {
		if err := CheckHTTPURL(fl.ReceiverURL); err != nil {
			c.Errorf(f+".flux.receiverURL", "%v", err)
		}
		switch fl.Type {
		case FluxReceiverGeneric:
			if fl.TokenFile != "" {
				c.Errorf(f+".flux.tokenFile", "a Receiver of type generic checks no signature, so the token would not be used: set type github or generic-hmac, or leave tokenFile out")
			}
		case FluxReceiverGenericHMAC, FluxReceiverGitHub:
			if fl.TokenFile == "" {
				c.Errorf(f+".flux.tokenFile", "required with type %s: the token of the Receiver's secretRef, which signs the request", fl.Type)
			}
		default:
			c.Errorf(f+".flux.type", "must be %s, %s or %s (the Receiver's spec.type), got %q", FluxReceiverGeneric, FluxReceiverGenericHMAC, FluxReceiverGitHub, fl.Type)
		}
	}
	if a := n.ArgoCD; a != nil {
		if err := CheckHTTPURL(a.WebhookURL); err != nil {
			c.Errorf(f+".argocd.webhookURL", "%v", err)
		}
		if a.RepoURL != "" {
			if u, err := url.Parse(a.RepoURL); err != nil || u.Host == "" || u.User != nil {
				c.Errorf(f+".argocd.repoURL", "must be the repository's URL as the Applications name it (https://host/owner/repo), without credentials")
			}
		}
	}
}

func (c *checker) gitlab(f string, g *GitLabRepo) {
	if g == nil {
		return
	}
	if g.Project == "" {
		c.Errorf(f+".project", "required: the project's full path (group/name) or numeric ID")
	} else if strings.HasPrefix(g.Project, "/") || strings.HasSuffix(g.Project, "/") || strings.Contains(g.Project, "//") || strings.ContainsAny(g.Project, " ?#") {
		c.Errorf(f+".project", "not a project path or ID: %q", g.Project)
	}
	if err := CheckHTTPURL(g.BaseURL); err != nil {
		c.Errorf(f+".baseURL", "%v", err)
	}
	c.secretSource(f, "token", g.TokenFile, g.TokenEnv, true)
}

func (c *checker) prometheusServer(f string, s *PrometheusServer, seen map[string]string) {
	c.uniqueName(f+".name", s.Name, seen)
	if s.URL == "" {
		c.Errorf(f+".url", "required: an http:// or https:// URL")
	} else if err := CheckHTTPURL(s.URL); err != nil {
		c.Errorf(f+".url", "%v", err)
	}
	c.secretSource(f, "bearerToken", s.BearerTokenFile, s.BearerTokenEnv, false)
	if b := s.BasicAuth; b != nil {
		if s.BearerTokenFile != "" || s.BearerTokenEnv != "" {
			c.Errorf(f+".basicAuth", "set a bearer token or basicAuth, not both")
		}
		if b.Username == "" {
			c.Errorf(f+".basicAuth.username", "required")
		}
		c.secretSource(f+".basicAuth", "password", b.PasswordFile, b.PasswordEnv, true)
	}
	for k := range s.Headers {
		if strings.EqualFold(k, "Authorization") {
			c.Errorf(strictyaml.MapKeyPath(f+".headers", k), "secrets are read only from files or the environment: use bearerTokenFile or basicAuth")
		}
	}
	if s.Timeout.Duration <= 0 {
		c.Errorf(f+".timeout", "must be above 0, got %s", s.Timeout)
	}
	if s.QueryConcurrency < 1 {
		c.Errorf(f+".queryConcurrency", "must be at least 1, got %d", s.QueryConcurrency)
	}
}

// ValidateGlob checks a policy glob: slash-separated and relative to the repository root, each
// element in path.Match syntax or `**` (any number of directories).
func ValidateGlob(pattern string) error {
	switch {
	case pattern == "":
		return errors.New("empty glob")
	case strings.HasPrefix(pattern, "/"):
		return fmt.Errorf("glob %q must be relative to the repository root", pattern)
	case repopath.HasDotDot(pattern):
		return fmt.Errorf("glob %q must stay inside the repository: no '..' elements", pattern)
	}
	for _, elem := range strings.Split(pattern, "/") {
		if elem == "**" {
			continue
		}
		if _, err := path.Match(elem, ""); err != nil {
			return fmt.Errorf("glob %q: bad pattern %q", pattern, elem)
		}
	}
	return nil
}

// MatchGlob reports whether a slash-separated path relative to the repository root matches a
// policy glob: each element matches as path.Match, and an element `**` matches any number of
// directories, none included, so `autoscaling/**/*.yaml` matches autoscaling/a.yaml and
// autoscaling/x/y/a.yaml. A malformed pattern matches nothing (ValidateGlob reports it).
//
// It runs on every file of a repository and for every owners entry of every policy, so it
// allocates nothing for paths of up to 32 elements: the classic wildcard match over elements,
// where `**` is the star and the last one seen is the only backtracking point (any later
// match of a star covers the earlier ones), O(len(pattern)·len(name)) at worst.
func MatchGlob(pattern, name string) bool {
	var pbuf, nbuf [32]string
	pats, parts := splitPath(pbuf[:0], pattern), splitPath(nbuf[:0], name)
	i, j := 0, 0
	star, mark := -1, 0
	for j < len(parts) {
		switch {
		case i < len(pats) && pats[i] == "**":
			star, mark = i, j
			i++
		case i < len(pats) && matchElement(pats[i], parts[j]):
			i, j = i+1, j+1
		case star >= 0:
			mark++
			i, j = star+1, mark
		default:
			return false
		}
	}
	for i < len(pats) && pats[i] == "**" {
		i++
	}
	return i == len(pats)
}

// splitPath appends the slash-separated elements of p to buf, as strings.Split would.
func splitPath(buf []string, p string) []string {
	for {
		k := strings.IndexByte(p, '/')
		if k < 0 {
			return append(buf, p)
		}
		buf, p = append(buf, p[:k]), p[k+1:]
	}
}

// matchElement matches one path element as path.Match; a malformed pattern matches nothing.
func matchElement(pattern, elem string) bool {
	if !strings.ContainsAny(pattern, `*?[\`) {
		return pattern == elem
	}
	ok, err := path.Match(pattern, elem)
	return err == nil && ok
}

// ReadBearerToken reads the server's bearer token from its file or environment variable; it is
// empty when the server has none.
func (s *PrometheusServer) ReadBearerToken() (secret.Value, error) {
	return secret.Read("prometheus "+s.Name+" bearer token", s.BearerTokenFile, s.BearerTokenEnv, nil)
}

// ReadPassword reads the basic-auth password from its file or environment variable.
func (b *BasicAuth) ReadPassword() (secret.Value, error) {
	return secret.Read("basic auth password", b.PasswordFile, b.PasswordEnv, nil)
}

// ReadToken reads the Git token from its file or environment variable; empty when unset.
func (a *GitAuth) ReadToken() (secret.Value, error) {
	return a.TokenSource.read("git token")
}

// ReadPassword reads the Git password from its file or environment variable; empty when unset.
func (a *GitAuth) ReadPassword() (secret.Value, error) {
	return secret.Read("git password", a.PasswordFile, a.PasswordEnv, nil)
}

// ReadToken reads the GitHub API token from its file or environment variable; empty when
// unset.
func (g *GitHubRepo) ReadToken() (secret.Value, error) {
	return g.TokenSource.read("github token")
}

// ReadToken reads the GitLab API token from its file or environment variable; empty when
// unset.
func (g *GitLabRepo) ReadToken() (secret.Value, error) {
	return g.TokenSource.read("gitlab token")
}

// ReadToken reads the HTTP API's bearer token from its file or environment variable; empty
// when unset.
func (h *HTTPConfig) ReadToken() (secret.Value, error) {
	return h.TokenSource.read("http token")
}

// read reads the token, named what in errors, from its file or environment variable; empty
// when unset.
func (t TokenSource) read(what string) (secret.Value, error) {
	return secret.Read(what, t.TokenFile, t.TokenEnv, nil)
}

// ReadStatusToken reads the status page's read-only token from its file or environment
// variable; empty when unset (the status page and GET /api/v1/policies are then open).
func (h *HTTPConfig) ReadStatusToken() (secret.Value, error) {
	return secret.Read("http status token", h.StatusTokenFile, h.StatusTokenEnv, nil)
}

// owners checks a repository's owners entries: each names a policy glob and at least one
// target glob, all valid.
func (c *checker) owners(f string, owners []Owner) {
	for i, o := range owners {
		of := fmt.Sprintf("%s.owners[%d]", f, i)
		if o.Policies == "" {
			c.Errorf(of+".policies", "required: a glob of policy document paths, e.g. teams/a/**")
		} else if err := ValidateGlob(o.Policies); err != nil {
			c.Errorf(of+".policies", "%v", err)
		}
		if len(o.Targets) == 0 {
			c.Errorf(of+".targets", "required: globs of the files these policies may write, e.g. [apps/a/**]")
		}
		for j, g := range o.Targets {
			if err := ValidateGlob(g); err != nil {
				c.Errorf(fmt.Sprintf("%s.targets[%d]", of, j), "%v", err)
			}
		}
	}
}
