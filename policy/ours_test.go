package policy

import "testing"

func TestIsOurs(t *testing.T) {
	cases := []struct {
		name string
		data string
		want bool
	}{
		{"policy", "apiVersion: autoscaler.gitops.dev/v1alpha1\nkind: PrometheusAutoscaler\n", true},
		{"config, quoted kind", "kind: \"AutoscalerConfig\"\n", true},
		{"legacy apiVersion, kind misspelt", "apiVersion: autoscaler.laravel.app/v1alpha1\nkind: PrometheusAutoscaller\n", true},
		{"flow style", "{apiVersion: v1, kind: PrometheusAutoscaler}\n", true},
		{"chart", "apiVersion: v2\nname: web\nversion: 1.0.0\n", false},
		{"template", "{{- define \"web.name\" -}}\n{{ .Chart.Name }}\n{{- end }}\n", false},
		{"Application", "apiVersion: argoproj.io/v1alpha1\nkind: Application\n", false},
		{"a longer kind that starts like ours", "kind: PrometheusAutoscalerList\n", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsOurs([]byte(tc.data)); got != tc.want {
				t.Fatalf("IsOurs(%q) = %v, want %v", tc.data, got, tc.want)
			}
		})
	}
}
