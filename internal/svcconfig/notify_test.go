package svcconfig

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadConfigNotify: repositories[].notify (docs/design.md §7, "Notify after a push") —
// what loads, its defaults, and every refusal naming the file, the line and the field.
func TestLoadConfigNotify(t *testing.T) {
	const head = "apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: AutoscalerConfig\nrepositories:\n" +
		"  - name: r\n    url: https://git.example.com/acme/gitops.git\n    notify:\n"
	tests := []struct {
		name    string
		notify  string
		check   func(t *testing.T, n []Notify)
		wantErr []string
	}{
		{name: "flux generic by default", notify: "      - flux: {receiverURL: 'http://notification-controller.flux-system/hook/0a1b2c'}",
			check: func(t *testing.T, n []Notify) {
				require.Len(t, n, 1)
				assert.Equal(t, &FluxNotify{ReceiverURL: "http://notification-controller.flux-system/hook/0a1b2c", Type: FluxReceiverGeneric}, n[0].Flux)
				assert.Nil(t, n[0].ArgoCD)
			}},
		{name: "flux github and argocd together", notify: "      - flux: {receiverURL: 'https://flux.example.com/hook/1', type: github, tokenFile: /run/flux-token}\n" +
			"      - argocd: {webhookURL: 'https://argocd.example.com/api/webhook', secretFile: /run/argo-secret, repoURL: 'https://github.com/acme/gitops'}",
			check: func(t *testing.T, n []Notify) {
				require.Len(t, n, 2)
				assert.Equal(t, &FluxNotify{ReceiverURL: "https://flux.example.com/hook/1", Type: FluxReceiverGitHub, TokenFile: "/run/flux-token"}, n[0].Flux)
				assert.Equal(t, &ArgoCDNotify{WebhookURL: "https://argocd.example.com/api/webhook", SecretFile: "/run/argo-secret", RepoURL: "https://github.com/acme/gitops"}, n[1].ArgoCD)
			}},
		{name: "argocd without a secret", notify: "      - argocd: {webhookURL: 'http://argocd-server/api/webhook'}",
			check: func(t *testing.T, n []Notify) { assert.Empty(t, n[0].ArgoCD.SecretFile) }},
		{name: "neither controller", notify: "      - {}",
			wantErr: []string{"c.yaml:7: repositories[0].notify[0]: set flux (a notification-controller Receiver) or argocd"}},
		{name: "both controllers in one entry", notify: "      - flux: {receiverURL: 'http://f/hook/1'}\n        argocd: {webhookURL: 'http://a/api/webhook'}",
			wantErr: []string{"c.yaml:7: repositories[0].notify[0]: set flux or argocd, not both"}},
		{name: "flux without a URL", notify: "      - flux: {type: generic}",
			wantErr: []string{`c.yaml:7: repositories[0].notify[0].flux.receiverURL: must be an absolute http:// or https:// URL, got ""`}},
		{name: "flux URL with a password", notify: "      - flux: {receiverURL: 'https://u:hunter2@flux.example.com/hook/1'}",
			wantErr: []string{"c.yaml:7: repositories[0].notify[0].flux.receiverURL: must not carry credentials (https://u:xxxxx@flux.example.com/hook/1)"}},
		{name: "flux unknown type", notify: "      - flux: {receiverURL: 'http://f/hook/1', type: gitlab}",
			wantErr: []string{`c.yaml:7: repositories[0].notify[0].flux.type: must be generic, generic-hmac or github (the Receiver's spec.type), got "gitlab"`}},
		{name: "flux github without its token", notify: "      - flux:\n          receiverURL: 'http://f/hook/1'\n          type: github",
			wantErr: []string{"c.yaml:7: repositories[0].notify[0].flux.tokenFile: required with type github"}},
		{name: "flux generic with a token it would not use", notify: "      - flux:\n          receiverURL: 'http://f/hook/1'\n          tokenFile: /run/t",
			wantErr: []string{"c.yaml:9: repositories[0].notify[0].flux.tokenFile: a Receiver of type generic checks no signature"}},
		{name: "a literal token is an unknown field", notify: "      - flux: {receiverURL: 'http://f/hook/1', type: github, token: s3cr3t-literal}",
			wantErr: []string{"c.yaml:7: repositories[0].notify[0].flux.token"}},
		{name: "argocd with an ftp URL", notify: "      - argocd:\n          webhookURL: 'ftp://argocd/api/webhook'",
			wantErr: []string{`c.yaml:8: repositories[0].notify[0].argocd.webhookURL: must be an absolute http:// or https:// URL, got "ftp://argocd/api/webhook"`}},
		{name: "argocd repoURL not a URL", notify: "      - argocd: {webhookURL: 'http://a/api/webhook', repoURL: 'acme/gitops'}",
			wantErr: []string{"c.yaml:7: repositories[0].notify[0].argocd.repoURL: must be the repository's URL"}},
		{name: "every bad entry is reported", notify: "      - flux: {receiverURL: 'http://f/hook/1', type: nope}\n      - argocd: {webhookURL: ''}",
			wantErr: []string{"c.yaml:7: repositories[0].notify[0].flux.type", "c.yaml:8: repositories[0].notify[1].argocd.webhookURL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig("c.yaml", []byte(head+tt.notify+"\n"))
			if len(tt.wantErr) > 0 {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				assert.NotContains(t, err.Error(), "hunter2", "a password in a URL is never printed")
				assert.NotContains(t, err.Error(), "s3cr3t-literal", "a literal token is never printed")
				return
			}
			require.NoError(t, err)
			tt.check(t, cfg.Repositories[0].Notify)
		})
	}
}
