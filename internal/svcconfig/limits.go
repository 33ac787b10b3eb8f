package svcconfig

import "time"

// Limits bound everything the service reads from outside: Git content, renders, Prometheus's
// answers and the requests its HTTP server takes (docs/security.md lists every limit and its
// default). A zero field takes its default in SetDefaults.
type Limits struct {
	// Git bounds what is read from a repository's content.
	Git GitLimits `yaml:"git,omitempty" json:"git,omitempty"`
	// Render bounds one Helm or kustomize render.
	Render RenderLimits `yaml:"render,omitempty" json:"render,omitempty"`
	// Charts bound the remote charts a render pulls and their cache on disk.
	Charts ChartLimits `yaml:"charts,omitempty" json:"charts,omitempty"`
	// Prometheus bounds one answer of a Prometheus server.
	Prometheus PrometheusLimits `yaml:"prometheus,omitempty" json:"prometheus,omitempty"`
	// HTTP bounds the connections and requests the service's HTTP server takes.
	HTTP HTTPLimits `yaml:"http,omitempty" json:"http,omitempty"`
}

// GitLimits bound what is read from a repository's content (docs/design.md §6).
type GitLimits struct {
	// MaxFileBytes is the largest file of a repository the service checks out or reads
	// (default 4 MiB): policy documents, values files and what a render reads. A larger file
	// is left out of the clone's worktree without being read, and reading it fails with an
	// error naming the file and this limit.
	MaxFileBytes int `yaml:"maxFileBytes,omitempty" json:"maxFileBytes,omitempty"`
	// MaxObjectBytes is the largest object a clone or fetch may bring (default 100 MiB),
	// whatever its path or commit. The size is read from the pack's headers before the
	// object is inflated; a larger one refuses that repository's fetch, which keeps nothing.
	MaxObjectBytes int `yaml:"maxObjectBytes,omitempty" json:"maxObjectBytes,omitempty"`
}

// DefaultGitMaxFileBytes is the default of limits.git.maxFileBytes. Kubernetes stores no
// object above 1.5 MiB (etcd's request limit), so a policy, a values file or a chart's
// template is far below it; parsing YAML takes about 16 times a file's size, so a file at
// the cap costs some 64 MiB of the chart's 512 MiB while it is parsed.
const DefaultGitMaxFileBytes = 4 << 20

// DefaultGitMaxObjectBytes is the default of limits.git.maxObjectBytes: GitHub refuses a file
// over 100 MiB, so any object a GitHub repository holds is fetched. Go-git's indexer holds an
// object whole while it hashes it: a first clone of a repository with one incompressible
// object at this size peaked at 205 MB of RSS (142 MB at 64 MiB), within the chart's 512 MiB.
const DefaultGitMaxObjectBytes = 100 << 20

// SetDefaults fills every Git limit left out.
func (l *GitLimits) SetDefaults() {
	setDefault(&l.MaxFileBytes, DefaultGitMaxFileBytes)
	setDefault(&l.MaxObjectBytes, DefaultGitMaxObjectBytes)
}

// RenderLimits bound the Helm and kustomize renders. Renders run in a small pool of worker
// processes of the service's own binary, each under a hard memory and CPU limit, and a render
// that reaches a limit, or its timeout, is stopped and refused as RenderFailed naming the limit
// (docs/design.md §8, "Renders are sandboxed"). Workers × MaxMemoryBytes is what renders may
// hold at most, on top of the service's own memory.
type RenderLimits struct {
	// Workers is how many renders run at once, each in its own worker process (default 2).
	Workers int `yaml:"workers,omitempty" json:"workers,omitempty"`
	// MaxMemoryBytes is the most memory one worker may map (default 128 MiB, at least
	// 48 MiB): the worker's own runtime and libraries take about 30 MiB of it.
	MaxMemoryBytes int `yaml:"maxMemoryBytes,omitempty" json:"maxMemoryBytes,omitempty"`
	// MaxCPUSeconds is the CPU time one render may use (default 10).
	MaxCPUSeconds int `yaml:"maxCPUSeconds,omitempty" json:"maxCPUSeconds,omitempty"`
	// MaxOutputBytes is the most manifest bytes one render may produce (default 4 MiB).
	MaxOutputBytes int `yaml:"maxOutputBytes,omitempty" json:"maxOutputBytes,omitempty"`
	// Timeout is the wall-clock time one render may take once a worker has taken it
	// (default 30s); waiting for a free worker counts only against the cycle's deadline.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// ChartLimits bound what is pulled from Helm repositories and OCI registries: untrusted
// downloads (docs/design.md §8, docs/security.md).
type ChartLimits struct {
	// MaxArchiveBytes is the largest chart archive pulled (default 10 MiB; the largest public
	// charts are under 1 MiB packed). A larger one is refused naming this limit.
	MaxArchiveBytes int `yaml:"maxArchiveBytes,omitempty" json:"maxArchiveBytes,omitempty"`
	// MaxIndexBytes is the largest index.yaml of a Helm repository read (default 64 MiB: the
	// index of a large public repository is tens of MiB).
	MaxIndexBytes int `yaml:"maxIndexBytes,omitempty" json:"maxIndexBytes,omitempty"`
	// MaxCacheBytes bounds the chart cache on disk (default 512 MiB): past it the archives
	// used longest ago are removed.
	MaxCacheBytes int `yaml:"maxCacheBytes,omitempty" json:"maxCacheBytes,omitempty"`
	// Timeout bounds one download: an index, a tag list or an archive (default 60s).
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// RangeTTL is how long a version range's resolution is kept before it is resolved again
	// (default 30s, the default schedule's cycle): at most one resolution per cycle.
	RangeTTL Duration `yaml:"rangeTTL,omitempty" json:"rangeTTL,omitempty"`
}

// Defaults of the limits on remote charts.
const (
	DefaultChartMaxArchiveBytes = 10 << 20
	DefaultChartMaxIndexBytes   = 64 << 20
	DefaultChartMaxCacheBytes   = 512 << 20
	DefaultChartTimeout         = 60 * time.Second
	DefaultChartRangeTTL        = 30 * time.Second
)

// SetDefaults fills every chart limit left out.
func (l *ChartLimits) SetDefaults() {
	setDefault(&l.MaxArchiveBytes, DefaultChartMaxArchiveBytes)
	setDefault(&l.MaxIndexBytes, DefaultChartMaxIndexBytes)
	setDefault(&l.MaxCacheBytes, DefaultChartMaxCacheBytes)
	setDefault(&l.Timeout.Duration, DefaultChartTimeout)
	setDefault(&l.RangeTTL.Duration, DefaultChartRangeTTL)
}

// PrometheusLimits bound one answer of a Prometheus server. They are enforced while the answer
// is read and decoded, so an answer over a limit costs at most about the limit in memory, and
// the query fails with an error naming the limit and the query (docs/design.md §8).
type PrometheusLimits struct {
	// MaxBodyBytes is the largest answer body read (default 4 MiB).
	MaxBodyBytes int `yaml:"maxBodyBytes,omitempty" json:"maxBodyBytes,omitempty"`
	// MaxSeries is the most series one answer may hold (default 10,000).
	MaxSeries int `yaml:"maxSeries,omitempty" json:"maxSeries,omitempty"`
	// MaxSamples is the most values one answer may hold: one per series of an instant query,
	// every point of every series of a range query (default 500,000).
	MaxSamples int `yaml:"maxSamples,omitempty" json:"maxSamples,omitempty"`
}

// HTTPLimits bound the service's HTTP server: how long it waits for a client, how much it
// reads from one, and how many it serves at once (docs/design.md §8).
type HTTPLimits struct {
	// ReadHeaderTimeout bounds reading a request's headers (default 10s).
	ReadHeaderTimeout Duration `yaml:"readHeaderTimeout,omitempty" json:"readHeaderTimeout,omitempty"`
	// ReadTimeout bounds reading a whole request, body included (default 30s). An evaluation
	// on demand, once authorized, is given the cycle's deadline instead.
	ReadTimeout Duration `yaml:"readTimeout,omitempty" json:"readTimeout,omitempty"`
	// WriteTimeout bounds writing a response (default 60s). An evaluation on demand, once
	// authorized, is given twice the cycle timeout and this on top: it may wait for a running
	// cycle before its own.
	WriteTimeout Duration `yaml:"writeTimeout,omitempty" json:"writeTimeout,omitempty"`
	// IdleTimeout closes a keep-alive connection that sends no request for this long
	// (default 60s).
	IdleTimeout Duration `yaml:"idleTimeout,omitempty" json:"idleTimeout,omitempty"`
	// MaxHeaderBytes bounds a request's header block (default 64 KiB).
	MaxHeaderBytes int `yaml:"maxHeaderBytes,omitempty" json:"maxHeaderBytes,omitempty"`
	// MaxBodyBytes bounds a request's body (default 1 MiB).
	MaxBodyBytes int `yaml:"maxBodyBytes,omitempty" json:"maxBodyBytes,omitempty"`
	// MaxConnections bounds the connections open at once; more wait to be accepted
	// (default 256).
	MaxConnections int `yaml:"maxConnections,omitempty" json:"maxConnections,omitempty"`
}

// Defaults of the limits on Prometheus answers. With queryConcurrency (16) answers of one
// server in flight at the cap, reading and decoding them holds about 16 × 3 × 4 MiB: under
// 200 MiB of the chart's 512 MiB (promclient.TestGigabyteAnswersKeepMemoryBounded).
const (
	DefaultPromMaxBodyBytes = 4 << 20
	DefaultPromMaxSeries    = 10_000
	DefaultPromMaxSamples   = 500_000
)

// Defaults of the limits on renders. Two workers of 128 MiB hold at most 256 MiB, which
// leaves the other half of the chart's 512 MiB to the service itself.
const (
	DefaultRenderWorkers        = 2
	DefaultRenderMaxMemoryBytes = 128 << 20
	DefaultRenderMaxCPUSeconds  = 10
	DefaultRenderMaxOutputBytes = 4 << 20
	DefaultRenderTimeout        = 30 * time.Second
	// MinRenderMaxMemoryBytes is the smallest memory limit accepted: below it a worker could
	// not load its own libraries and every render would fail.
	MinRenderMaxMemoryBytes = 48 << 20
)

// Defaults of the limits on the service's HTTP server.
const (
	DefaultHTTPReadHeaderTimeout = 10 * time.Second
	DefaultHTTPReadTimeout       = 30 * time.Second
	DefaultHTTPWriteTimeout      = 60 * time.Second
	DefaultHTTPIdleTimeout       = 60 * time.Second
	DefaultHTTPMaxHeaderBytes    = 64 << 10
	DefaultHTTPMaxBodyBytes      = 1 << 20
	DefaultHTTPMaxConnections    = 256
)

// SetDefaults fills every Prometheus limit left out.
func (l *PrometheusLimits) SetDefaults() {
	setDefault(&l.MaxBodyBytes, DefaultPromMaxBodyBytes)
	setDefault(&l.MaxSeries, DefaultPromMaxSeries)
	setDefault(&l.MaxSamples, DefaultPromMaxSamples)
}

// SetDefaults fills every render limit left out.
func (l *RenderLimits) SetDefaults() {
	setDefault(&l.Workers, DefaultRenderWorkers)
	setDefault(&l.MaxMemoryBytes, DefaultRenderMaxMemoryBytes)
	setDefault(&l.MaxCPUSeconds, DefaultRenderMaxCPUSeconds)
	setDefault(&l.MaxOutputBytes, DefaultRenderMaxOutputBytes)
	setDefault(&l.Timeout.Duration, DefaultRenderTimeout)
}

// SetDefaults fills every HTTP limit left out.
func (l *HTTPLimits) SetDefaults() {
	setDefault(&l.ReadHeaderTimeout.Duration, DefaultHTTPReadHeaderTimeout)
	setDefault(&l.ReadTimeout.Duration, DefaultHTTPReadTimeout)
	setDefault(&l.WriteTimeout.Duration, DefaultHTTPWriteTimeout)
	setDefault(&l.IdleTimeout.Duration, DefaultHTTPIdleTimeout)
	setDefault(&l.MaxHeaderBytes, DefaultHTTPMaxHeaderBytes)
	setDefault(&l.MaxBodyBytes, DefaultHTTPMaxBodyBytes)
	setDefault(&l.MaxConnections, DefaultHTTPMaxConnections)
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// limits checks the limits of the config: each must be above 0 once defaulted (a negative
// number is the only way to get there).
func (c *checker) limits(l *Limits) {
	positive := func(field string, v int) {
		if v < 1 {
			c.Errorf(field, "must be at least 1, got %d", v)
		}
	}
	positiveDuration := func(field string, d Duration) {
		if d.Duration <= 0 {
			c.Errorf(field, "must be above 0, got %s", d)
		}
	}
	positive("limits.git.maxFileBytes", l.Git.MaxFileBytes)
	positive("limits.git.maxObjectBytes", l.Git.MaxObjectBytes)
	ch := l.Charts
	positive("limits.charts.maxArchiveBytes", ch.MaxArchiveBytes)
	positive("limits.charts.maxIndexBytes", ch.MaxIndexBytes)
	positive("limits.charts.maxCacheBytes", ch.MaxCacheBytes)
	if ch.MaxCacheBytes < ch.MaxArchiveBytes && ch.MaxCacheBytes > 0 {
		c.Errorf("limits.charts.maxCacheBytes", "must be at least maxArchiveBytes (%d): the cache holds the chart being rendered, got %d", ch.MaxArchiveBytes, ch.MaxCacheBytes)
	}
	positiveDuration("limits.charts.timeout", ch.Timeout)
	positiveDuration("limits.charts.rangeTTL", ch.RangeTTL)
	p := l.Prometheus
	positive("limits.prometheus.maxBodyBytes", p.MaxBodyBytes)
	positive("limits.prometheus.maxSeries", p.MaxSeries)
	positive("limits.prometheus.maxSamples", p.MaxSamples)
	if p.MaxSeries > p.MaxSamples && p.MaxSamples > 0 {
		c.Errorf("limits.prometheus.maxSamples", "must be at least maxSeries (%d): every series holds a sample, got %d", p.MaxSeries, p.MaxSamples)
	}
	r := l.Render
	positive("limits.render.workers", r.Workers)
	if r.MaxMemoryBytes < MinRenderMaxMemoryBytes {
		c.Errorf("limits.render.maxMemoryBytes", "must be at least %d (48 MiB): a render worker needs about 30 MiB for itself, got %d", MinRenderMaxMemoryBytes, r.MaxMemoryBytes)
	}
	positive("limits.render.maxCPUSeconds", r.MaxCPUSeconds)
	positive("limits.render.maxOutputBytes", r.MaxOutputBytes)
	positiveDuration("limits.render.timeout", r.Timeout)
	h := l.HTTP
	positiveDuration("limits.http.readHeaderTimeout", h.ReadHeaderTimeout)
	positiveDuration("limits.http.readTimeout", h.ReadTimeout)
	positiveDuration("limits.http.writeTimeout", h.WriteTimeout)
	positiveDuration("limits.http.idleTimeout", h.IdleTimeout)
	if h.ReadHeaderTimeout.Duration > h.ReadTimeout.Duration && h.ReadTimeout.Duration > 0 {
		c.Errorf("limits.http.readHeaderTimeout", "must not be above readTimeout (%s), got %s", h.ReadTimeout, h.ReadHeaderTimeout)
	}
	positive("limits.http.maxHeaderBytes", h.MaxHeaderBytes)
	positive("limits.http.maxBodyBytes", h.MaxBodyBytes)
	positive("limits.http.maxConnections", h.MaxConnections)
}
