package policy

import "time"

// Config is the AutoscalerConfig document: the service's repositories, Prometheus servers,
// commit identity and HTTP settings (docs/design.md §8). Secrets are only ever named by file or
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
}

// GitAuth is how to authenticate to a Git remote. Exactly one form: a token (HTTPS), a
// username and password (HTTPS basic), or an SSH key with known_hosts.
type GitAuth struct {
	TokenFile      string `yaml:"tokenFile,omitempty" json:"tokenFile,omitempty"`
	TokenEnv       string `yaml:"tokenEnv,omitempty" json:"tokenEnv,omitempty"`
	Username       string `yaml:"username,omitempty" json:"username,omitempty"`
	PasswordFile   string `yaml:"passwordFile,omitempty" json:"passwordFile,omitempty"`
	PasswordEnv    string `yaml:"passwordEnv,omitempty" json:"passwordEnv,omitempty"`
	SSHKeyFile     string `yaml:"sshKeyFile,omitempty" json:"sshKeyFile,omitempty"`
	KnownHostsFile string `yaml:"knownHostsFile,omitempty" json:"knownHostsFile,omitempty"`
}

// GitHubRepo enables pull requests through the GitHub (or GitHub Enterprise) API.
type GitHubRepo struct {
	Owner     string `yaml:"owner" json:"owner"`
	Repo      string `yaml:"repo" json:"repo"`
	APIURL    string `yaml:"apiURL,omitempty" json:"apiURL,omitempty"` // default https://api.github.com/
	TokenFile string `yaml:"tokenFile,omitempty" json:"tokenFile,omitempty"`
	TokenEnv  string `yaml:"tokenEnv,omitempty" json:"tokenEnv,omitempty"`
	// AllowAutoMergeWithoutChecks lets AutoMerge merge into a base branch without required
	// status checks; by default such a PR stays open for review.
	AllowAutoMergeWithoutChecks bool `yaml:"allowAutoMergeWithoutChecks,omitempty" json:"allowAutoMergeWithoutChecks,omitempty"`
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
}

// HTTPConfig is the service's HTTP listener.
type HTTPConfig struct {
	Listen    string `yaml:"listen,omitempty" json:"listen,omitempty"` // default :8080
	TokenFile string `yaml:"tokenFile,omitempty" json:"tokenFile,omitempty"`
	TokenEnv  string `yaml:"tokenEnv,omitempty" json:"tokenEnv,omitempty"`
}

// Secret is a secret value read from a file or the environment. It never prints.
type Secret string

// String hides the value.
func (Secret) String() string { return "<secret>" }

// GoString hides the value from %#v.
func (Secret) GoString() string { return "<secret>" }

// MarshalJSON hides the value.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"<secret>"`), nil }

// Defaults used when a document leaves a field out. They live here, in one place.
const (
	DefaultSchedule         = "@every 30s"
	DefaultMinReplicas      = 1
	DefaultTolerance        = 0.1
	DefaultBranch           = "main"
	DefaultQueryConcurrency = 16
	DefaultCycleTimeout     = 2 * time.Minute
	DefaultPromTimeout      = 10 * time.Second
	DefaultHoldSeconds      = 3600
	DefaultSyncTimeout      = 600
	DefaultListen           = ":8080"
	DefaultAuthorName       = "gitops-autoscaler"
	DefaultAuthorEmail      = "gitops-autoscaler@localhost"
	DefaultPrometheusServer = "default"
	DefaultGitHubAPIURL     = "https://api.github.com/"
)
