package charttest

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"helm.sh/helm/v3/pkg/chart"
)

func testChart() *chart.Chart {
	return &chart.Chart{
		Metadata:  &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "web", Version: "1.0.0"},
		Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n")}},
	}
}

// TestHelmRepo: the repository serves its index over HTTPS to a client that trusts the CA and
// holds the credentials; without them the server refuses, and a client that does not trust the
// CA never reaches the handler (the count stays).
func TestHelmRepo(t *testing.T) {
	ca := NewCA(t, "repo")
	h := StartHelmRepo(t, Options{User: "u", Password: "p", TLS: ca}, testChart())
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(t)}}}
	tests := []struct {
		name        string
		client      *http.Client
		user        string
		wantStatus  int
		wantErr     string
		wantReached bool
	}{
		{name: "trusted, with credentials", client: trusting, user: "u", wantStatus: http.StatusOK, wantReached: true},
		{name: "trusted, without credentials", client: trusting, wantStatus: http.StatusUnauthorized, wantReached: true},
		{name: "not trusted", client: &http.Client{}, user: "u", wantErr: "x509: certificate signed by unknown authority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := h.Requests()
			req, err := http.NewRequest(http.MethodGet, h.URL+"/index.yaml", nil)
			require.NoError(t, err)
			if tc.user != "" {
				req.SetBasicAuth(tc.user, "p")
			}
			resp, err := tc.client.Do(req)
			after, _ := h.Requests()
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.Equal(t, before, after)
				return
			}
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tc.wantStatus, resp.StatusCode)
			require.Equal(t, before+1, after)
			if tc.wantStatus == http.StatusOK {
				body, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.True(t, strings.Contains(string(body), "web-1.0.0.tgz"), string(body))
			}
		})
	}
}

// TestDigest: the digest Add returns is the sha256 of the archive the repository serves.
func TestDigest(t *testing.T) {
	h := StartHelmRepo(t, Options{})
	d := h.Add(t, testChart())
	resp, err := http.Get(h.URL + "/web-1.0.0.tgz")
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, Digest(data), d)
	require.Regexp(t, `^sha256:[0-9a-f]{64}$`, d)
}
