package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// testRepo is the repository root of the test charts and kustomizations.
const testRepo = "testdata/repo"

func helmReq(chart string, values ...string) Request {
	return Request{Root: testRepo, Helm: &policy.HelmRender{
		Chart: chart, ValuesFiles: values, ReleaseName: "laravel", Namespace: "laravel-demo",
	}}
}

func kustomizeReq(dir string) Request {
	return Request{Root: testRepo, Kustomize: &policy.KustomizeRender{Dir: dir}}
}

func find(t *testing.T, objs []Object, kind, name string) Object {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && o.Name == name {
			return o
		}
	}
	require.Failf(t, "object not rendered", "%s %s not in %v", kind, name, names(objs))
	return Object{}
}

func names(objs []Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.String())
	}
	return out
}

func intp(n int) *int { return &n }

func nested(t *testing.T, m map[string]any, keys ...string) any {
	t.Helper()
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		require.Truef(t, ok, "%v: not a mapping at %q", keys, k)
		cur = mm[k]
	}
	return cur
}

func TestRender(t *testing.T) {
	tests := []struct {
		name  string
		req   Request
		check func(t *testing.T, objs []Object)
	}{
		{
			// The chart's .helmignore hides templates/deployment.yaml.orig, which would not parse.
			name: "plain chart with ordered values files and helmignore",
			req:  helmReq("charts/plain", "envs/prod/values.yaml", "envs/prod/web/values.yaml"),
			check: func(t *testing.T, objs []Object) {
				assert.ElementsMatch(t, []string{"ConfigMap laravel-web", "Service laravel-web", "Deployment laravel-web"}, names(objs))
				d := find(t, objs, "Deployment", "laravel-web")
				assert.Equal(t, intp(3), d.Replicas)
				assert.Equal(t, "apps/v1", d.APIVersion)
				assert.Equal(t, "plain/templates/deployment.yaml", d.Source)
				containers := nested(t, d.Raw, "spec", "template", "spec", "containers").([]any)
				// repository from the chart's values.yaml, tag from envs/prod/values.yaml: merged, not replaced.
				assert.Equal(t, "ghcr.io/example/laravel:2.3.1", containers[0].(map[string]any)["image"])
				cm := find(t, objs, "ConfigMap", "laravel-web")
				assert.Equal(t, "stderr", nested(t, cm.Raw, "data", "LOG_CHANNEL"))
				assert.Nil(t, find(t, objs, "Service", "laravel-web").Replicas)
			},
		},
		{
			name: "library chart dependency vendored in charts/",
			req:  helmReq("charts/withlib", "envs/prod/worker.yaml"),
			check: func(t *testing.T, objs []Object) {
				assert.Equal(t, intp(2), find(t, objs, "Deployment", "laravel-worker").Replicas)
				assert.Len(t, objs, 1)
			},
		},
		{
			name: "statefulset",
			req:  helmReq("charts/stateful", "envs/prod/horizon.yaml"),
			check: func(t *testing.T, objs []Object) {
				assert.Equal(t, intp(2), find(t, objs, "StatefulSet", "laravel-horizon").Replicas)
			},
		},
		{
			name: "chart rendering a HorizontalPodAutoscaler",
			req:  helmReq("charts/hpa", "envs/prod/hpa.yaml"),
			check: func(t *testing.T, objs []Object) {
				assert.Nil(t, find(t, objs, "Deployment", "laravel-web").Replicas)
				hpa := find(t, objs, "HorizontalPodAutoscaler", "laravel-web")
				assert.Equal(t, &Ref{APIVersion: "apps/v1", Kind: "Deployment", Name: "laravel-web"}, hpa.HPATarget)
			},
		},
		{
			name: "release name and namespace default like helm template",
			req:  Request{Root: testRepo, Helm: &policy.HelmRender{Chart: "charts/stateful"}},
			check: func(t *testing.T, objs []Object) {
				assert.Equal(t, intp(1), find(t, objs, "StatefulSet", "release-name-horizon").Replicas)
			},
		},
		{
			name: "twenty-template chart with a hook",
			req:  helmReq("charts/big", "envs/prod/big.yaml"),
			check: func(t *testing.T, objs []Object) {
				assert.Len(t, objs, 19)
				assert.Equal(t, intp(3), find(t, objs, "Deployment", "laravel-big").Replicas)
				find(t, objs, "Job", "laravel-big-migrate")
			},
		},
		{
			name: "kustomization with a replicas entry over a base",
			req:  kustomizeReq("kustomize/prod"),
			check: func(t *testing.T, objs []Object) {
				d := find(t, objs, "Deployment", "laravel-web")
				assert.Equal(t, "laravel-demo", d.Namespace)
				assert.Equal(t, intp(3), d.Replicas)
				containers := nested(t, d.Raw, "spec", "template", "spec", "containers").([]any)
				assert.Equal(t, "ghcr.io/example/laravel:2.3.1", containers[0].(map[string]any)["image"])
				assert.Equal(t, "laravel", nested(t, find(t, objs, "Service", "laravel-web").Raw, "metadata", "labels", "app.kubernetes.io/part-of"))
			},
		},
		{
			name: "kustomization with a patch",
			req:  kustomizeReq("kustomize/patched"),
			check: func(t *testing.T, objs []Object) {
				assert.Equal(t, intp(5), find(t, objs, "Deployment", "laravel-web").Replicas)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Render(context.Background(), tc.req)
			require.NoError(t, err)
			tc.check(t, objs)
		})
	}
}

func TestRenderRefuses(t *testing.T) {
	tests := []struct {
		name    string
		req     Request
		wantErr []string
	}{
		{
			name:    "chart dependency not vendored",
			req:     helmReq("charts/missingdep"),
			wantErr: []string{"charts/missingdep", "missing in charts/ directory: redis"},
		},
		{
			name:    "chart path escaping the root",
			req:     helmReq("../../render/testdata/repo/charts/plain"),
			wantErr: []string{"leaves the repository root"},
		},
		{
			name:    "absolute chart path",
			req:     helmReq("/etc"),
			wantErr: []string{"is absolute"},
		},
		{
			name:    "values file escaping the root",
			req:     helmReq("charts/plain", "envs/../../../../etc/hostname"),
			wantErr: []string{"leaves the repository root"},
		},
		{
			name:    "absolute values file",
			req:     helmReq("charts/plain", "/etc/hostname"),
			wantErr: []string{"is absolute"},
		},
		{
			name:    "missing values file",
			req:     helmReq("charts/plain", "envs/prod/nope.yaml"),
			wantErr: []string{"envs/prod/nope.yaml", "no such file"},
		},
		{
			name:    "kustomization dir escaping the root",
			req:     kustomizeReq("../outside"),
			wantErr: []string{"leaves the repository root"},
		},
		{
			name:    "kustomization resource escaping the root",
			req:     kustomizeReq("kustomize/escape"),
			wantErr: []string{"kustomize/escape/kustomization.yaml", "leaves the repository root"},
		},
		{
			name:    "remote base is never fetched",
			req:     kustomizeReq("kustomize/remote"),
			wantErr: []string{"kustomize/remote/kustomization.yaml", "remote reference", "never fetched"},
		},
		{
			name: "helm chart inflation in a kustomization is not run",
			req: func() Request {
				r := kustomizeReq("kustomize/prod")
				r.Overlay = map[string][]byte{"kustomize/prod/kustomization.yaml": []byte(
					"helmCharts:\n- name: redis\n  repo: https://charts.bitnami.com/bitnami\n  version: 19.6.4\n")}
				return r
			}(),
			wantErr: []string{"kustomize/prod", "enable-helm"},
		},
		{
			name: "exec plugin in a kustomization is not run",
			req: func() Request {
				r := kustomizeReq("kustomize/prod")
				r.Overlay = map[string][]byte{
					"kustomize/prod/kustomization.yaml": []byte("generators: [gen.yaml]\n"),
					"kustomize/prod/gen.yaml": []byte("apiVersion: example.com/v1\nkind: Exec\nmetadata:\n  name: x\n" +
						"  annotations: {config.kubernetes.io/function: \"exec: {path: /bin/sh}\"}\n"),
				}
				return r
			}(),
			wantErr: []string{"kustomize/prod", "external plugins disabled"},
		},
		{
			name:    "directory without kustomization",
			req:     kustomizeReq("envs/prod"),
			wantErr: []string{"no kustomization.yaml in envs/prod"},
		},
		{
			name: "template error",
			req: func() Request {
				r := helmReq("charts/plain")
				r.Overlay = map[string][]byte{"charts/plain/templates/broken.yaml": []byte("x: {{ .Values.nope.deeper }}\n")}
				return r
			}(),
			wantErr: []string{"charts/plain", "broken.yaml"},
		},
		{
			name:    "both helm and kustomize",
			req:     Request{Root: testRepo, Helm: &policy.HelmRender{Chart: "charts/plain"}, Kustomize: &policy.KustomizeRender{Dir: "kustomize/prod"}},
			wantErr: []string{"exactly one of helm, kustomize, argocd and flux"},
		},
		{
			name:    "neither helm nor kustomize",
			req:     Request{Root: testRepo},
			wantErr: []string{"exactly one of helm, kustomize, argocd and flux"},
		},
		{
			name:    "overlay path escaping the root",
			req:     Request{Root: testRepo, Helm: &policy.HelmRender{Chart: "charts/plain"}, Overlay: map[string][]byte{"../x.yaml": nil}},
			wantErr: []string{"overlay", "leaves the repository root"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Render(context.Background(), tc.req)
			require.Error(t, err)
			t.Log(err)
			assert.Nil(t, objs)
			for _, want := range tc.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

// copyTree copies a directory of the test repository into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
}

func TestRenderSymlinks(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "leak.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leak}\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(outside, "base"), 0o755))

	tests := []struct {
		name    string
		setup   func(t *testing.T, root string)
		req     Request
		wantErr string
	}{
		{
			name: "template symlinked outside the root",
			setup: func(t *testing.T, root string) {
				require.NoError(t, os.Symlink(filepath.Join(outside, "leak.yaml"), filepath.Join(root, "charts/plain/templates/leak.yaml")))
			},
			req:     Request{Helm: &policy.HelmRender{Chart: "charts/plain"}},
			wantErr: "templates/leak.yaml is a symlink that leaves the repository root",
		},
		{
			name: "chart directory symlinked outside the root",
			setup: func(t *testing.T, root string) {
				require.NoError(t, os.Symlink(outside, filepath.Join(root, "charts/elsewhere")))
			},
			req:     Request{Helm: &policy.HelmRender{Chart: "charts/elsewhere"}},
			wantErr: "leaves the repository root through a symlink",
		},
		{
			name: "values file symlinked outside the root",
			setup: func(t *testing.T, root string) {
				require.NoError(t, os.Symlink(filepath.Join(outside, "leak.yaml"), filepath.Join(root, "envs/prod/leak.yaml")))
			},
			req:     Request{Helm: &policy.HelmRender{Chart: "charts/plain", ValuesFiles: []string{"envs/prod/leak.yaml"}}},
			wantErr: "leaves the repository root through a symlink",
		},
		{
			name: "kustomize base symlinked outside the root",
			setup: func(t *testing.T, root string) {
				require.NoError(t, os.Symlink(filepath.Join(outside, "base"), filepath.Join(root, "kustomize/outbase")))
				require.NoError(t, os.WriteFile(filepath.Join(root, "kustomize/prod/kustomization.yaml"), []byte("resources: [../outbase]\n"), 0o644))
			},
			req:     Request{Kustomize: &policy.KustomizeRender{Dir: "kustomize/prod"}},
			wantErr: "leaves the repository root through a symlink",
		},
		{
			name: "values file symlinked inside the root is followed",
			setup: func(t *testing.T, root string) {
				require.NoError(t, os.Symlink("web/values.yaml", filepath.Join(root, "envs/prod/current.yaml")))
			},
			req: Request{Helm: &policy.HelmRender{Chart: "charts/plain", ValuesFiles: []string{"envs/prod/current.yaml"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			copyTree(t, testRepo, root)
			tc.setup(t, root)
			tc.req.Root = root
			objs, err := Render(context.Background(), tc.req)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.NotContains(t, err.Error(), outside, "errors name repository paths, not the machine's")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, intp(3), find(t, objs, "Deployment", "release-name-web").Replicas)
		})
	}
}

func TestRenderOverlay(t *testing.T) {
	valuesFile := filepath.Join(testRepo, "envs/prod/web/values.yaml")
	onDisk, err := os.ReadFile(valuesFile)
	require.NoError(t, err)

	tests := []struct {
		name    string
		overlay map[string][]byte
		want    int
	}{
		{name: "no overlay reads the disk", want: 3},
		{name: "overlay replaces a values file", overlay: map[string][]byte{"envs/prod/web/values.yaml": []byte("replicaCount: 7\n")}, want: 7},
		{name: "overlay replaces a chart file", overlay: map[string][]byte{"charts/plain/values.yaml": []byte("replicaCount: 9\nimage: {repository: r, tag: t}\nservice: {port: 80}\n")}, want: 3},
		{name: "overlay path is cleaned", overlay: map[string][]byte{"./envs/prod//web/values.yaml": []byte("replicaCount: 8\n")}, want: 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := helmReq("charts/plain", "envs/prod/web/values.yaml")
			req.Overlay = tc.overlay
			objs, err := Render(context.Background(), req)
			require.NoError(t, err)
			assert.Equal(t, intp(tc.want), find(t, objs, "Deployment", "laravel-web").Replicas)
			after, err := os.ReadFile(valuesFile)
			require.NoError(t, err)
			assert.Equal(t, onDisk, after, "an overlay never writes to disk")
		})
	}

	t.Run("overlay in a kustomization", func(t *testing.T) {
		req := kustomizeReq("kustomize/prod")
		req.Overlay = map[string][]byte{"kustomize/base/service.yaml": []byte(
			"apiVersion: v1\nkind: Service\nmetadata: {name: laravel-api}\nspec: {ports: [{port: 81}]}\n")}
		objs, err := Render(context.Background(), req)
		require.NoError(t, err)
		find(t, objs, "Service", "laravel-api")
		assert.NotContains(t, names(objs), "Service laravel-demo/laravel-web")
	})
}

func TestRenderHonorsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, req := range []Request{helmReq("charts/plain"), kustomizeReq("kustomize/prod")} {
		_, err := Render(ctx, req)
		assert.ErrorIs(t, err, context.Canceled)
	}
}

func TestParseManifests(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, objs []Object)
	}{
		{
			name: "empty documents are skipped, helm source comments kept",
			in:   "---\n# Source: app/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n---\n# Source: app/templates/empty.yaml\n",
			check: func(t *testing.T, objs []Object) {
				require.Len(t, objs, 1)
				assert.Equal(t, "app/templates/a.yaml", objs[0].Source)
			},
		},
		{
			name: "a List is flattened",
			in:   "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: apps/v1, kind: Deployment, metadata: {name: a, namespace: n}, spec: {replicas: 2}}\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n",
			check: func(t *testing.T, objs []Object) {
				assert.Equal(t, []string{"Deployment n/a", "Service a"}, names(objs))
				assert.Equal(t, intp(2), objs[0].Replicas)
			},
		},
		{
			name: "replicas that are not an integer are not read",
			in:   "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {replicas: \"3\"}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b}\nspec: {replicas: 2.5}\n",
			check: func(t *testing.T, objs []Object) {
				require.Len(t, objs, 2)
				assert.Nil(t, objs[0].Replicas)
				assert.Nil(t, objs[1].Replicas)
			},
		},
		{
			name: "a KEDA ScaledObject targets a Deployment by default",
			in:   "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: w, namespace: q}\nspec: {scaleTargetRef: {name: worker}}\n",
			check: func(t *testing.T, objs []Object) {
				require.Len(t, objs, 1)
				assert.Equal(t, &Ref{Kind: "Deployment", Name: "worker", Namespace: "q"}, objs[0].HPATarget)
			},
		},
		{
			name: "an HPA of another group is not an autoscaler",
			in:   "apiVersion: example.com/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: w}\nspec: {scaleTargetRef: {kind: Deployment, name: worker}}\n",
			check: func(t *testing.T, objs []Object) {
				require.Len(t, objs, 1)
				assert.Nil(t, objs[0].HPATarget)
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := ParseManifests([]byte(tc.in))
			require.NoError(t, err)
			tc.check(t, objs)
		})
	}

	t.Run("a document that is not a mapping is an error", func(t *testing.T) {
		_, err := ParseManifests([]byte("a: 1\n---\n- 1\n- 2\n"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "document 2")
	})
}

func TestWalled(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	tests := []struct {
		name    string
		ctx     func() context.Context
		fn      func() ([]renderedSource, error)
		wantErr string
		wantIs  error
	}{
		{
			name: "a panic becomes an error",
			ctx:  context.Background,
			fn: func() ([]renderedSource, error) {
				var m map[string]int
				m["boom"]++
				return nil, nil
			},
			wantErr: "renderer panicked: assignment to entry in nil map",
		},
		{
			name: "a canceled context abandons a stuck renderer",
			ctx: func() context.Context {
				ctx, cancel := context.WithCancel(context.Background())
				go cancel()
				return ctx
			},
			fn:     func() ([]renderedSource, error) { <-release; return nil, nil },
			wantIs: context.Canceled,
		},
		{
			name:    "results pass through",
			ctx:     context.Background,
			fn:      func() ([]renderedSource, error) { return nil, errors.New("template: bad") },
			wantErr: "template: bad",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := walled(tc.ctx(), tc.fn)
			require.Error(t, err)
			if tc.wantErr != "" {
				assert.Contains(t, err.Error(), tc.wantErr)
			}
			if tc.wantIs != nil {
				assert.ErrorIs(t, err, tc.wantIs)
			}
		})
	}
}
