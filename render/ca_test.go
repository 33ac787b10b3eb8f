package render

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/testserver/charttest"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// TestChartRepositoryCA: a Helm repository and docker-registry served over TLS with a
// certificate of a CA generated for the test. A chartRepositories entry's caFile makes the pull
// trust that CA (and only it); a wrong CA, or none, is a refusal naming the repository and the
// entry, the handshake fails before any request so no credential is sent (the Helm repository
// counts the requests that reached it), and no error holds the password in any encoding.
func TestChartRepositoryCA(t *testing.T) {
	ca := charttest.NewCA(t, "charts")
	other := charttest.NewCA(t, "other")
	ch, err := loader.LoadDir(filepath.Join("testdata", "repo", "charts", "plain"))
	require.NoError(t, err)
	ch.Metadata.Version = "0.2.0"
	const user, password = "puller", "s3cret-TLS-Pa55"
	helm := charttest.StartHelmRepo(t, charttest.Options{User: user, Password: password, TLS: ca}, ch)
	reg := charttest.StartRegistry(t, charttest.Options{User: user, Password: password, TLS: ca})
	reg.Push(t, "charts", ch, "")
	pass := writeSecret(t, password)
	empty := filepath.Join(t.TempDir(), "empty.pem")
	require.NoError(t, os.WriteFile(empty, []byte("no certificate here\n"), 0o600))
	ociURL := "oci://" + reg.Host + "/charts"

	tests := []struct {
		name    string
		repoURL string
		entry   svcconfig.ChartRepository // its URL is repoURL
		wantErr []string
		// reached: whether a request got to the Helm repository's handler
		reached bool
	}{
		{name: "helm repository, its CA", repoURL: helm.URL, entry: svcconfig.ChartRepository{Username: user, PasswordFile: pass, CAFile: ca.CertFile}, reached: true},
		{name: "registry, its CA", repoURL: ociURL, entry: svcconfig.ChartRepository{Username: user, PasswordFile: pass, CAFile: ca.CertFile}},
		{
			name: "helm repository, another CA", repoURL: helm.URL, entry: svcconfig.ChartRepository{Username: user, PasswordFile: pass, CAFile: other.CertFile},
			wantErr: []string{"argocd/app.yaml:9: spec.sources[0].chart: chart plain 0.2.0 from " + helm.URL + ": cannot download the index of it",
				"(TLS: the server's certificate does not verify against chartRepositories[0].caFile " + other.CertFile + "; nothing was sent)"},
		},
		{
			name: "registry, another CA", repoURL: ociURL, entry: svcconfig.ChartRepository{Username: user, PasswordFile: pass, CAFile: other.CertFile},
			wantErr: []string{"argocd/app.yaml:9: spec.sources[0].chart: chart " + ociURL + "/plain 0.2.0: cannot pull it",
				"(TLS: the server's certificate does not verify against chartRepositories[0].caFile " + other.CertFile + "; nothing was sent)"},
		},
		{
			name: "helm repository, no CA: the machine's roots", repoURL: helm.URL, entry: svcconfig.ChartRepository{Username: user, PasswordFile: pass},
			wantErr: []string{"chart plain 0.2.0 from " + helm.URL + ": cannot download the index of it",
				"does not verify against the machine's certificate authorities; a private CA goes in the repository's chartRepositories entry as caFile"},
		},
		{
			name: "a CA file that is missing", repoURL: helm.URL, entry: svcconfig.ChartRepository{CAFile: filepath.Join(t.TempDir(), "gone.pem")},
			wantErr: []string{"chart plain 0.2.0 from " + helm.URL + ": chartRepositories[0].caFile: open ", "gone.pem: no such file or directory"},
		},
		{
			name: "a CA file without a certificate", repoURL: helm.URL, entry: svcconfig.ChartRepository{CAFile: empty},
			wantErr: []string{"chartRepositories[0].caFile: " + empty + " holds no PEM certificate"},
		},
		{
			name: "a CA with plainHTTP", repoURL: ociURL, entry: svcconfig.ChartRepository{CAFile: ca.CertFile, PlainHTTP: true},
			wantErr: []string{"chartRepositories[0] sets caFile and plainHTTP: a CA is for TLS, which plainHTTP turns off"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entry := tc.entry
			entry.URL = tc.repoURL
			before, beforeAuth := helm.Requests()
			req := Request{
				Root:   remoteGitRepo(t, map[string]string{"values/web.yaml": "replicaCount: 4\n", "argocd/app.yaml": argoChartApp(tc.repoURL, "plain", "0.2.0")}),
				Charts: newTestCharts(t, []svcconfig.ChartRepository{entry}, svcconfig.ChartLimits{}),
				ArgoCD: &policy.ArgoCDRender{Application: "argocd/app.yaml"},
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			objs, err := Render(ctx, req)
			after, afterAuth := helm.Requests()
			if len(tc.wantErr) > 0 {
				require.Error(t, err)
				for _, want := range tc.wantErr {
					require.Contains(t, err.Error(), want)
				}
				for _, s := range []string{password, base64.StdEncoding.EncodeToString([]byte(user + ":" + password))} {
					require.NotContains(t, err.Error(), s)
				}
				require.Equal(t, before, after, "no request reached the Helm repository")
				require.Equal(t, beforeAuth, afterAuth, "no credential reached the Helm repository")
				return
			}
			require.NoError(t, err)
			replicas, label := deploymentOf(t, objs)
			require.Equal(t, 4, replicas)
			require.Equal(t, "plain-0.2.0", label)
			if tc.reached {
				require.Greater(t, afterAuth, beforeAuth, "the pull went through with the credentials")
			}
		})
	}
}
