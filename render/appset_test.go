package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// appSetHead starts an ApplicationSet; the tests add spec: fields after it.
const appSetHead = "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: apps, namespace: argocd}\nspec:\n"

// appSetTree is the repository the generators read: apps/<name> directories (one of them
// excluded in some cases, one hidden), and cluster config files for the files generator.
var appSetTree = map[string]string{
	"apps/web/values.yaml":                   "replicaCount: 1\n",
	"apps/api/values.yaml":                   "replicaCount: 1\n",
	"apps/Legacy_Tool/values.yaml":           "replicaCount: 1\n",
	"apps/.hidden/values.yaml":               "x: 1\n",
	"apps/web/envs/prod.yaml":                "replicaCount: 3\n",
	"clusters/eu/prod/config.json":           `{"cluster": {"name": "eu-prod", "namespace": "shop"}, "replicas": 2}`,
	"clusters/us/prod/config.json":           `{"cluster": {"name": "us-prod", "namespace": "shop"}, "replicas": 3}`,
	"clusters/us/test/config.json":           `{"cluster": {"name": "us-test", "namespace": "test"}, "replicas": 1}`,
	"clusters/list/config.yaml":              "- {cluster: {name: a, namespace: x}}\n- {cluster: {name: b, namespace: w}}\n",
	"ours/https-github-com-acme-shop/ok.txt": "",
}

// generated expands the ApplicationSet in apps.yaml of a repository of appSetTree and returns
// each generated Application as "name: <spec as JSON>", in order.
func generated(t *testing.T, appset string, repoURLs ...string) ([]string, error) {
	t.Helper()
	return generatedOn(t, appset, "", repoURLs...)
}

// generatedOn is generated with the checkout known to be of branch ("" for not known).
func generatedOn(t *testing.T, appset, branch string, repoURLs ...string) ([]string, error) {
	t.Helper()
	files := map[string]string{"argocd/apps.yaml": appset}
	for k, v := range appSetTree {
		files[k] = v
	}
	r, err := newRepo(remoteGitRepo(t, files), nil)
	require.NoError(t, err)
	docs, err := loadAppSets(r, "argocd/apps.yaml", repoURLs, branch)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range docs {
		apps, err := s.generate()
		if err != nil {
			return nil, err
		}
		for _, a := range apps {
			var app map[string]any
			require.NoError(t, a.doc.node.Decode(&app))
			spec, err := json.Marshal(app["spec"])
			require.NoError(t, err)
			out = append(out, a.name+": "+string(spec))
		}
	}
	return out, nil
}

func TestApplicationSetGenerators(t *testing.T) {
	const ours = "https://github.com/acme/shop.git"
	tests := []struct {
		name    string
		appset  string
		want    []string
		wantErr string // file:line: field: message, as a substring
	}{
		{
			name: "list, fasttemplate, values",
			appset: appSetHead + `  generators:
    - list:
        elements:
          - {cluster: eu, url: https://eu.example.com, values: {ns: shop-eu}}
          - {cluster: us, url: https://us.example.com, values: {ns: shop-us}}
  template:
    metadata: {name: '{{cluster}}-web'}
    spec:
      project: default
      source: {repoURL: ` + ours + `, path: 'apps/web', targetRevision: HEAD}
      destination: {server: '{{url}}', namespace: '{{values.ns}}'}
`,
			want: []string{
				`eu-web: {"destination":{"namespace":"shop-eu","server":"https://eu.example.com"},"project":"default","source":{"path":"apps/web","repoURL":"https://github.com/acme/shop.git","targetRevision":"HEAD"}}`,
				`us-web: {"destination":{"namespace":"shop-us","server":"https://us.example.com"},"project":"default","source":{"path":"apps/web","repoURL":"https://github.com/acme/shop.git","targetRevision":"HEAD"}}`,
			},
		},
		{
			name: "list, goTemplate: values of any type, nested keys, Sprig functions",
			appset: appSetHead + `  goTemplate: true
  goTemplateOptions: ["missingkey=error"]
  generators:
    - list:
        elements:
          - {app: web, replicas: 3, labels: {tier: front}}
  template:
    metadata: {name: '{{.app}}-{{.labels.tier}}'}
    spec:
      source: {path: 'apps/{{.app}}', helm: {parameters: [{name: replicaCount, value: '{{.replicas}}'}]}}
      destination: {namespace: '{{.app | upper}}'}
`,
			want: []string{`web-front: {"destination":{"namespace":"WEB"},"source":{"helm":{"parameters":[{"name":"replicaCount","value":"3"}]},"path":"apps/web"}}`},
		},
		{
			name: "git directories with exclude: path, path.basename, path[n], path.basenameNormalized",
			appset: appSetHead + `  generators:
    - git:
        repoURL: ` + ours + `
        revision: HEAD
        directories:
          - path: apps/*
          - path: apps/api
            exclude: true
  template:
    metadata: {name: '{{path.basenameNormalized}}'}
    spec:
      source: {path: '{{path}}'}
      destination: {namespace: '{{path[0]}}-{{path.basename}}'}
`,
			want: []string{
				`legacy-tool: {"destination":{"namespace":"apps-Legacy_Tool"},"source":{"path":"apps/Legacy_Tool"}}`,
				`web: {"destination":{"namespace":"apps-web"},"source":{"path":"apps/web"}}`,
			},
		},
		{
			name: "git directories, goTemplate: .path.path, .path.basename, .path.segments, normalize, pathParamPrefix",
			appset: appSetHead + `  goTemplate: true
  generators:
    - git:
        repoURL: ` + ours + `
        directories: [{path: 'apps/w*'}]
        pathParamPrefix: app
        values: {team: 'team-{{.app.path.basename}}'}
  template:
    metadata: {name: '{{.app.path.basename | normalize}}'}
    spec:
      source: {path: '{{.app.path.path}}'}
      destination: {namespace: '{{index .app.path.segments 0}}-{{.values.team}}'}
`,
			want: []string{`web: {"destination":{"namespace":"apps-team-web"},"source":{"path":"apps/web"}}`},
		},
		{
			name: "git files: JSON and YAML lists, flattened keys, path of the file's directory",
			appset: appSetHead + `  generators:
    - git:
        repoURL: ` + ours + `
        files:
          - path: 'clusters/**/config.*'
          - path: clusters/us/test/config.json
            exclude: true
  template:
    metadata: {name: '{{cluster.name}}'}
    spec:
      source: {path: apps/web}
      destination: {namespace: '{{cluster.namespace}}-{{replicas}}-{{path.basename}}-{{path.filename}}'}
`,
			want: []string{
				`eu-prod: {"destination":{"namespace":"shop-2-prod-config.json"},"source":{"path":"apps/web"}}`,
				`a: {"destination":{"namespace":"x-{{replicas}}-list-config.yaml"},"source":{"path":"apps/web"}}`,
				`b: {"destination":{"namespace":"w-{{replicas}}-list-config.yaml"},"source":{"path":"apps/web"}}`,
				`us-prod: {"destination":{"namespace":"shop-3-prod-config.json"},"source":{"path":"apps/web"}}`,
			},
		},
		{
			name: "matrix of git directories and a list interpolated with the directory",
			appset: appSetHead + `  generators:
    - matrix:
        generators:
          - git:
              repoURL: ` + ours + `
              directories: [{path: apps/web}, {path: apps/api}]
          - list:
              elements:
                - {env: prod, file: '{{path}}/envs/prod.yaml'}
                - {env: test, file: '{{path}}/values.yaml'}
  template:
    metadata: {name: '{{path.basename}}-{{env}}'}
    spec:
      source: {path: '{{path}}', helm: {valueFiles: ['/{{file}}']}}
      destination: {namespace: '{{env}}'}
`,
			want: []string{
				`api-prod: {"destination":{"namespace":"prod"},"source":{"helm":{"valueFiles":["/apps/api/envs/prod.yaml"]},"path":"apps/api"}}`,
				`api-test: {"destination":{"namespace":"test"},"source":{"helm":{"valueFiles":["/apps/api/values.yaml"]},"path":"apps/api"}}`,
				`web-prod: {"destination":{"namespace":"prod"},"source":{"helm":{"valueFiles":["/apps/web/envs/prod.yaml"]},"path":"apps/web"}}`,
				`web-test: {"destination":{"namespace":"test"},"source":{"helm":{"valueFiles":["/apps/web/values.yaml"]},"path":"apps/web"}}`,
			},
		},
		{
			name: "matrix, goTemplate: the first generator wins a conflict; a selector filters",
			appset: appSetHead + `  goTemplate: true
  generators:
    - matrix:
        generators:
          - list: {elements: [{env: prod, tier: gold}, {env: test, tier: ""}]}
          - list: {elements: [{app: web, tier: silver}, {app: api, tier: silver}]}
      selector:
        matchExpressions: [{key: app, operator: In, values: [web]}]
  template:
    metadata: {name: '{{.app}}-{{.env}}'}
    spec: {destination: {namespace: '{{.tier}}'}}
`,
			want: []string{
				`web-prod: {"destination":{"namespace":"gold"}}`,
				`web-test: {"destination":{"namespace":"silver"}}`,
			},
		},
		{
			name: "a matrix in a matrix, a generator's own template, templatePatch",
			appset: appSetHead + `  goTemplate: true
  templatePatch: |
    spec:
      project: patched
      source:
        helm: {releaseName: '{{.app}}'}
  generators:
    - matrix:
        generators:
          - list: {elements: [{app: web}]}
          - matrix:
              generators:
                - list: {elements: [{env: prod}]}
                - list: {elements: [{zone: a}, {zone: b}]}
    - list:
        elements: [{app: solo, env: x, zone: z}]
        template:
          metadata: {name: 'own-{{.app}}'}
          spec: {destination: {namespace: own}}
  template:
    metadata: {name: '{{.app}}-{{.env}}-{{.zone}}'}
    spec:
      project: default
      source: {path: 'apps/{{.app}}'}
      destination: {namespace: '{{.env}}'}
`,
			want: []string{
				`web-prod-a: {"destination":{"namespace":"prod"},"project":"default","source":{"helm":{"releaseName":"web"},"path":"apps/web"}}`,
				`web-prod-b: {"destination":{"namespace":"prod"},"project":"default","source":{"helm":{"releaseName":"web"},"path":"apps/web"}}`,
				`own-solo: {"destination":{"namespace":"own"},"project":"default","source":{"helm":{"releaseName":"solo"},"path":"apps/solo"}}`,
			},
		},
		{
			name:    "the clusters generator is refused, naming it",
			appset:  appSetHead + "  generators:\n    - clusters: {}\n  template: {metadata: {name: x}, spec: {}}\n",
			wantErr: "argocd/apps.yaml:6: spec.generators[0].clusters: the clusters generator reads Argo CD's cluster secrets from the Kubernetes API: render verification reads this repository only, so this ApplicationSet is refused",
		},
		{
			name:    "a pull request generator inside a matrix is refused, naming it",
			appset:  appSetHead + "  generators:\n    - matrix:\n        generators:\n          - list: {elements: [{a: b}]}\n          - pullRequest: {github: {owner: acme, repo: shop}}\n  template: {metadata: {name: x}, spec: {}}\n",
			wantErr: "argocd/apps.yaml:9: spec.generators[0].matrix.generators[1].pullRequest: the pullRequest generator lists pull requests of an SCM provider's API",
		},
		{
			name:    "scmProvider",
			appset:  appSetHead + "  generators:\n    - scmProvider: {github: {organization: acme}}\n  template: {metadata: {name: x}, spec: {}}\n",
			wantErr: "spec.generators[0].scmProvider: the scmProvider generator lists repositories of an SCM provider's API",
		},
		{
			name:    "clusterDecisionResource",
			appset:  appSetHead + "  generators:\n    - clusterDecisionResource: {configMapRef: x}\n  template: {metadata: {name: x}, spec: {}}\n",
			wantErr: "spec.generators[0].clusterDecisionResource: the clusterDecisionResource generator reads a resource of the Kubernetes API",
		},
		{
			name:    "plugin",
			appset:  appSetHead + "  generators:\n    - plugin: {configMapRef: {name: x}}\n  template: {metadata: {name: x}, spec: {}}\n",
			wantErr: "spec.generators[0].plugin: the plugin generator calls a plugin service",
		},
		{
			name: "merge: git directories, overridden per directory by a list with the same path",
			appset: appSetHead + `  generators:
    - merge:
        mergeKeys: [path.basename]
        generators:
          - git:
              repoURL: ` + ours + `
              directories: [{path: 'apps/*'}]
          - list:
              elements:
                - {path.basename: web, ns: web-prod}
                - {path.basename: nowhere, ns: ignored}
  template:
    metadata: {name: '{{path.basename}}'}
    spec: {destination: {namespace: '{{ns}}'}}
`,
			want: []string{
				`Legacy_Tool: {"destination":{"namespace":"{{ns}}"}}`,
				`api: {"destination":{"namespace":"{{ns}}"}}`,
				`web: {"destination":{"namespace":"web-prod"}}`,
			},
		},
		{
			name: "merge, goTemplate: nested values merge, later generators win",
			appset: appSetHead + `  goTemplate: true
  generators:
    - merge:
        mergeKeys: [app]
        generators:
          - list: {elements: [{app: web, opts: {ns: a, tier: gold}}, {app: api, opts: {ns: b, tier: gold}}]}
          - list: {elements: [{app: api, opts: {tier: silver}}]}
  template:
    metadata: {name: '{{.app}}'}
    spec: {destination: {namespace: '{{.opts.ns}}-{{.opts.tier}}'}}
`,
			want: []string{
				`web: {"destination":{"namespace":"a-gold"}}`,
				`api: {"destination":{"namespace":"b-silver"}}`,
			},
		},
		{
			name:    "merge: a merge key value twice in one generator",
			appset:  appSetHead + "  generators:\n    - merge:\n        mergeKeys: [a]\n        generators:\n          - list: {elements: [{a: x}, {a: x}]}\n          - list: {elements: []}\n  template: {metadata: {name: x}, spec: {}}\n",
			wantErr: `argocd/apps.yaml:9: spec.generators[0].merge.generators[0]: two parameter sets have the merge key values {"a":"x"}`,
		},
		{
			name:    "merge without mergeKeys",
			appset:  appSetHead + "  generators:\n    - merge:\n        generators: [{list: {elements: []}}, {list: {elements: []}}]\n  template: {metadata: {name: x}, spec: {}}\n",
			wantErr: "argocd/apps.yaml:6: spec.generators[0].merge.mergeKeys: required: at least one merge key",
		},
		{
			name:    "an unknown generator",
			appset:  appSetHead + "  generators:\n    - lists: {elements: []}\n  template: {metadata: {name: x}, spec: {}}\n",
			wantErr: `argocd/apps.yaml:6: spec.generators[0].lists: unknown generator "lists"`,
		},
		{
			name:    "a matrix of three",
			appset:  appSetHead + "  generators:\n    - matrix:\n        generators: [{list: {elements: []}}, {list: {elements: []}}, {list: {elements: []}}]\n  template: {metadata: {name: x}, spec: {}}\n",
			wantErr: "argocd/apps.yaml:7: spec.generators[0].matrix.generators: a matrix combines exactly two generators, found 3",
		},
		{
			name:    "the git generator of another repository",
			appset:  appSetHead + "  generators:\n    - git: {repoURL: 'https://github.com/other/repo.git', directories: [{path: '*'}]}\n  template: {metadata: {name: x}, spec: {}}\n",
			wantErr: "argocd/apps.yaml:6: spec.generators[0].git.repoURL: https://github.com/other/repo.git is another repository than this one (https://github.com/acme/shop.git): the git generator is expanded from this repository only",
		},
		{
			name:    "a list value that is not a string without goTemplate",
			appset:  appSetHead + "  generators:\n    - list:\n        elements:\n          - {app: web, replicas: 3}\n  template: {metadata: {name: x}, spec: {}}\n",
			wantErr: "argocd/apps.yaml:8: spec.generators[0].list.elements[0].replicas: must be a string without goTemplate",
		},
		{
			name:    "a template that does not parse",
			appset:  appSetHead + "  goTemplate: true\n  generators: [{list: {elements: [{app: web}]}}]\n  template:\n    metadata: {name: '{{.app'}\n    spec: {}\n",
			wantErr: "argocd/apps.yaml:8: spec.template.metadata.name: failed to parse template {{.app:",
		},
		{
			name:    "missingkey=error",
			appset:  appSetHead + "  goTemplate: true\n  goTemplateOptions: [missingkey=error]\n  generators: [{list: {elements: [{app: web}]}}]\n  template:\n    metadata: {name: '{{.app}}'}\n    spec: {destination: {namespace: '{{.ns}}'}}\n",
			wantErr: `argocd/apps.yaml:10: spec.template.spec.destination.namespace: failed to execute go template {{.ns}}: template: :1:2: executing "" at <.ns>: map has no entry for key "ns"`,
		},
		{
			name:    "env is not a template function",
			appset:  appSetHead + "  goTemplate: true\n  generators: [{list: {elements: [{app: web}]}}]\n  template:\n    metadata: {name: '{{env \"HOME\"}}'}\n    spec: {}\n",
			wantErr: `spec.template.metadata.name: failed to parse template {{env "HOME"}}: template: :1: function "env" not defined`,
		},
		{
			name:    "a template that writes too much",
			appset:  appSetHead + "  goTemplate: true\n  generators: [{list: {elements: [{app: web}]}}]\n  template:\n    metadata: {name: '{{repeat 2000000 \"x\"}}'}\n    spec: {}\n",
			wantErr: "spec.template.metadata.name: failed to execute go template",
		},
		{
			name:    "an unknown goTemplateOption",
			appset:  appSetHead + "  goTemplate: true\n  goTemplateOptions: [missingkey=explode]\n  generators: [{list: {elements: [{app: web}]}}]\n  template: {metadata: {name: x}, spec: {}}\n",
			wantErr: `argocd/apps.yaml:6: spec.goTemplateOptions[0]: unknown template option "missingkey=explode"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := generated(t, tc.appset, ours)
			if tc.wantErr != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tc.wantErr)
				var fe *policy.FieldError
				require.True(t, errors.As(err, &fe), "a *policy.FieldError: %v", err)
				require.Equal(t, "argocd/apps.yaml", fe.File)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// TestApplicationSetBounds: an ApplicationSet that generates more Applications than
// MaxGeneratedApplications is refused, naming the limit, whether the list is long or a matrix
// multiplies two short ones.
func TestApplicationSetBounds(t *testing.T) {
	elems := func(n int, key string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "{%s: '%d'},", key, i)
		}
		return "[" + strings.TrimSuffix(b.String(), ",") + "]"
	}
	tests := []struct {
		name  string
		gen   string
		count int // generated, when under the bound
	}{
		{name: "a list at the bound", gen: "list: {elements: " + elems(MaxGeneratedApplications, "a") + "}", count: MaxGeneratedApplications},
		{name: "a list over the bound", gen: "list: {elements: " + elems(MaxGeneratedApplications+1, "a") + "}"},
		{name: "a matrix over the bound", gen: "matrix: {generators: [{list: {elements: " + elems(50, "a") + "}}, {list: {elements: " + elems(21, "b") + "}}]}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			appset := appSetHead + "  generators:\n    - " + tc.gen + "\n  template: {metadata: {name: 'app-{{a}}-{{b}}'}, spec: {}}\n"
			got, err := generated(t, appset)
			if tc.count > 0 {
				require.NoError(t, err)
				require.Len(t, got, tc.count)
				return
			}
			require.ErrorContains(t, err, fmt.Sprintf("more than %d", MaxGeneratedApplications))
			require.ErrorContains(t, err, "MaxGeneratedApplications")
		})
	}
}

// TestVerifyApplicationSet verifies a commit to the values file of an Application that an
// ApplicationSet generates, with its chart pulled from a real Helm repository and a real OCI
// registry: a Git directory generator and a matrix generator (git directories × a list of
// charts), each verified by a render of the pulled chart, and refused when the template (or
// its templatePatch) sets the key after the values file.
func TestVerifyApplicationSet(t *testing.T) {
	helmRepo := startChartRepo(t)
	reg := startRegistry(t)
	repos := []svcconfig.ChartRepository{{URL: "oci://" + reg.host, Username: registryUser, PasswordFile: writeSecret(t, registryPassword), PlainHTTP: true}}
	const gitURL = "https://git.example.com/shop/deploy.git"
	dirs := func(extra string) string {
		return appSetHead + `  generators:
    - git:
        repoURL: ` + gitURL + `
        revision: main
        directories: [{path: 'envs/*'}, {path: envs/test, exclude: true}]
  template:
    metadata: {name: '{{path.basename}}'}
    spec:
      project: default
      destination: {namespace: shop}
      sources:
        - repoURL: ` + helmRepo.srv.URL + `/public
          chart: plain
          targetRevision: 0.2.0
          helm:
            valueFiles: ['$values/{{path}}/values.yaml']` + extra + `
        - {repoURL: ` + gitURL + `, targetRevision: main, ref: values}
`
	}
	matrix := func(patch string) string {
		return appSetHead + `  goTemplate: true
  goTemplateOptions: [missingkey=error]
` + patch + `  generators:
    - matrix:
        generators:
          - git:
              repoURL: ` + gitURL + `
              directories: [{path: 'envs/*'}]
          - list:
              elements:
                - {chart: plain, version: 1.0.0, registry: 'oci://` + reg.host + `/charts'}
  template:
    metadata: {name: '{{.path.basename}}-{{.chart}}'}
    spec:
      project: default
      destination: {namespace: shop}
      sources:
        - repoURL: '{{.registry}}'
          chart: '{{.chart}}'
          targetRevision: '{{.version}}'
          helm: {valueFiles: ['$values/{{.path.path}}/values.yaml']}
        - {repoURL: ` + gitURL + `, targetRevision: main, ref: values}
`
	}
	const prodOnly = `  templatePatch: |
    {{- if eq .path.basename "prod" }}
    spec:
      sources:
        - repoURL: '{{.registry}}'
          chart: '{{.chart}}'
          targetRevision: '{{.version}}'
          helm:
            valueFiles: ['$values/{{.path.path}}/values.yaml']
            parameters: [{name: replicaCount, value: "3"}]
        - {repoURL: ` + gitURL + `, targetRevision: main, ref: values}
    {{- end }}
`
	tests := []struct {
		name    string
		appset  string
		app     string
		target  string
		summary string
		reason  string
		message string
	}{
		{
			name:    "git directory generator, chart from a Helm repository",
			appset:  dirs(""),
			app:     "prod",
			target:  "prod-web",
			summary: `rendered Deployment shop/prod-web: spec.replicas 4 → 6 \(pulled chart plain 0.2.0 from http://127.0.0.1:\d+/public → version 0.2.0, sha256:[0-9a-f]{64}\)`,
		},
		{
			name:    "matrix generator, chart from an OCI registry",
			appset:  matrix(""),
			app:     "prod-plain",
			target:  "prod-plain-web",
			summary: `rendered Deployment shop/prod-plain-web: spec.replicas 4 → 6 \(pulled chart oci://127.0.0.1:\d+/charts/plain 1.0.0 → version 1.0.0, sha256:[0-9a-f]{64}\)`,
		},
		{
			name:    "git directory generator: a parameter of the template overrides the key",
			appset:  dirs("\n            parameters: [{name: replicaCount, value: \"2\"}]"),
			app:     "prod",
			target:  "prod-web",
			reason:  ReasonKeyOverridden,
			message: "it is overridden: argocd/apps.yaml spec.template.spec.sources[0].helm.parameters[0] (replicaCount) comes after envs/prod/values.yaml and sets replicaCount: 2",
		},
		{
			name:    "matrix generator: the templatePatch overrides the key for prod",
			appset:  matrix(prodOnly),
			app:     "prod-plain",
			target:  "prod-plain-web",
			reason:  ReasonKeyOverridden,
			message: "it is overridden: argocd/apps.yaml spec.templatePatch: spec.sources[0].helm.parameters[0] (replicaCount) comes after envs/prod/values.yaml and sets replicaCount: 3",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{
				"envs/prod/values.yaml": "replicaCount: 4\n",
				"envs/test/values.yaml": "replicaCount: 1\n",
				"argocd/apps.yaml":      tc.appset,
			}
			req := VerifyRequest{
				Request: Request{
					Root: remoteGitRepo(t, files), Charts: newTestCharts(t, repos, svcconfig.ChartLimits{}), RepoURLs: []string{gitURL},
					ArgoCD: &policy.ArgoCDRender{ApplicationSet: "argocd/apps.yaml", Name: tc.app},
				},
				Target: policy.TargetRef{Kind: "Deployment", Name: tc.target, Namespace: "shop"},
				File:   "envs/prod/values.yaml", Path: "replicaCount", Current: 4, Desired: 6,
				Content: []byte("replicaCount: 6\n"),
			}
			v, err := Verify(context.Background(), req)
			if tc.reason != "" {
				var ve *VerifyError
				require.ErrorAs(t, err, &ve)
				require.Equal(t, tc.reason, ve.Reason, err.Error())
				require.Contains(t, err.Error(), tc.message)
				return
			}
			require.NoError(t, err)
			require.Regexp(t, "^"+tc.summary+"$", v.Summary)
		})
	}
}

// BenchmarkApplicationSet measures the expansion of an ApplicationSet into the Application a
// policy names, the step every render of such a policy adds: one Application of a list
// (the floor), 1,000 of a list with fasttemplate and with goTemplate, and a matrix of a Git
// directory generator over 100 directories and a list of 5 (500 Applications).
func BenchmarkApplicationSet(b *testing.B) {
	elems := func(n int) string {
		var s strings.Builder
		for i := range n {
			fmt.Fprintf(&s, "{app: app%d, ns: ns%d},", i, i)
		}
		return "[" + strings.TrimSuffix(s.String(), ",") + "]"
	}
	files := map[string]string{}
	for i := range 100 {
		files[fmt.Sprintf("apps/app%03d/values.yaml", i)] = "replicaCount: 1\n"
	}
	tmpl := "  template:\n    metadata: {name: '%s'}\n    spec:\n      project: default\n      source: {repoURL: https://git.example.com/x.git, path: '%s', helm: {valueFiles: [values.yaml], releaseName: '%s'}}\n      destination: {server: https://kubernetes.default.svc, namespace: '%s'}\n"
	cases := []struct {
		name, appset, app string
	}{
		{name: "list of 1", app: "app0",
			appset: appSetHead + "  generators: [{list: {elements: " + elems(1) + "}}]\n" + fmt.Sprintf(tmpl, "{{app}}", "apps/{{app}}", "{{app}}", "{{ns}}")},
		{name: "list of 1000, fasttemplate", app: "app999",
			appset: appSetHead + "  generators: [{list: {elements: " + elems(1000) + "}}]\n" + fmt.Sprintf(tmpl, "{{app}}", "apps/{{app}}", "{{app}}", "{{ns}}")},
		{name: "list of 1000, goTemplate", app: "app999",
			appset: appSetHead + "  goTemplate: true\n  generators: [{list: {elements: " + elems(1000) + "}}]\n" + fmt.Sprintf(tmpl, "{{.app}}", "apps/{{.app}}", "{{.app | upper}}", "{{.ns}}")},
		{name: "matrix of 100 git directories and a list of 5", app: "app099-ns4",
			appset: appSetHead + "  generators:\n    - matrix:\n        generators:\n          - git: {repoURL: https://git.example.com/x.git, directories: [{path: 'apps/*'}]}\n          - list: {elements: " + elems(5) + "}\n" +
				fmt.Sprintf(tmpl, "{{path.basename}}-{{ns}}", "{{path}}", "{{path.basename}}", "{{ns}}")},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			fs := map[string]string{"argocd/apps.yaml": tc.appset}
			for k, v := range files {
				fs[k] = v
			}
			r, err := newRepo(remoteGitRepo(b, fs), nil)
			require.NoError(b, err)
			b.ResetTimer()
			for b.Loop() {
				doc, err := loadGeneratedApp(r, "argocd/apps.yaml", tc.app, nil, "")
				if err != nil || doc.generated != tc.app {
					b.Fatalf("%v %q", err, doc.generated)
				}
			}
		})
	}
}

// TestApplicationSetErrorElsewhere: when any generated Application fails to render, Argo CD's
// controller updates none of them, so the one a policy names is refused too, with the other's
// problem.
func TestApplicationSetErrorElsewhere(t *testing.T) {
	appset := appSetHead + "  goTemplate: true\n  goTemplateOptions: [missingkey=error]\n  generators: [{list: {elements: [{app: web, ns: shop}, {app: api}]}}]\n" +
		"  template:\n    metadata: {name: '{{.app}}'}\n    spec: {destination: {namespace: '{{.ns}}'}}\n"
	tests := []struct {
		name, app, wantErr string
	}{
		{name: "the Application that renders", app: "web", wantErr: `argocd/apps.yaml:10: spec.template.spec.destination.namespace: failed to execute go template {{.ns}}`},
		{name: "the Application that does not", app: "api", wantErr: `map has no entry for key "ns"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := newRepo(remoteGitRepo(t, map[string]string{"argocd/apps.yaml": appset}), nil)
			require.NoError(t, err)
			_, err = loadGeneratedApp(r, "argocd/apps.yaml", tc.app, nil, "")
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

// TestApplicationSetGitRevision: a git generator reads this checkout only, so a revision that
// is not the branch the service verifies is refused with the file, line and field; HEAD, the
// branch's name and refs/heads/<branch> are this checkout. Without a branch (validate --repo)
// the revision is not checked.
func TestApplicationSetGitRevision(t *testing.T) {
	const ours = "https://github.com/acme/shop.git"
	gen := func(rev string) string {
		return appSetHead + "  generators:\n    - git:\n        repoURL: " + ours + "\n" + rev + "        directories: [{path: 'apps/web'}]\n  template: {metadata: {name: '{{path.basename}}'}, spec: {}}\n"
	}
	inMatrix := appSetHead + "  generators:\n    - matrix:\n        generators:\n          - list: {elements: [{env: prod}]}\n          - git:\n              repoURL: " + ours + "\n              revision: '{{env}}'\n              directories: [{path: 'apps/web'}]\n  template: {metadata: {name: '{{path.basename}}-{{env}}'}, spec: {}}\n"
	tests := []struct {
		name    string
		appset  string
		branch  string
		want    []string
		wantErr string
	}{
		{name: "no revision: the default branch", appset: gen(""), branch: "main", want: []string{"web: {}"}},
		{name: "HEAD", appset: gen("        revision: HEAD\n"), branch: "main", want: []string{"web: {}"}},
		{name: "the branch by name", appset: gen("        revision: deploy\n"), branch: "deploy", want: []string{"web: {}"}},
		{name: "the branch as a ref", appset: gen("        revision: refs/heads/deploy\n"), branch: "deploy", want: []string{"web: {}"}},
		{name: "branch not known: not checked", appset: gen("        revision: release-1\n"), branch: "", want: []string{"web: {}"}},
		{
			name: "another branch", appset: gen("        revision: staging\n"), branch: "main",
			wantErr: `argocd/apps.yaml:8: spec.generators[0].git.revision: "staging" is another revision than the branch main this service verifies`,
		},
		{
			name: "a tag", appset: gen("        revision: v1.2.0\n"), branch: "main",
			wantErr: `argocd/apps.yaml:8: spec.generators[0].git.revision: "v1.2.0" is another revision`,
		},
		{
			name: "a commit", appset: gen("        revision: 0123456789abcdef0123456789abcdef01234567\n"), branch: "main",
			wantErr: `argocd/apps.yaml:8: spec.generators[0].git.revision: "0123456789abcdef0123456789abcdef01234567" is another revision`,
		},
		{
			name: "main when the service verifies another branch", appset: gen("        revision: main\n"), branch: "deploy",
			wantErr: `spec.generators[0].git.revision: "main" is another revision than the branch deploy`,
		},
		{
			name: "a revision interpolated in a matrix, named after interpolation", appset: inMatrix, branch: "main",
			wantErr: `argocd/apps.yaml:11: spec.generators[0].matrix.generators[1].git.revision: "prod" is another revision than the branch main`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := generatedOn(t, tc.appset, tc.branch, ours)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				var fe *policy.FieldError
				require.True(t, errors.As(err, &fe), "a *policy.FieldError: %v", err)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
