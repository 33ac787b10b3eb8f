package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

var shopWeb = policy.TargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "shop-web", Namespace: "shop"}

func shopHelm(chart string, values ...string) Request {
	return Request{Root: testRepo, Helm: &policy.HelmRender{Chart: chart, ValuesFiles: values, ReleaseName: "shop", Namespace: "shop"}}
}

func argoReq(app string) Request {
	return Request{Root: testRepo, ArgoCD: &policy.ArgoCDRender{Application: app}}
}

// edit is one decision's edit of a file of a request's repository.
type edit struct {
	file, path, old, new string
	from, to             int
}

// verifyReq builds the VerifyRequest of an edit, replacing old by new in the file as the
// editor would (the file as the request's overlay has it, else as on disk).
func verifyReq(t *testing.T, req Request, target policy.TargetRef, e edit) VerifyRequest {
	t.Helper()
	data, ok := req.Overlay[e.file]
	if !ok {
		var err error
		data, err = os.ReadFile(filepath.Join(req.Root, e.file))
		require.NoError(t, err)
	}
	require.Contains(t, string(data), e.old, "the edit's old text is in %s", e.file)
	return VerifyRequest{
		Request: req, Target: target, File: e.file, Path: e.path,
		Content: []byte(strings.Replace(string(data), e.old, e.new, 1)),
		Current: e.from, Desired: e.to,
	}
}

// verifyCase is one decision verified over a chart (or Application, or HelmRelease) written
// for one mechanism: what a right edit commits with, or why a wrong one is refused.
type verifyCase struct {
	name         string
	req          func(t *testing.T) VerifyRequest
	summary      string   // a right edit: the commit's render line …
	consequences []string // … and its also: lines
	reason       string   // a wrong edit: the refusal's reason …
	contains     []string // … and what its message must say
}

func runVerifyCases(t *testing.T, tests []verifyCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Verify(context.Background(), tc.req(t))
			if tc.reason == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.summary, got.Summary)
				var lines []string
				for _, c := range got.Consequences {
					lines = append(lines, c.String())
				}
				assert.Equal(t, tc.consequences, lines)
				return
			}
			var ve *VerifyError
			require.ErrorAs(t, err, &ve)
			t.Log(ve.Message)
			assert.Equal(t, tc.reason, ve.Reason, ve.Message)
			for _, want := range tc.contains {
				assert.Contains(t, ve.Message, want)
			}
		})
	}
}

func TestVerifyGeneratedContent(t *testing.T) {
	withChecksum := func(req Request) Request {
		req.Helm.ValuesFiles = append(req.Helm.ValuesFiles, "envs/prod/shop/checksum.yaml")
		req.Overlay = map[string][]byte{"envs/prod/shop/checksum.yaml": []byte("checksumValues: true\n")}
		return req
	}
	scale := edit{file: "charts/gensecret/values.yaml", path: "replicaCount", old: "replicaCount: 1", new: "replicaCount: 2", from: 1, to: 2}
	runVerifyCases(t, []verifyCase{
		{
			name:    "generated password, session key, timestamp, their checksums and a hook's generated name are noise",
			req:     func(t *testing.T) VerifyRequest { return verifyReq(t, shopHelm("charts/gensecret"), shopWeb, scale) },
			summary: "rendered Deployment shop/shop-web: spec.replicas 1 → 2",
		},
		{
			name: "a checksum of the values still restarts pods next to generated ones",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, withChecksum(shopHelm("charts/gensecret")), shopWeb, scale)
			},
			reason: ReasonPodRestart,
			contains: []string{
				"changes Deployment shop/shop-web at spec.template.metadata.annotations.checksum/values",
				"set render.allowPodRestart: true",
			},
		},
		{
			name: "allowPodRestart accepts it and names it",
			req: func(t *testing.T) VerifyRequest {
				r := verifyReq(t, withChecksum(shopHelm("charts/gensecret")), shopWeb, scale)
				r.AllowPodRestart = true
				return r
			},
			summary:      "rendered Deployment shop/shop-web: spec.replicas 1 → 2",
			consequences: []string{"changes the pod template of Deployment shop/shop-web at spec.template.metadata.annotations.checksum/values (allowPodRestart: its pods are replaced)"},
		},
		{
			name: "a change besides the count is still a change",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, shopHelm("charts/gensecret"), shopWeb, edit{file: "charts/gensecret/values.yaml", path: "replicaCount",
					old: "replicaCount: 1\nimage: ghcr.io/example/shop:1.0\nlogLevel: info", new: "replicaCount: 2\nimage: ghcr.io/example/shop:1.0\nlogLevel: debug", from: 1, to: 2})
			},
			reason:   ReasonOtherObjectsChanged,
			contains: []string{"changes ConfigMap shop/shop-web at data.LOG_LEVEL"},
		},
		{
			name: "genCA certificate, key and CA bundle are noise",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, shopHelm("charts/genca"), policy.TargetRef{Kind: "Deployment", Name: "shop-webhook"},
					edit{file: "charts/genca/values.yaml", path: "replicaCount", old: "replicaCount: 1", new: "replicaCount: 3", from: 1, to: 3})
			},
			summary: "rendered Deployment shop/shop-webhook: spec.replicas 1 → 3",
		},
	})
}

func TestVerifyHooks(t *testing.T) {
	scale := edit{file: "charts/testhook/values.yaml", path: "replicaCount", old: "replicaCount: 1", new: "replicaCount: 2", from: 1, to: 2}
	runVerifyCases(t, []verifyCase{
		{
			name:    "test hooks with generated names that follow the count are ignored",
			req:     func(t *testing.T) VerifyRequest { return verifyReq(t, shopHelm("charts/testhook"), shopWeb, scale) },
			summary: "rendered Deployment shop/shop-web: spec.replicas 1 → 2",
		},
		{
			name: "other hooks are compared like any object",
			req: func(t *testing.T) VerifyRequest {
				req := shopHelm("charts/testhook", "envs/prod/shop/announce.yaml")
				req.Overlay = map[string][]byte{"envs/prod/shop/announce.yaml": []byte("announceReplicas: true\n")}
				return verifyReq(t, req, shopWeb, scale)
			},
			reason:   ReasonOtherObjectsChanged,
			contains: []string{"changes Job shop/shop-announce at spec.template.spec.containers[name=announce].args[1]"},
		},
	})

	objs, err := Render(context.Background(), shopHelm("charts/testhook"))
	require.NoError(t, err)
	for _, o := range objs {
		assert.NotEqual(t, "Pod", o.Kind, "a test pod is not deployed state: %s", o)
	}
	find(t, objs, "Job", "shop-announce")
}

func TestVerifyConsequences(t *testing.T) {
	values := "envs/prod/shop/values.yaml"
	scale := func(from, to int) edit {
		return edit{file: values, path: "replicaCount", old: "replicaCount: 1", new: "replicaCount: " + itoa(to), from: from, to: to}
	}
	// at starts the chart at another count, through an overlay of the values file.
	at := func(n int, req Request) Request {
		req.Overlay = map[string][]byte{values: []byte("replicaCount: " + itoa(n) + " # web tier\n")}
		return req
	}
	rescale := func(from, to int) edit {
		return edit{file: values, path: "replicaCount", old: "replicaCount: " + itoa(from), new: "replicaCount: " + itoa(to), from: from, to: to}
	}
	runVerifyCases(t, []verifyCase{
		{
			name: "above one replica: a budget appears and anti-affinity switches on",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, shopHelm("charts/pdb", values), shopWeb, scale(1, 2))
			},
			summary: "rendered Deployment shop/shop-web: spec.replicas 1 → 2",
			consequences: []string{
				"adds pod anti-affinity to Deployment shop/shop-web (its pods are replaced)",
				"adds PodDisruptionBudget shop/shop-web",
			},
		},
		{
			name: "2 → 4: the budget changes and topology spread switches on",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, at(2, shopHelm("charts/pdb", values)), shopWeb, rescale(2, 4))
			},
			summary: "rendered Deployment shop/shop-web: spec.replicas 2 → 4",
			consequences: []string{
				"adds topology spread constraints to Deployment shop/shop-web (its pods are replaced)",
				"changes PodDisruptionBudget shop/shop-web (spec.minAvailable)",
			},
		},
		{
			name: "2 → 3: nothing but the count",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, at(2, shopHelm("charts/pdb", values)), shopWeb, rescale(2, 3))
			},
			summary: "rendered Deployment shop/shop-web: spec.replicas 2 → 3",
			consequences: []string{
				"adds topology spread constraints to Deployment shop/shop-web (its pods are replaced)",
			},
		},
		{
			name: "back to one: the budget goes, the spreading too",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, at(3, shopHelm("charts/pdb", values)), shopWeb, rescale(3, 1))
			},
			summary: "rendered Deployment shop/shop-web: spec.replicas 3 → 1",
			consequences: []string{
				"removes the pod anti-affinity of Deployment shop/shop-web (its pods are replaced)",
				"removes the topology spread constraints of Deployment shop/shop-web (its pods are replaced)",
				"removes PodDisruptionBudget shop/shop-web",
			},
		},
		{
			name: "a budget of other pods that follows the count is refused",
			req: func(t *testing.T) VerifyRequest {
				req := shopHelm("charts/pdb", values, "envs/prod/shop/bug.yaml")
				req.Overlay = map[string][]byte{"envs/prod/shop/bug.yaml": []byte("worker: {budgetFollowsWeb: true}\n")}
				return verifyReq(t, req, shopWeb, scale(1, 2))
			},
			reason:   ReasonOtherObjectsChanged,
			contains: []string{"changes PodDisruptionBudget shop/shop-worker at spec.minAvailable, which does not select the pods of Deployment shop/shop-web"},
		},
		{
			name: "an HPA of the chart fights the autoscaler",
			req: func(t *testing.T) VerifyRequest {
				req := shopHelm("charts/pdb", values, "envs/prod/shop/hpa.yaml")
				req.Overlay = map[string][]byte{"envs/prod/shop/hpa.yaml": []byte("autoscaling: {enabled: true}\n")}
				return verifyReq(t, req, shopWeb, scale(1, 2))
			},
			reason:   ReasonHPAConflict,
			contains: []string{"HorizontalPodAutoscaler shop/shop-web (from pdb/templates/hpa.yaml) also scales Deployment shop/shop-web"},
		},
	})
}

func TestVerifyCapabilities(t *testing.T) {
	worker := policy.TargetRef{Kind: "Deployment", Name: "shop-worker", Namespace: "shop"}
	scale := edit{file: "charts/capabilities/values.yaml", path: "replicaCount", old: "replicaCount: 2", new: "replicaCount: 3", from: 2, to: 3}
	withAPIs := func(apis ...string) Request {
		req := shopHelm("charts/capabilities")
		req.Helm.APIVersions = apis
		return req
	}
	runVerifyCases(t, []verifyCase{
		{
			name:    "a cluster without KEDA: no ScaledObject, the count is ours",
			req:     func(t *testing.T) VerifyRequest { return verifyReq(t, shopHelm("charts/capabilities"), worker, scale) },
			summary: "rendered Deployment shop/shop-worker: spec.replicas 2 → 3",
		},
		{
			name: "a cluster with KEDA: the chart's ScaledObject would fight",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, withAPIs("keda.sh/v1alpha1/ScaledObject"), worker, scale)
			},
			reason:   ReasonHPAConflict,
			contains: []string{"ScaledObject shop/shop-worker (from capabilities/templates/worker.yaml) also scales Deployment shop/shop-worker"},
		},
	})

	tests := []struct {
		name        string
		kubeVersion string
		apis        []string
		want        []string // apiVersion Kind of each object
		err         string
	}{
		{name: "default version and APIs", want: []string{"apps/v1 Deployment", "policy/v1 PodDisruptionBudget"}},
		{name: "an older cluster", kubeVersion: "v1.24.17", want: []string{"apps/v1 Deployment", "policy/v1beta1 PodDisruptionBudget"}},
		{name: "a cluster with the Prometheus Operator", apis: []string{"monitoring.coreos.com/v1"},
			want: []string{"apps/v1 Deployment", "policy/v1 PodDisruptionBudget", "monitoring.coreos.com/v1 ServiceMonitor"}},
		{name: "a cluster the chart does not support", kubeVersion: "1.22", err: "chart requires kubeVersion: >=1.23.0-0 which is incompatible with Kubernetes v1.22"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := withAPIs(tc.apis...)
			req.Helm.KubeVersion = tc.kubeVersion
			objs, err := Render(context.Background(), req)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			var got []string
			for _, o := range objs {
				got = append(got, o.APIVersion+" "+o.Kind)
			}
			assert.ElementsMatch(t, tc.want, got)
		})
	}
}

// packChart writes the chart directory src as a gzipped tar archive with the chart's name as
// its top directory, as `helm package` (and so `helm dependency build`) does.
func packChart(t *testing.T, src, name, dest string) {
	t.Helper()
	entries := map[string]string{}
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(src, p)
		entries[name+"/"+filepath.ToSlash(rel)] = string(data)
		return err
	}))
	require.NoError(t, os.MkdirAll(filepath.Dir(dest), 0o755))
	require.NoError(t, os.WriteFile(dest, tarWith(t, entries), 0o644))
}

// tarWith is a gzipped tar archive of the given entries.
func tarWith(t *testing.T, entries map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, data := range entries {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(data))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

func TestVerifyVendoredArchive(t *testing.T) {
	root := t.TempDir()
	copyTree(t, testRepo, root)
	packChart(t, filepath.Join(testRepo, "subcharts/web"), "web", filepath.Join(root, "charts/umbrella/charts/web-1.0.0.tgz"))

	req := shopHelm("charts/umbrella", "envs/prod/umbrella.yaml")
	req.Root = root
	v, err := Verify(context.Background(), verifyReq(t, req, shopWeb,
		edit{file: "envs/prod/umbrella.yaml", path: "web.replicaCount", old: "replicaCount: 2", new: "replicaCount: 5", from: 2, to: 5}))
	require.NoError(t, err)
	assert.Equal(t, "rendered Deployment shop/shop-web: spec.replicas 2 → 5", v.Summary)
	assert.Empty(t, v.Consequences)

	t.Run("an archive that reaches out of the chart is refused", func(t *testing.T) {
		evil := t.TempDir()
		copyTree(t, testRepo, evil)
		dest := filepath.Join(evil, "charts/umbrella/charts/web-1.0.0.tgz")
		require.NoError(t, os.MkdirAll(filepath.Dir(dest), 0o755))
		require.NoError(t, os.WriteFile(dest, tarWith(t, map[string]string{
			"web/Chart.yaml":       "apiVersion: v2\nname: web\nversion: 1.0.0\n",
			"web/../../escape.txt": "x",
		}), 0o644))
		req := shopHelm("charts/umbrella", "envs/prod/umbrella.yaml")
		req.Root = evil
		_, err := Render(context.Background(), req)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "chart illegally references parent directory")
	})
	t.Run("an archive that is a symlink out of the repository is refused", func(t *testing.T) {
		linked := t.TempDir()
		copyTree(t, testRepo, linked)
		outside := filepath.Join(t.TempDir(), "web-1.0.0.tgz")
		packChart(t, filepath.Join(testRepo, "subcharts/web"), "web", outside)
		require.NoError(t, os.MkdirAll(filepath.Join(linked, "charts/umbrella/charts"), 0o755))
		require.NoError(t, os.Symlink(outside, filepath.Join(linked, "charts/umbrella/charts/web-1.0.0.tgz")))
		req := shopHelm("charts/umbrella", "envs/prod/umbrella.yaml")
		req.Root = linked
		_, err := Render(context.Background(), req)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "charts/web-1.0.0.tgz is a symlink that leaves the repository root")
	})
	t.Run("without the archive and without a Chart.lock the dependency is missing, and nothing is fetched", func(t *testing.T) {
		_, err := Render(context.Background(), shopHelm("charts/umbrella", "envs/prod/umbrella.yaml"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "vendor them with `helm dependency build`, or lock them in Chart.lock to a Helm repository or OCI registry")
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestVerifyErrorsAreVerifyErrors(t *testing.T) {
	_, err := Verify(context.Background(), VerifyRequest{Request: argoReq("argocd/missing.yaml"), Target: shopWeb, File: "envs/prod/shop/values.yaml", Content: []byte("x: 1\n"), Current: 1, Desired: 2})
	var ve *VerifyError
	require.True(t, errors.As(err, &ve))
	assert.Equal(t, ReasonRenderFailed, ve.Reason)
}
