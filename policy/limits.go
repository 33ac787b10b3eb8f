package policy

// Limits bound everything the service reads from outside: Git content, renders, Prometheus's
// answers and the requests its HTTP server takes (docs/security.md lists every limit and its
// default). A zero field takes its default in SetDefaults.
type Limits struct {
	// Git bounds what is read from a repository's content.
	Git GitLimits `yaml:"git,omitempty" json:"git,omitempty"`
	// Render bounds one Helm or kustomize render.
	Render RenderLimits `yaml:"render,omitempty" json:"render,omitempty"`
	// Prometheus bounds one answer of a Prometheus server.
	Prometheus PrometheusLimits `yaml:"prometheus,omitempty" json:"prometheus,omitempty"`
	// HTTP bounds the connections and requests the service's HTTP server takes.
	HTTP HTTPLimits `yaml:"http,omitempty" json:"http,omitempty"`
}

// GitLimits bound what is read from a repository's content.
type GitLimits struct{}

// RenderLimits bound one render.
type RenderLimits struct{}

// PrometheusLimits bound one answer of a Prometheus server.
type PrometheusLimits struct{}

// HTTPLimits bound the service's HTTP server.
type HTTPLimits struct{}
