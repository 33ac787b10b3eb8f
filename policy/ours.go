package policy

import "regexp"

// oursRE finds a document of ours in a file's bytes without parsing it: a kind or an apiVersion
// of this project, in block or flow style.
var oursRE = regexp.MustCompile(`\bkind:[ \t]*["']?(` + KindPolicy + `|` + KindConfig + `)\b|\bapiVersion:[ \t]*["']?autoscaler\.(gitops\.dev|laravel\.app)/`)

// IsOurs reports whether a file holds, or tries to hold, a document of ours: a
// PrometheusAutoscaler or AutoscalerConfig kind, or this project's apiVersion. `validate DIR`
// skips the other YAML files of a directory — a chart's Chart.yaml and templates, Argo CD
// Applications, plain manifests — and says how many (docs/design.md §8).
func IsOurs(data []byte) bool { return oursRE.Match(data) }
