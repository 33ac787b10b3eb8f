package policy

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/strictyaml"
	"github.com/gitops-autoscaler/gitops-autoscaler/internal/svcconfig"
)

// Invalid is a policy document that did not load, or a loaded policy a set-level check
// refused. The isolating loaders (LoadEach, CheckSet) report these beside the policies that
// are fine, so that one team's mistake in a shared repository stops only its own policies
// (docs/design.md §9, invariant 9); the strict ones (LoadPolicies, ValidateSet) fail the whole
// set, as `validate` in CI should.
type Invalid struct {
	// File and Line locate the document; for a YAML syntax error, the line of the error.
	File string
	Line int
	// Repository is the configured repository the file was found in (set by the caller).
	Repository string
	// Policy is the ID (namespace/name) the document gives, when its metadata could be read;
	// empty when it could not, e.g. for a YAML syntax error.
	Policy string
	// Err joins the problems, each a *FieldError with its own line and field.
	Err error
}

// Where is file:line.
func (iv Invalid) Where() string {
	if iv.Line > 0 {
		return iv.File + ":" + strconv.Itoa(iv.Line)
	}
	return iv.File
}

// Error is the problems, one per line, each `file:line: field: message`.
func (iv Invalid) Error() string {
	if iv.Err == nil {
		return iv.Where() + ": invalid"
	}
	return iv.Err.Error()
}

// LoadEach is LoadPolicies isolating each document: it returns the policies of the valid
// documents and an Invalid for each of the others. A YAML syntax error spoils only the
// document it is in.
func LoadEach(file string, data []byte) ([]*Policy, []Invalid) {
	var ok []*Policy
	var bad []Invalid
	eachDocument(file, data, KindPolicy, func(d document) {
		if len(d.problems) == 0 {
			ok = append(ok, d.policy)
			return
		}
		iv := Invalid{File: file, Line: d.line, Err: strictyaml.Join(d.problems)}
		if d.policy != nil {
			iv.Policy = legibleID(d.policy.Metadata)
		}
		bad = append(bad, iv)
	})
	return ok, bad
}

// legibleID is the ID an invalid document names, or "" when its name is not a valid one: an
// ID is used as a key and a label, so a malformed name is not trusted as one.
func legibleID(m Metadata) string {
	if m.Name == "" || len(m.Name) > 253 || !dns1123Subdomain.MatchString(m.Name) {
		return ""
	}
	if m.Namespace != "" && (len(m.Namespace) > 63 || !dns1123Label.MatchString(m.Namespace)) {
		return ""
	}
	return (&Policy{Metadata: m}).ID()
}

// CheckSet is ValidateSet isolating the policies involved: it returns the policies no
// set-level check refused, and an Invalid for each one that was. It is CheckRepoSet knowing
// nothing of the repository: with no history to tell which of two policies claimed a name or
// a target first, a conflict refuses both, each message naming the other. A problem of one
// policy alone (an unknown Prometheus server) refuses that one.
func CheckSet(cfg *svcconfig.Config, policies []*Policy) ([]*Policy, []Invalid) {
	return CheckRepoSet(cfg, policies, RepoView{})
}

// conflict is one set-level problem: of policy p at field, and, when another policy is
// involved, of that one too.
type conflict struct {
	p, other      *Policy
	field         string
	msg, otherMsg string
}

func (c conflict) at(p *Policy, msg string) *FieldError {
	return &FieldError{File: p.Source.File, Line: p.Source.LineOf(c.field), Field: c.field, Msg: msg}
}

// setConflicts finds what no single document can show: duplicate IDs, two policies writing
// one target, and, with a config, Prometheus servers it does not define and policy URLs it
// does not allow. Each conflict is reported at the later policy, naming the first.
func setConflicts(cfg *svcconfig.Config, policies []*Policy) []conflict {
	where := func(p *Policy, field string) string {
		return fmt.Sprintf("%s:%d", p.Source.File, p.Source.LineOf(field))
	}
	var out []conflict
	ids := map[string]*Policy{}
	targets := map[string]*Policy{}
	for _, p := range policies {
		if first, dup := ids[p.ID()]; dup {
			out = append(out, conflict{p: p, other: first, field: "metadata.name",
				msg:      fmt.Sprintf("duplicate policy %s (first at %s)", p.ID(), where(first, "metadata.name")),
				otherMsg: fmt.Sprintf("duplicate policy %s (again at %s)", p.ID(), where(p, "metadata.name"))})
		} else {
			ids[p.ID()] = p
		}
		// A DryRun policy never writes: beside a live one on the same workload it is a shadow,
		// not a second writer (docs/design.md §4).
		if r := p.Spec.Replicas; r != nil && writes(&p.Spec) {
			key := targetKey(p.Source.Repository, r)
			if first, dup := targets[key]; dup {
				const flipFlop = "policy %s writes the same file and path as %s (%s); the two would flip-flop"
				out = append(out, conflict{p: p, other: first, field: "spec.replicas.path",
					msg:      fmt.Sprintf(flipFlop, p.ID(), first.ID(), where(first, "spec.replicas.path")),
					otherMsg: fmt.Sprintf(flipFlop, first.ID(), p.ID(), where(p, "spec.replicas.path"))})
			} else {
				targets[key] = p
			}
		}
		out = append(out, policyConflicts(cfg, p)...)
	}
	return out
}

// policyConflicts are the set-level problems of one policy alone: with a config, a Prometheus
// server it does not define, or a policy URL it does not allow.
func policyConflicts(cfg *svcconfig.Config, p *Policy) []conflict {
	if cfg == nil || p.Spec.Prometheus == nil {
		return nil
	}
	var out []conflict
	if srv := p.Spec.Prometheus.Server; srv != "" && cfg.Server(srv) == nil {
		known := make([]string, len(cfg.Prometheus))
		for i, s := range cfg.Prometheus {
			known[i] = s.Name
		}
		msg := "the config defines no Prometheus servers"
		if len(known) > 0 {
			msg = "the config defines: " + strings.Join(known, ", ")
		}
		out = append(out, conflict{p: p, field: "spec.prometheus.server", msg: fmt.Sprintf("unknown Prometheus server %q: %s", srv, msg)})
	}
	if p.Spec.Prometheus.URL != "" && !cfg.AllowPolicyPrometheusURLs {
		out = append(out, conflict{p: p, field: "spec.prometheus.url",
			msg: "the config does not allow policies to name their own Prometheus (allowPolicyPrometheusURLs: false); use server"})
	}
	return out
}
