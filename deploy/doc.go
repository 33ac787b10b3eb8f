// Package deploy holds no code: it is the home of the product's deployment artifacts — the
// Helm chart of the autoscaler (helm/gitops-autoscaler), the Argo CD Applications (argocd/), the
// Grafana dashboard (grafana/) and the Prometheus alert rules (prometheus/) — and of the tests
// that keep them valid: the chart renders to strict Kubernetes objects and its schema rejects
// bad values, its StatefulSet gives every pod a distinct shard and the shards cover every
// policy, the rules pass promtool, the dashboard queries only metrics the service exports,
// and the Laravel example under examples/ renders for every environment and carries
// well-formed policies.
//
// What the service does is owned by cmd/gitops-autoscaler and the loop in gitops, the metrics
// it exports by internal/web; the policy format is owned by policy.
package deploy
