package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// withFile adds (or replaces) one file of the request's repository through its overlay.
func withFile(req Request, file, content string) Request {
	ov := map[string][]byte{}
	for k, v := range req.Overlay {
		ov[k] = v
	}
	ov[file] = []byte(content)
	req.Overlay = ov
	return req
}

func fluxReq(file string) Request {
	return Request{Root: testRepo, Flux: &policy.FluxRender{HelmRelease: file}}
}

const shopValues = "envs/prod/shop/values.yaml"

func TestVerifyArgoCD(t *testing.T) {
	scale := edit{file: shopValues, path: "replicaCount", old: "replicaCount: 1", new: "replicaCount: 2", from: 1, to: 2}
	laravelProd := policy.TargetRef{Kind: "Deployment", Name: "prod-laravel-web-v2", Namespace: "laravel-demo"}
	runVerifyCases(t, []verifyCase{
		{
			name:    "multi-source Application with $values: the count and its consequences",
			req:     func(t *testing.T) VerifyRequest { return verifyReq(t, argoReq("argocd/shop.yaml"), shopWeb, scale) },
			summary: "rendered Deployment shop/shop-web: spec.replicas 1 → 2",
			consequences: []string{
				"adds pod anti-affinity to Deployment shop/shop-web (its pods are replaced)",
				"adds PodDisruptionBudget shop/shop-web",
			},
		},
		{
			name: "a parameter of the Application overrides the values file",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, argoReq("argocd/shop-pinned.yaml"), shopWeb, scale)
			},
			reason:   ReasonKeyOverridden,
			contains: []string{"rendered spec.replicas stays 2 — it is overridden: argocd/shop-pinned.yaml spec.source.helm.parameters[0] (replicaCount) comes after envs/prod/shop/values.yaml and sets replicaCount: 2"},
		},
		{
			name: ".argocd-source-<app>.yaml overrides the values file, named as the file that wins",
			req: func(t *testing.T) VerifyRequest {
				app := strings.Replace(readFile(t, "argocd/shop-pinned.yaml"), "      parameters:\n        - name: replicaCount\n          value: \"2\"\n", "", 1)
				req := withFile(argoReq("argocd/shop-pinned.yaml"), "argocd/shop-pinned.yaml", app)
				req = withFile(req, "charts/pdb/.argocd-source-shop.yaml", "helm:\n  parameters:\n    - {name: replicaCount, value: \"3\"}\n")
				return verifyReq(t, req, shopWeb, scale)
			},
			reason:   ReasonKeyOverridden,
			contains: []string{"rendered spec.replicas stays 3 — it is overridden: charts/pdb/.argocd-source-shop.yaml helm.parameters[0] (replicaCount) comes after envs/prod/shop/values.yaml and sets replicaCount: 3"},
		},
		{
			name: ".argocd-source.yaml valuesObject overrides the values file",
			req: func(t *testing.T) VerifyRequest {
				app := strings.Replace(readFile(t, "argocd/shop-pinned.yaml"), "      parameters:\n        - name: replicaCount\n          value: \"2\"\n", "", 1)
				req := withFile(argoReq("argocd/shop-pinned.yaml"), "argocd/shop-pinned.yaml", app)
				req = withFile(req, "charts/pdb/.argocd-source.yaml", "helm:\n  valuesObject: {replicaCount: 4}\n")
				return verifyReq(t, req, shopWeb, scale)
			},
			reason:   ReasonKeyOverridden,
			contains: []string{"it is overridden: charts/pdb/.argocd-source.yaml helm.valuesObject comes after envs/prod/shop/values.yaml and sets replicaCount: 4"},
		},
		{
			name: "valuesObject overrides the values file",
			req: func(t *testing.T) VerifyRequest {
				app := readFile(t, "argocd/shop.yaml")
				app = strings.Replace(app, "image: ghcr.io/example/shop:1.4", "image: ghcr.io/example/shop:1.4\n          replicaCount: 3", 1)
				return verifyReq(t, withFile(argoReq("argocd/shop.yaml"), "argocd/shop.yaml", app), shopWeb, scale)
			},
			reason:   ReasonKeyOverridden,
			contains: []string{"argocd/shop.yaml spec.sources[0].helm.valuesObject comes after envs/prod/shop/values.yaml and sets replicaCount: 3"},
		},
		{
			name: "the count kept in the Application's valuesObject",
			req: func(t *testing.T) VerifyRequest {
				app := readFile(t, "argocd/shop.yaml")
				app = strings.Replace(app, "image: ghcr.io/example/shop:1.4", "image: ghcr.io/example/shop:1.4\n          replicaCount: 3", 1)
				req := withFile(argoReq("argocd/shop.yaml"), "argocd/shop.yaml", app)
				req = withFile(req, shopValues, "replicaCount: 3\n")
				return verifyReq(t, req, shopWeb, edit{file: "argocd/shop.yaml", path: "spec.sources[0].helm.valuesObject.replicaCount",
					old: "replicaCount: 3", new: "replicaCount: 4", from: 3, to: 4})
			},
			summary:      "rendered Deployment shop/shop-web: spec.replicas 3 → 4",
			consequences: []string{"changes PodDisruptionBudget shop/shop-web (spec.minAvailable)"},
		},
		{
			name: "a key the chart does not read",
			req: func(t *testing.T) VerifyRequest {
				req := withFile(argoReq("argocd/shop.yaml"), shopValues, "replicaCount: 1\nweb: {replicas: 1}\n")
				return verifyReq(t, req, shopWeb, edit{file: shopValues, path: "web.replicas", old: "replicas: 1", new: "replicas: 2", from: 1, to: 2})
			},
			reason:   ReasonKeyUnused,
			contains: []string{"envs/prod/shop/values.yaml#web.replicas does not reach Deployment shop/shop-web", "the chart does not read it"},
		},
		{
			name: "a values file the Application does not name",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, argoReq("argocd/shop.yaml"), shopWeb, edit{file: "envs/prod/shop/flux.yaml", path: "replicaCount", old: "replicaCount: 1", new: "replicaCount: 2", from: 1, to: 2})
			},
			reason:   ReasonKeyUnused,
			contains: []string{"envs/prod/shop/flux.yaml is none of the values the render reads (the chart's values.yaml, envs/prod/shop/values.yaml, argocd/shop.yaml spec.sources[0].helm.valuesObject)"},
		},
		{
			name: "the revision in the pod template restarts pods on every commit",
			req: func(t *testing.T) VerifyRequest {
				app := readFile(t, "argocd/shop-pinned.yaml")
				app = strings.Replace(app, "- name: replicaCount\n          value: \"2\"", "- name: podAnnotations.revision\n          value: $ARGOCD_APP_REVISION_SHORT", 1)
				return verifyReq(t, withFile(argoReq("argocd/shop-pinned.yaml"), "argocd/shop-pinned.yaml", app), shopWeb, scale)
			},
			reason:   ReasonPodRestart,
			contains: []string{"changes Deployment shop/shop-web at spec.template.metadata.annotations.revision"},
		},
		{
			name: "kustomize source with the Application's prefix, suffix, images and labels",
			req: func(t *testing.T) VerifyRequest {
				req := argoReq("argocd/environments.yaml")
				req.ArgoCD.Name = "laravel-prod"
				return verifyReq(t, req, laravelProd, edit{file: "kustomize/prod/kustomization.yaml", path: "replicas[name=laravel-web].count", old: "count: 3", new: "count: 5", from: 3, to: 5})
			},
			summary: "rendered Deployment laravel-demo/prod-laravel-web-v2: spec.replicas 3 → 5",
		},
		{
			name: "the Application's kustomize.replicas overrides the kustomization",
			req: func(t *testing.T) VerifyRequest {
				app := "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: laravel}\nspec:\n  source:\n    path: kustomize/prod\n    kustomize:\n      replicas: [{name: laravel-web, count: \"4\"}]\n  destination: {namespace: laravel-demo}\n"
				req := withFile(argoReq("argocd/pin.yaml"), "argocd/pin.yaml", app)
				return verifyReq(t, req, webTarget, edit{file: "kustomize/prod/kustomization.yaml", path: "replicas[name=laravel-web].count", old: "count: 3", new: "count: 5", from: 3, to: 5})
			},
			reason:   ReasonKeyOverridden,
			contains: []string{"stays 4", "argocd/pin.yaml spec.source.kustomize.replicas[0] sets the count of laravel-web"},
		},
		{
			name: "directory source of plain manifests",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, argoReq("argocd/manifests.yaml"), policy.TargetRef{Kind: "Deployment", Name: "web", Namespace: "plain"},
					edit{file: "manifests/web.yaml", path: "spec.replicas", old: "replicas: 2", new: "replicas: 4", from: 2, to: 4})
			},
			summary: "rendered Deployment plain/web: spec.replicas 2 → 4",
		},
		{
			name: "a manifest the directory source excludes",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, argoReq("argocd/manifests.yaml"), policy.TargetRef{Kind: "Deployment", Name: "worker"},
					edit{file: "manifests/extra/ignored-worker.yaml", path: "spec.replicas", old: "replicas: 1", new: "replicas: 2", from: 1, to: 2})
			},
			reason:   ReasonWorkloadMissing,
			contains: []string{"Deployment worker is not in the rendered output before the edit (rendered workloads: apps/v1 Deployment plain/web)"},
		},
	})
}

func TestVerifyFlux(t *testing.T) {
	web := policy.TargetRef{Kind: "Deployment", Name: "shop-web-web", Namespace: "shop"}
	runVerifyCases(t, []verifyCase{
		{
			name: "the count inline in the HelmRelease",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, fluxReq("flux/shop.yaml"), web, edit{file: "flux/shop.yaml", path: "spec.values.replicaCount", old: "replicaCount: 2", new: "replicaCount: 3", from: 2, to: 3})
			},
			summary:      "rendered Deployment shop/shop-web-web: spec.replicas 2 → 3",
			consequences: []string{"adds topology spread constraints to Deployment shop/shop-web-web (its pods are replaced)"},
		},
		{
			name: "a values file under the inline values",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, fluxReq("flux/shop.yaml"), web, edit{file: "envs/prod/shop/flux.yaml", path: "replicaCount", old: "replicaCount: 1", new: "replicaCount: 2", from: 1, to: 2})
			},
			reason:   ReasonKeyOverridden,
			contains: []string{"flux/shop.yaml spec.values comes after envs/prod/shop/flux.yaml and sets replicaCount: 2"},
		},
		{
			name: "chartRef to a HelmChart of the GitRepository: its valuesFiles, then spec.values overriding the file",
			req: func(t *testing.T) VerifyRequest {
				hr := "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: shop-web, namespace: flux-system}\n" +
					"spec:\n  chart: ./charts/pdb\n  sourceRef: {kind: GitRepository, name: shop-gitops}\n  valuesFiles: [charts/pdb/values.yaml, envs/prod/shop/flux.yaml]\n---\n" +
					"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web, namespace: flux-system}\n" +
					"spec:\n  targetNamespace: shop\n  chartRef: {kind: HelmChart, name: shop-web}\n  values:\n    replicaCount: 2\n"
				req := withFile(fluxReq("flux/chartref.yaml"), "flux/chartref.yaml", hr)
				return verifyReq(t, req, web, edit{file: "envs/prod/shop/flux.yaml", path: "replicaCount", old: "replicaCount: 1", new: "replicaCount: 2", from: 1, to: 2})
			},
			reason:   ReasonKeyOverridden,
			contains: []string{"flux/chartref.yaml spec.values comes after envs/prod/shop/flux.yaml and sets replicaCount: 2"},
		},
		{
			name: "the chart's values.yaml is not read when valuesFiles leave it out",
			req: func(t *testing.T) VerifyRequest {
				hr := strings.Replace(readFile(t, "flux/shop.yaml"), "        - charts/pdb/values.yaml\n", "", 1)
				hr = strings.Replace(hr, "  values:\n    replicaCount: 2 # the autoscaler edits this\n", "", 1)
				req := withFile(fluxReq("flux/shop.yaml"), "flux/shop.yaml", hr)
				req = withFile(req, "envs/prod/shop/flux.yaml", "replicaCount: 1\nimage: shop\nautoscaling: {enabled: false}\nworker: {replicaCount: 1}\n")
				return verifyReq(t, req, web, edit{file: "charts/pdb/values.yaml", path: "replicaCount", old: "replicaCount: 1", new: "replicaCount: 2", from: 1, to: 2})
			},
			reason:   ReasonKeyUnused,
			contains: []string{"charts/pdb/values.yaml is none of the values the render reads (envs/prod/shop/flux.yaml)"},
		},
		// keptsecret generates its password at install and, as Bitnami's charts do, looks it up
		// in the cluster on upgrade, failing when it is not there: rendered without the cluster,
		// an upgrade always fails, while helm-controller's succeeds.
		{
			name: "a chart that looks up its password on upgrade is rendered as an install",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, withFile(fluxReq(keptHR), keptHR, keptRelease("")), kept, scaleKept)
			},
			summary: "rendered Deployment shop/kept-web: spec.replicas 2 → 3 (rendered as an install: as an upgrade, the chart fails without the cluster's objects: " +
				"render helm chart charts/keptsecret: render templates: execution error at (keptsecret/templates/secret.yaml:7:4): PASSWORD ERROR: give the current password when upgrading the release.)",
		},
		{
			name: "the same chart given its password renders as an upgrade",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, withFile(fluxReq(keptHR), keptHR, keptRelease("    password: s3cret\n")), kept, scaleKept)
			},
			summary: "rendered Deployment shop/kept-web: spec.replicas 2 → 3",
		},
		{
			name: "a refusal after the install fallback says how it rendered",
			req: func(t *testing.T) VerifyRequest {
				e := scaleKept
				e.new = "replicaCount: 3\n    image: ghcr.io/example/shop:1.1"
				return verifyReq(t, withFile(fluxReq(keptHR), keptHR, keptRelease("")), kept, e)
			},
			reason:   ReasonPodRestart,
			contains: []string{"spec.template.spec.containers[name=web].image", "(rendered as an install: as an upgrade, the chart fails without the cluster's objects"},
		},
		{
			name: "a chart that fails as an install too is refused with the upgrade's error",
			req: func(t *testing.T) VerifyRequest {
				return verifyReq(t, withFile(fluxReq(keptHR), keptHR, keptRelease("    broken: true\n")), kept, scaleKept)
			},
			reason:   ReasonRenderFailed,
			contains: []string{"before the edit: render helm chart charts/keptsecret", "CONFIG ERROR: broken is set."},
		},
	})
}

const keptHR = "flux/keptsecret.yaml"

var (
	kept      = policy.TargetRef{Kind: "Deployment", Name: "kept-web", Namespace: "shop"}
	scaleKept = edit{file: keptHR, path: "spec.values.replicaCount", old: "replicaCount: 2", new: "replicaCount: 3", from: 2, to: 3}
)

// keptRelease is a HelmRelease of charts/keptsecret with the count inline and more values.
func keptRelease(values string) string {
	return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: kept, namespace: shop}\n" +
		"spec:\n  chart: {spec: {chart: charts/keptsecret, sourceRef: {kind: GitRepository, name: repo}}}\n" +
		"  values:\n    replicaCount: 2\n" + values
}

func readFile(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testRepo, rel))
	require.NoError(t, err)
	return string(data)
}

const appHead = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: shop, namespace: argocd}\nspec:\n  destination: {namespace: shop}\n"

// TestRenderArgoCD pins how an Application's settings reach `helm template` and `kustomize
// build`.
func TestRenderArgoCD(t *testing.T) {
	tests := []struct {
		name  string
		app   string
		files map[string]string
		check func(t *testing.T, objs []Object)
	}{
		{
			name: "release name is the Application's, namespace the destination's",
			app:  appHead + "  source: {repoURL: https://github.com/acme/shop-gitops.git, path: charts/pdb}\n",
			check: func(t *testing.T, objs []Object) {
				o := find(t, objs, "Deployment", "shop-web")
				assert.Equal(t, "shop", o.DestNamespace)
				assert.Equal(t, intp(1), o.Replicas, "the chart's values.yaml")
				assert.Equal(t, "install", nested(t, o.Raw, "metadata", "annotations", "shop.example.com/installed-by"), "Argo CD renders an install")
			},
		},
		{
			name: "value files in order, then valuesObject, then parameters; helm.namespace wins",
			app: appHead + "  source:\n    path: charts/pdb\n    helm:\n      releaseName: store\n      namespace: store\n" +
				"      valueFiles: [../../envs/prod/shop/a.yaml, /envs/prod/shop/b.yaml, ../../envs/prod/shop/a.yaml]\n" +
				"      values: 'image: from-values'\n      valuesObject: {image: from-object, replicaCount: 5}\n" +
				"      parameters:\n        - {name: worker.replicaCount, value: '7'}\n        - {name: podAnnotations.note, value: 'a,b', forceString: true}\n",
			files: map[string]string{"envs/prod/shop/a.yaml": "replicaCount: 2\nimage: a\n", "envs/prod/shop/b.yaml": "replicaCount: 3\n"},
			check: func(t *testing.T, objs []Object) {
				web := find(t, objs, "Deployment", "store-web")
				assert.Equal(t, "store", web.DestNamespace)
				assert.Equal(t, intp(5), web.Replicas)
				assert.Equal(t, "from-object", nested(t, web.Raw, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["image"])
				assert.Equal(t, "a,b", nested(t, web.Raw, "spec", "template", "metadata", "annotations", "note"))
				assert.Equal(t, intp(7), find(t, objs, "Deployment", "store-worker").Replicas)
			},
		},
		{
			name: "value file globs expand in lexical order; explicit entries keep their place",
			app: appHead + "  source:\n    path: charts/pdb\n    helm:\n" +
				"      valueFiles: ['/envs/prod/shop/layers/*.yaml', /envs/prod/shop/layers/a.yaml]\n",
			files: map[string]string{
				"envs/prod/shop/layers/a.yaml": "replicaCount: 2\n", "envs/prod/shop/layers/b.yaml": "replicaCount: 3\n",
			},
			check: func(t *testing.T, objs []Object) {
				assert.Equal(t, intp(2), find(t, objs, "Deployment", "shop-web").Replicas, "a.yaml comes last")
			},
		},
		{
			name: "missing value files are skipped with ignoreMissingValueFiles; $ARGOCD_APP_NAME expands",
			app: appHead + "  source:\n    path: charts/pdb\n    helm:\n      ignoreMissingValueFiles: true\n" +
				"      valueFiles: [/envs/prod/$ARGOCD_APP_NAME/values.yaml, /envs/prod/shop/nope.yaml]\n",
			check: func(t *testing.T, objs []Object) {
				assert.Equal(t, intp(1), find(t, objs, "Deployment", "shop-web").Replicas)
			},
		},
		{
			name:  "fileParameters read a file of the repository",
			app:   appHead + "  source:\n    path: charts/pdb\n    helm:\n      fileParameters: [{name: podAnnotations.motd, path: ../../envs/prod/shop/motd.txt}]\n",
			files: map[string]string{"envs/prod/shop/motd.txt": "hello"},
			check: func(t *testing.T, objs []Object) {
				assert.Equal(t, "hello", nested(t, find(t, objs, "Deployment", "shop-web").Raw, "spec", "template", "metadata", "annotations", "motd"))
			},
		},
		{
			name:  ".argocd-source-<app>.yaml next to the chart patches the source",
			app:   appHead + "  source:\n    path: charts/pdb\n    helm: {parameters: [{name: replicaCount, value: '2'}]}\n",
			files: map[string]string{"charts/pdb/.argocd-source-shop.yaml": "helm:\n  parameters: [{name: replicaCount, value: '6'}]\n"},
			check: func(t *testing.T, objs []Object) {
				assert.Equal(t, intp(6), find(t, objs, "Deployment", "shop-web").Replicas)
			},
		},
		{
			name: "the Application's kubeVersion and apiVersions win over the policy's",
			app: appHead + "  source:\n    path: charts/capabilities\n    helm:\n      kubeVersion: 1.24.0\n" +
				"      apiVersions: [monitoring.coreos.com/v1]\n",
			check: func(t *testing.T, objs []Object) {
				assert.Equal(t, "policy/v1beta1", find(t, objs, "PodDisruptionBudget", "shop-worker").APIVersion)
				find(t, objs, "ServiceMonitor", "shop-worker")
				for _, o := range objs {
					assert.NotEqual(t, "ScaledObject", o.Kind, "the policy's apiVersions do not apply")
				}
			},
		},
		{
			name: "kustomize options: prefix, suffix, images, labels, annotations, namespace, patches",
			app: appHead + "  project: shop\n  source:\n    path: kustomize/prod\n    kustomize:\n      namePrefix: a-\n      nameSuffix: -b\n" +
				"      images: ['ghcr.io/example/laravel:$ARGOCD_APP_REVISION_SHORT']\n      commonLabels: {team: $ARGOCD_APP_PROJECT_NAME}\n" +
				"      commonAnnotations: {owner: platform}\n      namespace: elsewhere\n" +
				"      patches:\n        - target: {kind: Deployment}\n          patch: '[{\"op\": \"add\", \"path\": \"/spec/paused\", \"value\": true}]'\n",
			check: func(t *testing.T, objs []Object) {
				o := find(t, objs, "Deployment", "a-laravel-web-b")
				assert.Equal(t, "elsewhere", o.Namespace)
				assert.Equal(t, "shop", nested(t, o.Raw, "metadata", "labels", "team"))
				assert.Equal(t, "platform", nested(t, o.Raw, "metadata", "annotations", "owner"))
				assert.Equal(t, true, nested(t, o.Raw, "spec", "paused"))
				assert.Equal(t, "ghcr.io/example/laravel:0000000", nested(t, o.Raw, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["image"])
				assert.Equal(t, intp(3), o.Replicas)
			},
		},
		{
			name: "discovery: a Chart.yaml makes a Helm source, anything else a directory",
			app:  appHead + "  sources:\n    - {path: charts/testhook}\n    - {path: manifests}\n",
			check: func(t *testing.T, objs []Object) {
				find(t, objs, "Deployment", "shop-web")
				find(t, objs, "Deployment", "web")
				for _, o := range objs {
					assert.NotEqual(t, "Service", o.Kind, "extra/ is not read without recurse")
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := withFile(argoReq("argocd/app.yaml"), "argocd/app.yaml", tc.app)
			for f, c := range tc.files {
				req = withFile(req, f, c)
			}
			objs, err := Render(context.Background(), req)
			require.NoError(t, err)
			tc.check(t, objs)
		})
	}
}

// TestRenderRefusesSources pins the clear error of every source render verification cannot
// render from this repository: it names the file, the line and the field.
func TestRenderRefusesSources(t *testing.T) {
	tests := []struct {
		name    string
		req     Request
		content string
		want    string
	}{
		{
			name:    "a chart of a Helm repository without a chart cache",
			req:     argoReq("argocd/app.yaml"),
			content: appHead + "  source:\n    repoURL: https://charts.example.com\n    chart: web\n    targetRevision: 1.2.3\n",
			want:    "argocd/app.yaml:8: spec.source.chart: chart web 1.2.3 from https://charts.example.com is outside this repository: it is pulled by the service, with the chart cache",
		},
		{
			name:    "an OCI artifact of manifests",
			req:     argoReq("argocd/app.yaml"),
			content: appHead + "  sources:\n    - repoURL: oci://ghcr.io/acme/manifests\n      path: .\n",
			want:    "argocd/app.yaml:7: spec.sources[0].repoURL: oci://ghcr.io/acme/manifests is an OCI artifact of manifests, outside this repository",
		},
		{
			name: "a ref source of another repository that nothing reads",
			req: func() Request {
				r := argoReq("argocd/app.yaml")
				r.RepoURLs = []string{"git@github.com:acme/shop-gitops.git"}
				return r
			}(),
			content: appHead + "  sources:\n    - {repoURL: 'https://github.com/acme/shop-gitops', path: charts/pdb}\n    - {repoURL: 'https://token@github.com/acme/other.git', ref: values}\n",
			want:    "",
		},
		{
			name: "values from another Git repository",
			req: func() Request {
				r := argoReq("argocd/app.yaml")
				r.RepoURLs = []string{"git@github.com:acme/shop-gitops.git"}
				return r
			}(),
			content: appHead + "  sources:\n    - repoURL: https://github.com/acme/shop-gitops\n      path: charts/pdb\n      helm: {valueFiles: [$values/prod.yaml]}\n" +
				"    - repoURL: https://token@github.com/acme/other.git\n      ref: values\n",
			want: "argocd/app.yaml:10: spec.sources[1].repoURL: https://github.com/acme/other.git is another repository than this one (git@github.com:acme/shop-gitops.git)",
		},
		{
			name:    "a $ref no source defines",
			req:     argoReq("argocd/app.yaml"),
			content: appHead + "  sources:\n    - path: charts/pdb\n      helm:\n        valueFiles: [$config/prod.yaml]\n    - {path: ., ref: values}\n",
			want:    "argocd/app.yaml:9: spec.sources[0].helm.valueFiles[0]: $config/prod.yaml refers to source $config, which is not one of the refs ($values)",
		},
		{
			name:    "a value file over the network",
			req:     argoReq("argocd/app.yaml"),
			content: appHead + "  source:\n    path: charts/pdb\n    helm:\n      valueFiles: [https://config.example.com/prod.yaml]\n",
			want:    "argocd/app.yaml:9: spec.source.helm.valueFiles[0]: https://config.example.com/prod.yaml is fetched over the network",
		},
		{
			name:    "a value file out of the repository",
			req:     argoReq("argocd/app.yaml"),
			content: appHead + "  source:\n    path: charts/pdb\n    helm:\n      valueFiles: [../../../secrets.yaml]\n",
			want:    "spec.source.helm.valueFiles[0]: ../../../secrets.yaml leaves the repository",
		},
		{
			name:    "a missing value file",
			req:     argoReq("argocd/app.yaml"),
			content: appHead + "  source:\n    path: charts/pdb\n    helm:\n      valueFiles: [prod.yaml]\n",
			want:    "spec.source.helm.valueFiles[0]: values file charts/pdb/prod.yaml does not exist in the repository",
		},
		{
			name:    "a plugin",
			req:     argoReq("argocd/app.yaml"),
			content: appHead + "  source:\n    path: charts/pdb\n    plugin: {name: sops}\n",
			want:    "argocd/app.yaml:8: spec.source.plugin: a config management plugin runs programs of its own",
		},
		{
			name:    "a path that is no directory",
			req:     argoReq("argocd/app.yaml"),
			content: appHead + "  source: {path: charts/nope}\n",
			want:    "argocd/app.yaml:6: spec.source.path: charts/nope is not a directory of this repository",
		},
		{
			name:    "Jsonnet",
			req:     argoReq("argocd/app.yaml"),
			content: appHead + "  source:\n    path: manifests\n    directory:\n      jsonnet: {tlas: [{name: env, value: prod}]}\n",
			want:    "spec.source.directory.jsonnet: Jsonnet is not rendered",
		},
		{
			name:    "a hydrated Application",
			req:     argoReq("argocd/app.yaml"),
			content: appHead + "  sourceHydrator:\n    drySource: {repoURL: https://github.com/acme/shop-gitops, path: charts/pdb}\n",
			want:    "argocd/app.yaml:6: spec.sourceHydrator: Argo CD deploys the manifests its hydrator commits to another branch",
		},
		{
			name:    "an ApplicationSet",
			req:     argoReq("argocd/app.yaml"),
			content: "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: shop}\nspec: {}\n",
			want:    "argocd/app.yaml:2: kind: argocd/app.yaml is an ApplicationSet: name it with render.argocd.applicationSet",
		},
		{
			name:    "several Applications and no name",
			req:     argoReq("argocd/environments.yaml"),
			content: "",
			want:    "spec.render.argocd.application: argocd/environments.yaml holds 2 objects of kind Application; name one in spec.render.argocd.name",
		},
		{
			name:    "no Application",
			req:     argoReq("argocd/app.yaml"),
			content: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shop}\n",
			want:    "spec.render.argocd.application: argocd/app.yaml holds no Application of argoproj.io (it holds ConfigMap shop)",
		},
		{
			name:    "a Flux HelmRepository not in the repository",
			req:     fluxReq("flux/hr.yaml"),
			content: "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web, namespace: shop}\nspec:\n  chart:\n    spec:\n      chart: podinfo\n      sourceRef: {kind: HelmRepository, name: podinfo}\n",
			want:    "flux/hr.yaml:8: spec.chart.spec.sourceRef: HelmRepository podinfo (namespace \"shop\") is not in this repository",
		},
		{
			name:    "a Flux OCIRepository not in the repository",
			req:     fluxReq("flux/hr.yaml"),
			content: "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web}\nspec:\n  chartRef: {kind: OCIRepository, name: podinfo}\n",
			want:    "flux/hr.yaml:5: spec.chartRef: OCIRepository podinfo (namespace \"\") is not in this repository",
		},
		{
			name:    "Flux valuesFrom",
			req:     fluxReq("flux/hr.yaml"),
			content: "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web}\nspec:\n  chart: {spec: {chart: charts/pdb, sourceRef: {kind: GitRepository, name: repo}}}\n  valuesFrom: [{kind: ConfigMap, name: web-values}]\n",
			want:    "flux/hr.yaml:6: spec.valuesFrom: values from ConfigMaps and Secrets live in the cluster",
		},
		{
			name:    "Flux post-renderers",
			req:     fluxReq("flux/hr.yaml"),
			content: "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web}\nspec:\n  chart: {spec: {chart: charts/pdb, sourceRef: {kind: GitRepository, name: repo}}}\n  postRenderers: [{kustomize: {images: [{name: nginx, newTag: '1.27'}]}}]\n",
			want:    "flux/hr.yaml:6: spec.postRenderers: post-renderers change the rendered manifests after Helm",
		},
		{
			name:    "a Flux values file out of the repository",
			req:     fluxReq("flux/hr.yaml"),
			content: "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: web}\nspec:\n  chart:\n    spec:\n      chart: charts/pdb\n      sourceRef: {kind: GitRepository, name: repo}\n      valuesFiles: [../prod.yaml]\n",
			want:    "flux/hr.yaml:9: spec.chart.spec.valuesFiles[0]: must name a values file inside the repository",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if tc.content != "" {
				file := "argocd/app.yaml"
				if req.Flux != nil {
					file = req.Flux.HelmRelease
				}
				req = withFile(req, file, tc.content)
			}
			_, err := Render(context.Background(), req)
			if tc.want == "" {
				require.NoError(t, err, "a ref source of another repository that nothing reads is not an error")
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "token", "a credential in a URL is never printed")
			var fe *policy.FieldError
			if strings.Contains(tc.want, ".yaml:") {
				assert.True(t, errors.As(err, &fe), "a *policy.FieldError: %T", err)
			}
		})
	}
}

func TestRenderFlux(t *testing.T) {
	objs, err := Render(context.Background(), fluxReq("flux/shop.yaml"))
	require.NoError(t, err)
	web := find(t, objs, "Deployment", "shop-web-web")
	assert.Equal(t, "shop", web.DestNamespace, "targetNamespace")
	assert.Equal(t, intp(2), web.Replicas, "spec.values over the values files")
	assert.Equal(t, "upgrade", nested(t, web.Raw, "metadata", "annotations", "shop.example.com/installed-by"), "helm-controller upgrades an installed release")
	assert.Equal(t, "ghcr.io/example/shop:1.4", nested(t, web.Raw, "spec", "template", "spec", "containers").([]any)[0].(map[string]any)["image"])

	long := "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata: {name: a-release-with-a-rather-long-name, namespace: flux-system}\n" +
		"spec:\n  targetNamespace: a-very-lengthy-target-namespace\n  chart: {spec: {chart: charts/testhook, sourceRef: {kind: GitRepository, name: repo}}}\n"
	objs, err = Render(context.Background(), withFile(fluxReq("flux/long.yaml"), "flux/long.yaml", long))
	require.NoError(t, err)
	name := shortenReleaseName("a-very-lengthy-target-namespace-a-release-with-a-rather-long-name")
	assert.Len(t, name, 53)
	assert.Equal(t, "a-very-lengthy-target-namespace-a-releas-", name[:41])
	find(t, objs, "Deployment", name+"-web")
}
