package convert

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/yamlnode"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// Input is one manifest file: its name (for messages) and its bytes.
type Input struct {
	File string
	Data []byte
}

// Options say what the inputs cannot: how prometheus-adapter names its metrics, and which
// Prometheus servers the service config knows.
type Options struct {
	// Adapter is the prometheus-adapter rules file; needed for an HPA's External, Object and
	// Pods metrics.
	Adapter *AdapterConfig
	// Servers are the service config's Prometheus servers. A KEDA serverAddress that matches
	// one (scheme, host and path) becomes `prometheus: {server: NAME}`; otherwise the policy
	// names the URL itself.
	Servers []svcconfig.PrometheusServer
}

// Imported is one policy made from one input document.
type Imported struct {
	// Policy is the translated document as Marshal writes it (not defaulted); it passes
	// validation. Its spec.replicas is empty unless the original named it: the file and path
	// of the count in Git are found by render/locate (see SetReplicas), or filled in by hand.
	Policy *policy.Policy
	// From names the original, e.g. "ScaledObject default/prometheus-scaledobject".
	From string
	// File and Line locate the original document.
	File string
	Line int
	// Handover says what to delete in the cluster before the policy takes over, or "" when
	// nothing needs deleting (an original PrometheusAutoscaler is replaced in place).
	Handover string
	// Warnings name every field that did not translate exactly, and why.
	Warnings []policy.Warning

	// node is the original document edited in place, for an original PrometheusAutoscaler, so
	// that its comments and layout survive; nil for the other kinds.
	node *yaml.Node
}

// Result is what Import made of its inputs.
type Result struct {
	Policies []*Imported
	// Skipped counts the documents of other kinds (Deployments, Services…) that were passed
	// over, so a directory of manifests can be imported as it is.
	Skipped int
	// SkippedFiles counts the files that do not parse as YAML and name none of the kinds import
	// reads (a chart's templates, before rendering).
	SkippedFiles int
}

// importedKindRE finds, without parsing, a kind import reads.
var importedKindRE = regexp.MustCompile(`\bkind:[ \t]*["']?(ScaledObject|HorizontalPodAutoscaler|PrometheusAutoscaler)\b`)

// mentionsImported reports whether a file names a kind import reads.
func mentionsImported(data []byte) bool { return importedKindRE.Match(data) }

// Import translates every ScaledObject, HorizontalPodAutoscaler and PrometheusAutoscaler of
// the inputs. Other kinds are skipped. A document that cannot be translated at all (no metric
// left, a bad number, a broken YAML file) is an error naming its file, line and field; the
// others are still returned, so one bad document does not stop the rest.
func Import(inputs []Input, opts Options) (*Result, error) {
	res := &Result{}
	var errs []error
	for _, in := range inputs {
		for doc, err := range yamlnode.Documents(in.Data) {
			if err != nil {
				if !mentionsImported(in.Data) {
					// A chart template or another file that is not YAML until rendered, naming
					// no kind import reads: not ours to fail on.
					res.SkippedFiles++
					break
				}
				errs = append(errs, fmt.Errorf("%s: invalid YAML: %w", in.File, err))
				break
			}
			if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
				continue
			}
			src := newSource(in.File, doc.Content[0])
			src.data = in.Data
			imp, err := importDocument(src, opts)
			switch {
			case err != nil:
				errs = append(errs, err)
			case imp == nil:
				res.Skipped++
			default:
				res.Policies = append(res.Policies, imp)
			}
		}
	}
	return res, errors.Join(errs...)
}

// importDocument translates one document, or returns nil for a kind it does not import.
func importDocument(src *source, opts Options) (*Imported, error) {
	top := src.top()
	apiVersion, kind := top.field("apiVersion").str(), top.field("kind").str()
	group, _, _ := strings.Cut(apiVersion, "/")
	var (
		imp *Imported
		err error
	)
	switch {
	case group == "keda.sh" && kind == "ScaledObject":
		imp, err = scaledObject(src, opts)
	case group == "keda.sh" && kind == "ScaledJob":
		return nil, src.fail(top.field("kind"), "a ScaledJob starts Jobs rather than scaling replicas; there is nothing in Git to scale")
	case group == "autoscaling" && kind == "HorizontalPodAutoscaler":
		imp, err = hpa(src, opts, apiVersion)
	case kind == policy.KindPolicy && apiVersion == policy.LegacyAPIVersion:
		imp, err = original(src)
	default:
		return nil, nil
	}
	if err != nil {
		// The warnings say what was dropped on the way to the error.
		for _, w := range src.sortedWarnings() {
			err = fmt.Errorf("%w\n  %s", err, w)
		}
		return nil, err
	}
	imp.File, imp.Line = src.file, src.root.Line
	if err := check(imp); err != nil {
		return nil, err
	}
	imp.Warnings = append(src.sortedWarnings(), imp.Warnings...)
	return imp, nil
}

// fail is a translation error at a field: `file:line: field: message`.
func (s *source) fail(v value, format string, args ...any) error {
	return &policy.FieldError{File: s.file, Line: v.line(), Field: v.path, Msg: fmt.Sprintf(format, args...)}
}

// check runs the result through the same defaults and validation `validate` applies, so an
// import never writes a policy the loader would refuse.
func check(imp *Imported) error {
	if _, err := imp.Load(); err != nil {
		return fmt.Errorf("%s:%d: %s: the translated policy is not valid: %w", imp.File, imp.Line, imp.From, err)
	}
	return nil
}

// Load is the imported policy as the loader reads what Import writes — defaulted and
// validated, exactly what `import` and then `validate` or `backtest` of the written file would
// give — for a caller that runs it at once (backtest --compare of a manifest).
func (imp *Imported) Load() (*policy.Policy, error) {
	data, err := Marshal(imp)
	if err != nil {
		return nil, err
	}
	ps, err := policy.LoadPolicies(imp.File, data)
	if err != nil {
		return nil, err
	}
	if len(ps) != 1 {
		return nil, fmt.Errorf("%s:%d: %s: the translation holds %d policies, want 1", imp.File, imp.Line, imp.From, len(ps))
	}
	return ps[0], nil
}

// metadata reads the name and namespace every kind shares.
func metadata(src *source) (name, namespace string, err error) {
	md := src.top().field("metadata")
	md.use() // labels, annotations, uid… describe the object, not its scaling
	name, namespace = md.field("name").str(), md.field("namespace").str()
	if name == "" {
		return "", "", src.fail(md.field("name"), "required")
	}
	return name, namespace, nil
}

// objectName is "Kind namespace/name".
func objectName(kind, namespace, name string) string {
	if namespace == "" {
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}

// prometheusRef maps a Prometheus address to a configured server when one has the same
// scheme, host and path, else to the URL itself. Credentials in the URL are never copied.
func prometheusRef(v value, servers []svcconfig.PrometheusServer) *policy.PrometheusRef {
	raw := v.str()
	if raw == "" {
		return nil
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		v.warn("not a URL; the policy uses the default Prometheus server")
		return nil
	}
	if u.User != nil {
		u.User = nil
		v.warn("carries credentials, which are not copied: give the server's credentials in the service config (bearerTokenFile or basicAuth by file)")
	}
	for _, s := range servers {
		if su, err := url.Parse(s.URL); err == nil && sameServer(su, u) {
			return &policy.PrometheusRef{Server: s.Name}
		}
	}
	if len(servers) > 0 {
		v.warn("matches no server of the service config; the policy names the URL itself, which the config must allow (allowPolicyPrometheusURLs: true)")
	}
	return &policy.PrometheusRef{URL: u.String()}
}

func sameServer(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host) &&
		strings.TrimRight(a.Path, "/") == strings.TrimRight(b.Path, "/")
}

// metricName makes a policy metric name (a simple identifier) of a trigger or metric name.
func metricName(s string, fallback string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteRune('_')
			}
			b.WriteRune(r)
		default:
			b.WriteRune('_')
		}
	}
	if b.Len() == 0 {
		return fallback
	}
	return b.String()
}

// uniqueNames renames duplicate metric names name_2, name_3…
func uniqueNames(ms []policy.Metric) {
	seen := map[string]int{}
	for i := range ms {
		n := ms[i].Name
		seen[n]++
		if seen[n] > 1 {
			ms[i].Name = fmt.Sprintf("%s_%d", n, seen[n])
		}
	}
}

func ptr[T any](v T) *T { return &v }
