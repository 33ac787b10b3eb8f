package svcconfig

import "time"

// Config is the AutoscalerConfig document: the service's repositories, Prometheus servers,
// commit identity and HTTP settings (docs/design.md §4). Secrets are only ever named by file or
// environment variable; the Secret type prints as <secret>.
type Config struct {
	APIVersion                string             `yaml:"apiVersion" json:"apiVersion"`
	Kind                      string             `yaml:"kind" json:"kind"`
	Repositories              []Repository       `yaml:"repositories" json:"repositories"`
	Prometheus                []PrometheusServer `yaml:"prometheus,omitempty" json:"prometheus,omitempty"`
	AllowPolicyPrometheusURLs bool               `yaml:"allowPolicyPrometheusURLs,omitempty" json:"allowPolicyPrometheusURLs,omitempty"`
	Commit                    CommitIdentity     `yaml:"commit,omitempty" json:"commit,omitempty"`
	HTTP                      HTTPConfig         `yaml:"http,omitempty" json:"http,omitempty"`
	// QueryConcurrency bounds concurrent queries per Prometheus server in one cycle (default 16).
	QueryConcurrency int `yaml:"queryConcurrency,omitempty" json:"queryConcurrency,omitempty"`
	// CycleTimeout is the deadline of one evaluation cycle (default 2m).
	CycleTimeout Duration `yaml:"cycleTimeout,omitempty" json:"cycleTimeout,omitempty"`
	// CacheDir holds the repositories' working clones (default: a directory under the user cache).
	CacheDir string `yaml:"cacheDir,omitempty" json:"cacheDir,omitempty"`
	// ChartRepositories are the credentials of the Helm repositories and OCI registries that
	// remote charts come from, matched by URL prefix (docs/render-verification.md, "Remote
	// charts"). A repository not listed is read without credentials.
	ChartRepositories []ChartRepository `yaml:"chartRepositories,omitempty" json:"chartRepositories,omitempty"`
	// Limits bound what the service reads from outside (docs/security.md).
	Limits Limits `yaml:"limits,omitempty" json:"limits,omitempty"`

	// Source is where the document was read from; set by the loader.
	Source Source `yaml:"-" json:"-"`
}

// Repository is one GitOps repository the autoscaler writes to.
type Repository struct {
	Name string `yaml:"name" json:"name"`
	// URL is https://, ssh://, file:// or a local path.
	URL    string `yaml:"url" json:"url"`
	Branch string `yaml:"branch,omitempty" json:"branch,omitempty"` // default main
	// Policies are globs inside the repository where policy documents live.
	Policies []string    `yaml:"policies,omitempty" json:"policies,omitempty"`
	Auth     *GitAuth    `yaml:"auth,omitempty" json:"auth,omitempty"`
	GitHub   *GitHubRepo `yaml:"github,omitempty" json:"github,omitempty"`
	GitLab   *GitLabRepo `yaml:"gitlab,omitempty" json:"gitlab,omitempty"`
	// Owners say which policy documents may write which files (docs/design.md §4,
	// "Ownership between teams"). Empty: every policy may write any file no policy may
	// never write.
	Owners []Owner `yaml:"owners,omitempty" json:"owners,omitempty"`
	// Notify are the GitOps controllers' webhooks called after each push that lands a
	// decision (and after an AutoMerge merge), so that the sync starts at once instead of at
	// the controller's next poll (docs/design.md §7, "Notify after a push"). Optional; a
	// failed call is logged and counted, never the decision's failure.
	Notify []Notify `yaml:"notify,omitempty" json:"notify,omitempty"`
}

// Notify is one webhook to call after a push: exactly one of Flux and ArgoCD.
type Notify struct {
	Flux   *FluxNotify   `yaml:"flux,omitempty" json:"flux,omitempty"`
	ArgoCD *ArgoCDNotify `yaml:"argocd,omitempty" json:"argocd,omitempty"`
}

// FluxNotify is a Flux notification-controller Receiver: ReceiverURL is the controller's
// address and the Receiver's status.webhookPath. Type is the Receiver's spec.type: generic
// (the default: a POST, no signature), generic-hmac (X-Signature) or github (a push event
// with X-Hub-Signature-256); the signed types need TokenFile, the token of the Receiver's
// secretRef.
type FluxNotify struct {
	ReceiverURL string `yaml:"receiverURL" json:"receiverURL"`
	Type        string `yaml:"type,omitempty" json:"type,omitempty"`
	TokenFile   string `yaml:"tokenFile,omitempty" json:"tokenFile,omitempty"`
}

// ArgoCDNotify is Argo CD's webhook (argocd-server's /api/webhook): it is sent a GitHub push
// event, signed with SecretFile (argocd-secret's webhook.github.secret) when set. RepoURL is
// the repository URL as the Applications' spec.source.repoURL names it (default: the
// repository's url); Argo CD refreshes the Applications of that repository and branch.
type ArgoCDNotify struct {
	WebhookURL string `yaml:"webhookURL" json:"webhookURL"`
	SecretFile string `yaml:"secretFile,omitempty" json:"secretFile,omitempty"`
	RepoURL    string `yaml:"repoURL,omitempty" json:"repoURL,omitempty"`
}

// Flux Receiver types the notify step speaks (FluxNotify.Type).
const (
	FluxReceiverGeneric     = "generic"
	FluxReceiverGenericHMAC = "generic-hmac"
	FluxReceiverGitHub      = "github"
)

// Owner is one entry of a repository's owners: the policies in the documents its Policies
// glob matches may write the files its Targets globs match. Globs are MatchGlob's.
type Owner struct {
	Policies string   `yaml:"policies" json:"policies"`
	Targets  []string `yaml:"targets" json:"targets"`
}

// GitAuth is how to authenticate to a Git remote. Exactly one form: a token (HTTPS), a
// username and password (HTTPS basic), or an SSH key with known_hosts.
type GitAuth struct {
	TokenSource    `yaml:",inline"`
	Username       string `yaml:"username,omitempty" json:"username,omitempty"`
	PasswordFile   string `yaml:"passwordFile,omitempty" json:"passwordFile,omitempty"`
	PasswordEnv    string `yaml:"passwordEnv,omitempty" json:"passwordEnv,omitempty"`
	SSHKeyFile     string `yaml:"sshKeyFile,omitempty" json:"sshKeyFile,omitempty"`
	KnownHostsFile string `yaml:"knownHostsFile,omitempty" json:"knownHostsFile,omitempty"`
}

// TokenSource names a token by file or environment variable (never inline): the tokenFile and
// tokenEnv pair of Git's auth, the GitHub and GitLab hosts and the HTTP API. It is embedded inline, so
// the YAML and JSON keep the two fields where they were.
type TokenSource struct {
	TokenFile string `yaml:"tokenFile,omitempty" json:"tokenFile,omitempty"`
	TokenEnv  string `yaml:"tokenEnv,omitempty" json:"tokenEnv,omitempty"`
}

// GitHubRepo enables pull requests through the GitHub (or GitHub Enterprise) API.
type GitHubRepo struct {
	Owner  string `yaml:"owner" json:"owner"`
	Repo   string `yaml:"repo" json:"repo"`
	APIURL string `yaml:"apiURL,omitempty" json:"apiURL,omitempty"` // default https://api.github.com/
	// TokenFile or TokenEnv holds the API token (or App below).
	TokenSource `yaml:",inline"`
	// App authenticates as a GitHub App installation instead of a token: its installation
	// tokens serve the API and, for an https remote without auth, Git too.
	App *GitHubApp `yaml:"app,omitempty" json:"app,omitempty"`
	// VerifiedCommits makes the autoscaler's commits through the API (blobs, trees, commits,
	// refs), so that GitHub signs them ("Verified"): for branches that require signed commits,
	// with a bot that has no key.
	VerifiedCommits bool `yaml:"verifiedCommits,omitempty" json:"verifiedCommits,omitempty"`
	// AllowAutoMergeWithoutChecks lets AutoMerge merge into a base branch without required
	// status checks; by default such a PR stays open for review.
	AllowAutoMergeWithoutChecks bool `yaml:"allowAutoMergeWithoutChecks,omitempty" json:"allowAutoMergeWithoutChecks,omitempty"`
}

// GitHubApp is a GitHub App installation: the App's ID, the installation's ID, and the App's
// private key (PEM), read from a file.
type GitHubApp struct {
	AppID          int    `yaml:"appID" json:"appID"`
	InstallationID int    `yaml:"installationID" json:"installationID"`
	PrivateKeyFile string `yaml:"privateKeyFile" json:"privateKeyFile"`
}

// GitLabRepo enables merge requests through the GitLab API, on gitlab.com or a self-managed
// instance.
type GitLabRepo struct {
	// Project is the project's full path (group/subgroup/name) or its numeric ID.
	Project string `yaml:"project" json:"project"`
	// BaseURL is the instance (default https://gitlab.com/); the client adds /api/v4/.
	BaseURL string `yaml:"baseURL,omitempty" json:"baseURL,omitempty"`
	// TokenFile or TokenEnv holds a personal, project or group access token with the api scope.
	TokenSource `yaml:",inline"`
	// AllowAutoMergeWithoutPipeline lets AutoMerge merge in a project that does not require
	// pipelines to succeed; by default such a merge request stays open for review.
	AllowAutoMergeWithoutPipeline bool `yaml:"allowAutoMergeWithoutPipeline,omitempty" json:"allowAutoMergeWithoutPipeline,omitempty"`
}

// PrometheusServer is a named Prometheus (or Mimir, Cortex, Thanos) endpoint.
type PrometheusServer struct {
	Name             string            `yaml:"name" json:"name"`
	URL              string            `yaml:"url" json:"url"`
	BearerTokenFile  string            `yaml:"bearerTokenFile,omitempty" json:"bearerTokenFile,omitempty"`
	BearerTokenEnv   string            `yaml:"bearerTokenEnv,omitempty" json:"bearerTokenEnv,omitempty"`
	BasicAuth        *BasicAuth        `yaml:"basicAuth,omitempty" json:"basicAuth,omitempty"`
	TLS              *TLSConfig        `yaml:"tls,omitempty" json:"tls,omitempty"`
	Headers          map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	Timeout          Duration          `yaml:"timeout,omitempty" json:"timeout,omitempty"` // default 10s
	QueryConcurrency int               `yaml:"queryConcurrency,omitempty" json:"queryConcurrency,omitempty"`
}

// BasicAuth for a Prometheus server; the password only by file or environment variable.
type BasicAuth struct {
	Username     string `yaml:"username" json:"username"`
	PasswordFile string `yaml:"passwordFile,omitempty" json:"passwordFile,omitempty"`
	PasswordEnv  string `yaml:"passwordEnv,omitempty" json:"passwordEnv,omitempty"`
}

// TLSConfig for a Prometheus server.
type TLSConfig struct {
	CAFile             string `yaml:"caFile,omitempty" json:"caFile,omitempty"`
	InsecureSkipVerify bool   `yaml:"insecureSkipVerify,omitempty" json:"insecureSkipVerify,omitempty"`
}

// CommitIdentity authors the autoscaler's commits.
type CommitIdentity struct {
	AuthorName  string `yaml:"authorName,omitempty" json:"authorName,omitempty"`   // default gitops-autoscaler
	AuthorEmail string `yaml:"authorEmail,omitempty" json:"authorEmail,omitempty"` // default gitops-autoscaler@localhost
	// Signing signs every commit the autoscaler makes (default: unsigned).
	Signing *CommitSigning `yaml:"signing,omitempty" json:"signing,omitempty"`
}

// CommitSigning names the key that signs the autoscaler's commits, for branches whose
// protection requires signed commits: an OpenPGP secret key (gpgKeyFile, git's default
// gpg.format) or an SSH private key (sshKeyFile, gpg.format ssh). A protected key's passphrase
// comes from passphraseFile. Keys and passphrases are read from files only.
type CommitSigning struct {
	GPGKeyFile     string `yaml:"gpgKeyFile,omitempty" json:"gpgKeyFile,omitempty"`
	SSHKeyFile     string `yaml:"sshKeyFile,omitempty" json:"sshKeyFile,omitempty"`
	PassphraseFile string `yaml:"passphraseFile,omitempty" json:"passphraseFile,omitempty"`
}

// HTTPConfig is the service's HTTP listener.
type HTTPConfig struct {
	Listen string `yaml:"listen,omitempty" json:"listen,omitempty"` // default :8080
	// TokenFile or TokenEnv holds the API token: POST /api/v1/evaluate and the Alertmanager
	// webhook need it (without one they refuse), and it also opens what the status token does.
	TokenSource `yaml:",inline"`
	// StatusTokenFile or StatusTokenEnv holds a read-only token for the status page and
	// GET /api/v1/policies; without one they are open (docs/design.md §8).
	StatusTokenFile string `yaml:"statusTokenFile,omitempty" json:"statusTokenFile,omitempty"`
	StatusTokenEnv  string `yaml:"statusTokenEnv,omitempty" json:"statusTokenEnv,omitempty"`
}

// ChartRepository is the credentials of one Helm repository (https://…) or OCI registry
// (oci://host/path): every chart whose repository URL starts with URL uses them (the longest
// match wins). The password only by file, read at each pull so a rotated secret is picked up.
type ChartRepository struct {
	URL          string `yaml:"url" json:"url"`
	Username     string `yaml:"username,omitempty" json:"username,omitempty"`
	PasswordFile string `yaml:"passwordFile,omitempty" json:"passwordFile,omitempty"`
	// PlainHTTP talks to an OCI registry over http:// instead of https:// (Flux's
	// HelmRepository spec.insecure, Argo CD's insecureOCIForceHttp).
	PlainHTTP bool `yaml:"plainHTTP,omitempty" json:"plainHTTP,omitempty"`
	// CAFile is a PEM file of the certificate authorities the server's certificate must chain
	// to, instead of the machine's (Flux's certSecretRef ca.crt, Argo CD's repository TLS
	// certificates); read at each pull, so a rotated CA is picked up.
	CAFile string `yaml:"caFile,omitempty" json:"caFile,omitempty"`
}

// Defaults used when the config leaves a field out. They live here, in one place (the
// policy documents' are package policy's).
const (
	DefaultBranch           = "main"
	DefaultQueryConcurrency = 16
	DefaultCycleTimeout     = 2 * time.Minute
	DefaultPromTimeout      = 10 * time.Second
	DefaultListen           = ":8080"
	DefaultAuthorName       = "gitops-autoscaler"
	DefaultAuthorEmail      = "gitops-autoscaler@localhost"
	DefaultGitHubAPIURL     = "https://api.github.com/"
	DefaultGitLabURL        = "https://gitlab.com/"
)
