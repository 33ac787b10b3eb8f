package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

var webTarget = policy.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "laravel-web", Namespace: "laravel-demo"}

// edited returns a file of the test repository with one replacement made, as the editor would.
func edited(t *testing.T, file, old, new string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testRepo, file))
	require.NoError(t, err)
	require.Contains(t, string(data), old)
	return []byte(strings.Replace(string(data), old, new, 1))
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name     string
		req      func(t *testing.T) VerifyRequest
		summary  string // on success
		reason   string // on refusal
		contains []string
	}{
		{
			name: "helm values file edit verified",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/plain", "envs/prod/values.yaml", "envs/prod/web/values.yaml"),
					Target:  webTarget, File: "envs/prod/web/values.yaml", Path: "replicaCount",
					Content: edited(t, "envs/prod/web/values.yaml", "replicaCount: 3", "replicaCount: 6"),
					Current: 3, Desired: 6,
				}
			},
			summary:  "rendered Deployment laravel-demo/laravel-web: spec.replicas 3 → 6",
			contains: []string{"-  replicas: 3\n+  replicas: 6\n", "--- Deployment laravel-demo/laravel-web (rendered, before)"},
		},
		{
			name: "chart's own values.yaml edit verified",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/plain", "envs/prod/values.yaml"),
					Target:  webTarget, File: "charts/plain/values.yaml", Path: "replicaCount",
					Content: edited(t, "charts/plain/values.yaml", "replicaCount: 1", "replicaCount: 2"),
					Current: 1, Desired: 2,
				}
			},
			summary: "rendered Deployment laravel-demo/laravel-web: spec.replicas 1 → 2",
		},
		{
			name: "library chart dependency verified",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/withlib", "envs/prod/worker.yaml"),
					Target:  policy.TargetRef{Kind: "Deployment", Name: "laravel-worker", Namespace: "laravel-demo"},
					File:    "envs/prod/worker.yaml", Path: "replicaCount",
					Content: edited(t, "envs/prod/worker.yaml", "replicaCount: 2", "replicaCount: 5"),
					Current: 2, Desired: 5,
				}
			},
			summary: "rendered Deployment laravel-demo/laravel-worker: spec.replicas 2 → 5",
		},
		{
			name: "statefulset scale-down verified",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/stateful", "envs/prod/horizon.yaml"),
					Target:  policy.TargetRef{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "laravel-horizon", Namespace: "laravel-demo"},
					File:    "envs/prod/horizon.yaml", Path: "replicas",
					Content: edited(t, "envs/prod/horizon.yaml", "replicas: 2", "replicas: 1"),
					Current: 2, Desired: 1,
				}
			},
			summary: "rendered StatefulSet laravel-demo/laravel-horizon: spec.replicas 2 → 1",
		},
		{
			name: "kustomize replicas entry verified",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: kustomizeReq("kustomize/prod"),
					Target:  webTarget, File: "kustomize/prod/kustomization.yaml", Path: "replicas[name=laravel-web].count",
					Content: edited(t, "kustomize/prod/kustomization.yaml", "count: 3", "count: 6"),
					Current: 3, Desired: 6,
				}
			},
			summary: "rendered Deployment laravel-demo/laravel-web: spec.replicas 3 → 6",
		},
		{
			name: "later values file overrides the key",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/plain", "envs/prod/values.yaml", "envs/prod/web/values.yaml", "envs/prod/override.yaml"),
					Target:  webTarget, File: "envs/prod/web/values.yaml", Path: "replicaCount",
					Content: edited(t, "envs/prod/web/values.yaml", "replicaCount: 3", "replicaCount: 6"),
					Current: 3, Desired: 6,
				}
			},
			reason: ReasonKeyOverridden,
			contains: []string{
				"envs/prod/web/values.yaml#replicaCount does not reach Deployment laravel-demo/laravel-web",
				"rendered spec.replicas stays 4",
				"envs/prod/override.yaml comes after envs/prod/web/values.yaml and sets replicaCount: 4",
			},
		},
		{
			name: "environment values file overrides the chart's values.yaml",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/plain", "envs/prod/values.yaml", "envs/prod/web/values.yaml"),
					Target:  webTarget, File: "charts/plain/values.yaml", Path: "replicaCount",
					Content: edited(t, "charts/plain/values.yaml", "replicaCount: 1", "replicaCount: 2"),
					Current: 1, Desired: 2,
				}
			},
			reason:   ReasonKeyOverridden,
			contains: []string{"envs/prod/web/values.yaml comes after charts/plain/values.yaml"},
		},
		{
			name: "HPA rendered for the workload",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/hpa", "envs/prod/hpa.yaml"),
					Target:  webTarget, File: "envs/prod/hpa.yaml", Path: "replicaCount",
					Content: edited(t, "envs/prod/hpa.yaml", "replicaCount: 3", "replicaCount: 6"),
					Current: 3, Desired: 6,
				}
			},
			reason: ReasonHPAConflict,
			contains: []string{
				"HorizontalPodAutoscaler laravel-demo/laravel-web (from hpa/templates/hpa.yaml) also scales Deployment laravel-demo/laravel-web",
				"would fight",
			},
		},
		{
			name: "kustomize patch overrides the base",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: kustomizeReq("kustomize/patched"),
					Target:  webTarget, File: "kustomize/base/deployment.yaml", Path: "spec.replicas",
					Content: edited(t, "kustomize/base/deployment.yaml", "replicas: 2", "replicas: 4"),
					Current: 2, Desired: 4,
				}
			},
			reason:   ReasonKeyOverridden,
			contains: []string{"stays 5", "a patch in kustomize/patched/kustomization.yaml sets replicas of laravel-web"},
		},
		{
			name: "kustomize replicas entry overrides the base",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: kustomizeReq("kustomize/prod"),
					Target:  webTarget, File: "kustomize/base/deployment.yaml", Path: "spec.replicas",
					Content: edited(t, "kustomize/base/deployment.yaml", "replicas: 2", "replicas: 4"),
					Current: 2, Desired: 4,
				}
			},
			reason:   ReasonKeyOverridden,
			contains: []string{"stays 3", "kustomize/prod/kustomization.yaml sets a replicas entry for laravel-web"},
		},
		{
			name: "key the chart does not read",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/plain", "envs/prod/web/values.yaml"),
					Target:  webTarget, File: "envs/prod/web/values.yaml", Path: "web.replicas",
					Content: append(edited(t, "envs/prod/web/values.yaml", "", ""), "web:\n  replicas: 6\n"...),
					Current: 3, Desired: 6,
				}
			},
			reason:   ReasonKeyUnused,
			contains: []string{"envs/prod/web/values.yaml#web.replicas does not reach", "stays 3", "the chart does not read it"},
		},
		{
			name: "file that is not a values file of the render",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/plain", "envs/prod/web/values.yaml"),
					Target:  webTarget, File: "envs/prod/override.yaml", Path: "replicaCount",
					Content: edited(t, "envs/prod/override.yaml", "replicaCount: 4", "replicaCount: 6"),
					Current: 4, Desired: 6,
				}
			},
			reason:   ReasonKeyUnused,
			contains: []string{"envs/prod/override.yaml is none of the values the render reads (the chart's values.yaml, envs/prod/web/values.yaml)"},
		},
		{
			name: "checksum of the values restarts pods",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/plain", "envs/prod/web/values.yaml", "envs/prod/checksum.yaml"),
					Target:  webTarget, File: "envs/prod/web/values.yaml", Path: "replicaCount",
					Content: edited(t, "envs/prod/web/values.yaml", "replicaCount: 3", "replicaCount: 6"),
					Current: 3, Desired: 6,
				}
			},
			reason: ReasonPodRestart,
			contains: []string{
				"changes the pod template of Deployment laravel-demo/laravel-web",
				"changes Deployment laravel-demo/laravel-web at spec.template.metadata.annotations.checksum/values",
				"set render.allowPodRestart: true to accept it",
			},
		},
		{
			name: "edit that also changes another object",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/plain", "envs/prod/values.yaml", "envs/prod/web/values.yaml"),
					Target:  webTarget, File: "envs/prod/web/values.yaml", Path: "replicaCount",
					Content: append(edited(t, "envs/prod/web/values.yaml", "replicaCount: 3", "replicaCount: 6"), "env: {WORKERS: \"6\"}\n"...),
					Current: 3, Desired: 6,
				}
			},
			reason:   ReasonOtherObjectsChanged,
			contains: []string{"changes ConfigMap laravel-demo/laravel-web at data.WORKERS"},
		},
		{
			name: "decision disagrees with the render",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/plain", "envs/prod/web/values.yaml"),
					Target:  webTarget, File: "envs/prod/web/values.yaml", Path: "replicaCount",
					Content: edited(t, "envs/prod/web/values.yaml", "replicaCount: 3", "replicaCount: 6"),
					Current: 4, Desired: 6,
				}
			},
			reason:   ReasonReplicasMismatch,
			contains: []string{"rendered spec.replicas goes 3 → 6, but the decision is 4 → 6"},
		},
		{
			name: "replicas removed by the edit",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/hpa", "envs/prod/hpa.yaml"),
					Target:  webTarget, File: "envs/prod/hpa.yaml", Path: "replicaCount",
					Content: []byte("replicaCount: 3\nautoscaling: {enabled: false}\n"),
					Current: 3, Desired: 3,
				}
			},
			reason:   ReasonReplicasMismatch,
			contains: []string{"goes absent → 3"},
		},
		{
			name: "workload not rendered",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/plain", "envs/prod/web/values.yaml"),
					Target:  policy.TargetRef{Kind: "Deployment", Name: "laravel-api", Namespace: "laravel-demo"},
					File:    "envs/prod/web/values.yaml", Path: "replicaCount",
					Content: edited(t, "envs/prod/web/values.yaml", "replicaCount: 3", "replicaCount: 6"),
					Current: 3, Desired: 6,
				}
			},
			reason:   ReasonWorkloadMissing,
			contains: []string{"Deployment laravel-demo/laravel-api is not in the rendered output before the edit (rendered workloads: apps/v1 Deployment laravel-demo/laravel-web)"},
		},
		{
			name: "workload in another namespace",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/plain", "envs/prod/web/values.yaml"),
					Target:  policy.TargetRef{Kind: "Deployment", Name: "laravel-web", Namespace: "staging"},
					File:    "envs/prod/web/values.yaml", Path: "replicaCount",
					Content: edited(t, "envs/prod/web/values.yaml", "replicaCount: 3", "replicaCount: 6"),
					Current: 3, Desired: 6,
				}
			},
			reason: ReasonWorkloadMissing,
		},
		{
			name: "render fails after the edit",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/plain", "envs/prod/web/values.yaml"),
					Target:  webTarget, File: "envs/prod/web/values.yaml", Path: "replicaCount",
					Content: []byte("replicaCount: [\n"),
					Current: 3, Desired: 6,
				}
			},
			reason:   ReasonRenderFailed,
			contains: []string{"after the edit of envs/prod/web/values.yaml", "values file envs/prod/web/values.yaml"},
		},
		{
			name: "render fails before the edit",
			req: func(t *testing.T) VerifyRequest {
				return VerifyRequest{
					Request: helmReq("charts/missingdep"),
					Target:  policy.TargetRef{Kind: "StatefulSet", Name: "laravel-horizon"},
					File:    "charts/missingdep/values.yaml", Path: "replicaCount",
					Content: []byte("replicaCount: 2\n"),
					Current: 1, Desired: 2,
				}
			},
			reason:   ReasonRenderFailed,
			contains: []string{"before the edit", "redis"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // also shows the renderers are safe to run concurrently (go test -race)
			got, err := Verify(context.Background(), tc.req(t))
			if tc.reason == "" {
				require.NoError(t, err)
				t.Log(got.Summary + "\n" + got.Diff)
				assert.Equal(t, tc.summary, got.Summary)
				for _, want := range tc.contains {
					assert.Contains(t, got.Diff, want)
				}
				return
			}
			require.Error(t, err)
			assert.Nil(t, got)
			var ve *VerifyError
			require.True(t, errors.As(err, &ve), "want a *VerifyError, got %T: %v", err, err)
			t.Log(ve.Message)
			assert.Equal(t, tc.reason, ve.Reason, ve.Message)
			for _, want := range tc.contains {
				assert.Contains(t, ve.Message, want)
			}
		})
	}
}

func TestVerifyRefusesEscapingFile(t *testing.T) {
	for _, file := range []string{"../../go.mod", "/etc/hostname", ""} {
		t.Run(file, func(t *testing.T) {
			_, err := Verify(context.Background(), VerifyRequest{
				Request: helmReq("charts/plain"), Target: webTarget, File: file, Content: []byte("x: 1\n"), Current: 1, Desired: 2,
			})
			require.Error(t, err)
			var ve *VerifyError
			assert.False(t, errors.As(err, &ve), "a bad path is invalid input, not a render refusal")
		})
	}
}

func TestVerifyDoesNotWrite(t *testing.T) {
	root := t.TempDir()
	copyTree(t, testRepo, root)
	file := filepath.Join(root, "envs/prod/web/values.yaml")
	before, err := os.ReadFile(file)
	require.NoError(t, err)

	req := helmReq("charts/plain", "envs/prod/web/values.yaml")
	req.Root = root
	v, err := Verify(context.Background(), VerifyRequest{
		Request: req, Target: webTarget, File: "envs/prod/web/values.yaml", Path: "replicaCount",
		Content: []byte("replicaCount: 6\n"), Current: 3, Desired: 6,
	})
	require.NoError(t, err)
	assert.Equal(t, 6, v.After)
	assert.Equal(t, intp(6), v.Workload.Replicas)

	after, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	entries, err := os.ReadDir(filepath.Dir(file))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary files left behind")
}

func TestVerifyErrorUnwraps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Verify(ctx, VerifyRequest{
		Request: helmReq("charts/plain"), Target: webTarget, File: "charts/plain/values.yaml", Current: 1, Desired: 2,
	})
	var ve *VerifyError
	require.True(t, errors.As(err, &ve))
	assert.Equal(t, ReasonRenderFailed, ve.Reason)
	assert.ErrorIs(t, err, context.Canceled)
	assert.True(t, strings.HasPrefix(err.Error(), "render verification refused (RenderFailed): "), err.Error())
}

// BenchmarkVerifyHelm is one decision's verification (two renders) of a chart with twenty
// templates. Target: ≤ 50 ms per decision.
func BenchmarkVerifyHelm(b *testing.B) {
	benchmarkVerifyHelm(b, nil)
}

// BenchmarkVerifyHelmGenerated is the same chart with one more template that generates a
// password, so that the renders differ and every verification renders the unchanged input a
// third time to tell generated fields apart. Target: ≤ 50 ms per decision. (A chart calling
// genCA pays for an RSA key per render on top: Helm's cost, not the comparison's.)
func BenchmarkVerifyHelmGenerated(b *testing.B) {
	benchmarkVerifyHelm(b, map[string][]byte{"charts/big/templates/generated.yaml": []byte(
		"apiVersion: v1\nkind: Secret\nmetadata: {name: big-generated}\ndata:\n  password: {{ randAlphaNum 24 | b64enc }}\n")})
}

func benchmarkVerifyHelm(b *testing.B, overlay map[string][]byte) {
	data, err := os.ReadFile(filepath.Join(testRepo, "envs/prod/big.yaml"))
	require.NoError(b, err)
	req := VerifyRequest{
		Request: helmReq("charts/big", "envs/prod/big.yaml"),
		Target:  policy.TargetRef{Kind: "Deployment", Name: "laravel-big", Namespace: "laravel-demo"},
		File:    "envs/prod/big.yaml", Path: "replicaCount",
		Content: []byte(strings.Replace(string(data), "replicaCount: 3", "replicaCount: 6", 1)),
		Current: 3, Desired: 6,
	}
	req.Overlay = overlay
	ctx := context.Background()
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		v, err := Verify(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if v.After != 6 {
			b.Fatalf("after = %d", v.After)
		}
	}
	reportCPU(b, cpu)
}

// reportCPU adds the process CPU time per operation since start (both renders, GC included).
func reportCPU(b *testing.B, start time.Duration) {
	if used := processCPU() - start; used > 0 {
		b.ReportMetric(float64(used.Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}

// BenchmarkVerifyKustomize is the same for a kustomization overlay over a base.
func BenchmarkVerifyKustomize(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(testRepo, "kustomize/prod/kustomization.yaml"))
	require.NoError(b, err)
	req := VerifyRequest{
		Request: kustomizeReq("kustomize/prod"), Target: webTarget,
		File: "kustomize/prod/kustomization.yaml", Path: "replicas[name=laravel-web].count",
		Content: []byte(strings.Replace(string(data), "count: 3", "count: 6", 1)),
		Current: 3, Desired: 6,
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		if _, err := Verify(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// TestVerifierCheck compares hand-written renders, for the cases no test chart shows.
func TestVerifierCheck(t *testing.T) {
	const rollout = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web, namespace: shop}\nspec: {replicas: %d}\n"
	tests := []struct {
		name    string
		target  policy.TargetRef
		before  string
		after   string
		summary string
		reason  string
		message string
	}{
		{
			name:    "argo rollout",
			target:  policy.TargetRef{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "web", Namespace: "shop"},
			before:  fmt.Sprintf(rollout, 3),
			after:   fmt.Sprintf(rollout, 6),
			summary: "rendered Rollout shop/web: spec.replicas 3 → 6",
		},
		{
			name:    "target of another API group",
			target:  policy.TargetRef{APIVersion: "apps/v1", Kind: "Rollout", Name: "web", Namespace: "shop"},
			before:  fmt.Sprintf(rollout, 3),
			after:   fmt.Sprintf(rollout, 6),
			reason:  ReasonWorkloadMissing,
			message: `Rollout shop/web of API group "apps" is not in the rendered output before the edit (rendered workloads: argoproj.io/v1alpha1 Rollout shop/web)`,
		},
		{
			name:    "workload without a namespace matches a namespaced target",
			target:  policy.TargetRef{Kind: "Deployment", Name: "web", Namespace: "shop"},
			before:  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n",
			after:   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}\n",
			summary: "rendered Deployment web: spec.replicas 3 → 2",
		},
		{
			name:   "two workloads match",
			target: policy.TargetRef{Kind: "Deployment", Name: "web"},
			before: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: a}\nspec: {replicas: 3}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: b}\nspec: {replicas: 3}\n",
			after:  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: a}\nspec: {replicas: 6}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: b}\nspec: {replicas: 3}\n",
			reason: ReasonWorkloadAmbiguous,
		},
		{
			name:   "KEDA ScaledObject on the workload",
			target: policy.TargetRef{Kind: "Deployment", Name: "worker", Namespace: "q"},
			before: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: worker, namespace: q}\nspec: {replicas: 1}\n---\napiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: worker, namespace: q}\nspec: {scaleTargetRef: {name: worker}}\n",
			after:  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: worker, namespace: q}\nspec: {replicas: 2}\n---\napiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: worker, namespace: q}\nspec: {scaleTargetRef: {name: worker}}\n",
			reason: ReasonHPAConflict,
		},
		{
			name:    "HPA on another workload is fine",
			target:  policy.TargetRef{Kind: "Deployment", Name: "web"},
			before:  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: api}\nspec: {scaleTargetRef: {kind: Deployment, name: api}}\n",
			after:   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}\n---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: api}\nspec: {scaleTargetRef: {kind: Deployment, name: api}}\n",
			summary: "rendered Deployment web: spec.replicas 1 → 2",
		},
		{
			name:   "an object added by the edit",
			target: policy.TargetRef{Kind: "Deployment", Name: "web"},
			before: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n",
			after:  "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 2}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra}\n",
			reason: ReasonOtherObjectsChanged,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, err := ParseManifests([]byte(tc.before))
			require.NoError(t, err)
			after, err := ParseManifests([]byte(tc.after))
			require.NoError(t, err)
			var cur, des int
			for _, o := range before {
				if o.Replicas != nil && o.Name == tc.target.Name {
					cur = *o.Replicas
				}
			}
			for _, o := range after {
				if o.Replicas != nil && o.Name == tc.target.Name {
					des = *o.Replicas
				}
			}
			v := verifier{req: VerifyRequest{Target: tc.target, Current: cur, Desired: des}, file: "f.yaml"}
			got, err := v.check(before, after)
			if tc.reason == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.summary, got.Summary)
				return
			}
			var ve *VerifyError
			require.ErrorAs(t, err, &ve)
			t.Log(ve.Message)
			assert.Equal(t, tc.reason, ve.Reason)
			if tc.message != "" {
				assert.Equal(t, tc.message, ve.Message)
			}
		})
	}
}
