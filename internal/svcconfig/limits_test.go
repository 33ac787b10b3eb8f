package svcconfig

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLimitsDefaults(t *testing.T) {
	cfg, err := LoadConfig("c.yaml", mustRead(t, exampleConfig))
	require.NoError(t, err)
	assert.Equal(t, GitLimits{MaxFileBytes: 4 << 20, MaxObjectBytes: 100 << 20}, cfg.Limits.Git)
	assert.Equal(t, PrometheusLimits{MaxBodyBytes: 4 << 20, MaxSeries: 10_000, MaxSamples: 500_000}, cfg.Limits.Prometheus)
	assert.Equal(t, HTTPLimits{
		ReadHeaderTimeout: Duration{Duration: 10 * time.Second}, ReadTimeout: Duration{Duration: 30 * time.Second},
		WriteTimeout: Duration{Duration: time.Minute}, IdleTimeout: Duration{Duration: time.Minute},
		MaxHeaderBytes: 64 << 10, MaxBodyBytes: 1 << 20, MaxConnections: 256,
	}, cfg.Limits.HTTP)
	assert.Equal(t, RenderLimits{
		Workers: 2, MaxMemoryBytes: 128 << 20, MaxCPUSeconds: 10, MaxOutputBytes: 4 << 20,
		Timeout: Duration{Duration: 30 * time.Second},
	}, cfg.Limits.Render)
	assert.Equal(t, ChartLimits{
		MaxArchiveBytes: 10 << 20, MaxIndexBytes: 64 << 20, MaxCacheBytes: 512 << 20,
		Timeout: Duration{Duration: time.Minute}, RangeTTL: Duration{Duration: 30 * time.Second},
	}, cfg.Limits.Charts)
}

func TestLimitsConfig(t *testing.T) {
	const head = "apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: AutoscalerConfig\nrepositories:\n  - {name: r, url: ./gitops}\n"
	tests := []struct {
		name    string
		limits  string
		check   func(t *testing.T, l Limits)
		wantErr []string
	}{
		{name: "set ones are kept, the others defaulted",
			limits: "limits:\n  prometheus: {maxBodyBytes: 1048576}\n  http: {idleTimeout: 5s, maxConnections: 10}\n",
			check: func(t *testing.T, l Limits) {
				assert.Equal(t, 1<<20, l.Prometheus.MaxBodyBytes)
				assert.Equal(t, DefaultPromMaxSeries, l.Prometheus.MaxSeries)
				assert.Equal(t, 5*time.Second, l.HTTP.IdleTimeout.Duration)
				assert.Equal(t, 10, l.HTTP.MaxConnections)
				assert.Equal(t, DefaultHTTPReadTimeout, l.HTTP.ReadTimeout.Duration)
			}},
		{name: "a git file limit is kept",
			limits: "limits:\n  git: {maxFileBytes: 65536}\n",
			check: func(t *testing.T, l Limits) {
				assert.Equal(t, 65536, l.Git.MaxFileBytes)
				assert.Equal(t, DefaultGitMaxObjectBytes, l.Git.MaxObjectBytes)
				assert.Equal(t, DefaultPromMaxBodyBytes, l.Prometheus.MaxBodyBytes)
			}},
		{name: "a git object limit is kept",
			limits: "limits:\n  git: {maxObjectBytes: 1073741824}\n",
			check: func(t *testing.T, l Limits) {
				assert.Equal(t, 1<<30, l.Git.MaxObjectBytes)
				assert.Equal(t, DefaultGitMaxFileBytes, l.Git.MaxFileBytes)
			}},
		{name: "a negative git file limit",
			limits:  "limits:\n  git: {maxFileBytes: -1}\n",
			wantErr: []string{"c.yaml:6: limits.git.maxFileBytes: must be at least 1, got -1"}},
		{name: "a negative git object limit",
			limits:  "limits:\n  git:\n    maxObjectBytes: -4\n",
			wantErr: []string{"c.yaml:7: limits.git.maxObjectBytes: must be at least 1, got -4"}},
		{name: "negative sizes and counts",
			limits: "limits:\n  prometheus:\n    maxBodyBytes: -1\n    maxSeries: -5\n  http:\n    maxHeaderBytes: -1\n    maxConnections: -2\n",
			wantErr: []string{
				"c.yaml:7: limits.prometheus.maxBodyBytes: must be at least 1, got -1",
				"c.yaml:8: limits.prometheus.maxSeries: must be at least 1, got -5",
				"c.yaml:10: limits.http.maxHeaderBytes: must be at least 1, got -1",
				"c.yaml:11: limits.http.maxConnections: must be at least 1, got -2",
			}},
		{name: "render limits set are kept, the others defaulted",
			limits: "limits:\n  render: {workers: 1, maxMemoryBytes: 268435456, timeout: 5s}\n",
			check: func(t *testing.T, l Limits) {
				assert.Equal(t, RenderLimits{Workers: 1, MaxMemoryBytes: 256 << 20, MaxCPUSeconds: DefaultRenderMaxCPUSeconds,
					MaxOutputBytes: DefaultRenderMaxOutputBytes, Timeout: Duration{Duration: 5 * time.Second}}, l.Render)
			}},
		{name: "bad render limits",
			limits: "limits:\n  render:\n    workers: -1\n    maxMemoryBytes: 1048576\n    maxCPUSeconds: -3\n    maxOutputBytes: -1\n    timeout: -2s\n",
			wantErr: []string{
				"c.yaml:7: limits.render.workers: must be at least 1, got -1",
				"c.yaml:8: limits.render.maxMemoryBytes: must be at least 50331648 (48 MiB): a render worker needs about 30 MiB for itself, got 1048576",
				"c.yaml:9: limits.render.maxCPUSeconds: must be at least 1, got -3",
				"c.yaml:10: limits.render.maxOutputBytes: must be at least 1, got -1",
				"c.yaml:11: limits.render.timeout: must be above 0, got -2s",
			}},
		{name: "chart limits set are kept, the others defaulted",
			limits: "limits:\n  charts: {maxArchiveBytes: 1048576, rangeTTL: 5m}\n",
			check: func(t *testing.T, l Limits) {
				assert.Equal(t, ChartLimits{MaxArchiveBytes: 1 << 20, MaxIndexBytes: DefaultChartMaxIndexBytes,
					MaxCacheBytes: DefaultChartMaxCacheBytes, Timeout: Duration{Duration: DefaultChartTimeout}, RangeTTL: Duration{Duration: 5 * time.Minute}}, l.Charts)
			}},
		{name: "bad chart limits",
			limits: "limits:\n  charts:\n    maxArchiveBytes: 2097152\n    maxIndexBytes: -1\n    maxCacheBytes: 1048576\n    timeout: -1s\n",
			wantErr: []string{
				"c.yaml:8: limits.charts.maxIndexBytes: must be at least 1, got -1",
				"c.yaml:9: limits.charts.maxCacheBytes: must be at least maxArchiveBytes (2097152): the cache holds the chart being rendered, got 1048576",
				"c.yaml:10: limits.charts.timeout: must be above 0, got -1s",
			}},
		{name: "bad chart repositories",
			limits: "chartRepositories:\n  - {url: ftp://charts.example.com}\n  - {url: 'https://bot:pw@charts.example.com'}\n  - {url: oci://ghcr.io/acme, username: bot}\n  - {username: bot, passwordFile: /p}\n",
			wantErr: []string{
				`c.yaml:6: chartRepositories[0].url: must start with https://, http:// or oci://, got "ftp"`,
				"c.yaml:7: chartRepositories[1].url: must not carry credentials (https://bot:xxxxx@charts.example.com): use username and passwordFile",
				"c.yaml:8: chartRepositories[2]: set username and passwordFile together",
				"c.yaml:9: chartRepositories[3].url: required",
			}},
		{name: "negative durations",
			limits:  "limits:\n  http: {idleTimeout: -1s}\n",
			wantErr: []string{"c.yaml:6: limits.http.idleTimeout: must be above 0, got -1s"}},
		{name: "fewer samples than series",
			limits:  "limits:\n  prometheus: {maxSeries: 100, maxSamples: 10}\n",
			wantErr: []string{"c.yaml:6: limits.prometheus.maxSamples: must be at least maxSeries (100): every series holds a sample, got 10"}},
		{name: "header timeout above the read timeout",
			limits:  "limits:\n  http: {readHeaderTimeout: 1m, readTimeout: 10s}\n",
			wantErr: []string{"c.yaml:6: limits.http.readHeaderTimeout: must not be above readTimeout (10s), got 1m0s"}},
		{name: "a size written as a string",
			limits:  "limits:\n  prometheus: {maxBodyBytes: 4Mi}\n",
			wantErr: []string{`c.yaml:6: limits.prometheus.maxBodyBytes: must be an integer`}},
		{name: "an unknown limit",
			limits:  "limits:\n  prometheus: {maxBytes: 10}\n",
			wantErr: []string{`c.yaml:6: limits.prometheus.maxBytes: unknown field`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig("c.yaml", []byte(head+tt.limits))
			if tt.wantErr != nil {
				require.Error(t, err)
				for _, want := range tt.wantErr {
					assert.Contains(t, err.Error(), want)
				}
				return
			}
			require.NoError(t, err)
			tt.check(t, cfg.Limits)
		})
	}
}

func TestChartRepositoriesConfig(t *testing.T) {
	cfg, err := LoadConfig("c.yaml", []byte("apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: AutoscalerConfig\nrepositories:\n  - {name: r, url: ./gitops}\n"+
		"chartRepositories:\n  - {url: https://charts.example.com, username: bot, passwordFile: /run/secrets/charts}\n  - {url: oci://ghcr.io/acme, plainHTTP: true}\n"))
	require.NoError(t, err)
	assert.Equal(t, []ChartRepository{
		{URL: "https://charts.example.com", Username: "bot", PasswordFile: "/run/secrets/charts"},
		{URL: "oci://ghcr.io/acme", PlainHTTP: true},
	}, cfg.ChartRepositories)
}

// exampleConfig is the complete example config the policy tests load with their policies.
const exampleConfig = "../../policy/testdata/config.yaml"

func mustRead(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	return data
}
