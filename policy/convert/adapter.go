package convert

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"
)

// AdapterConfig is the part of a prometheus-adapter configuration that names metrics: its
// rules (custom metrics: Object and Pods) and externalRules (External metrics).
type AdapterConfig struct {
	File          string
	Rules         []AdapterRule `yaml:"rules"`
	ExternalRules []AdapterRule `yaml:"externalRules"`
	// ResourceRules are accepted and not used: Resource metrics become cAdvisor PromQL of
	// our own (see the package documentation).
	ResourceRules yaml.Node `yaml:"resourceRules"`
}

// AdapterRule is one discovery rule: which series it considers, how it names them, which
// labels stand for which Kubernetes resources, and the query it runs.
type AdapterRule struct {
	SeriesQuery   string             `yaml:"seriesQuery"`
	SeriesFilters []AdapterFilter    `yaml:"seriesFilters"`
	Resources     AdapterResources   `yaml:"resources"`
	Name          AdapterNameMapping `yaml:"name"`
	MetricsQuery  string             `yaml:"metricsQuery"`
	Line          int                `yaml:"-"`
}

// AdapterFilter keeps (is) or drops (isNot) series names matching a regular expression.
type AdapterFilter struct {
	Is    string `yaml:"is"`
	IsNot string `yaml:"isNot"`
}

// AdapterResources maps Prometheus labels to Kubernetes resources: a template such as
// `kube_<<.Group>>_<<.Resource>>`, and overrides per label.
type AdapterResources struct {
	Template   string                     `yaml:"template"`
	Overrides  map[string]AdapterResource `yaml:"overrides"`
	Namespaced *bool                      `yaml:"namespaced"`
}

// AdapterResource is a group-resource, e.g. {resource: service} or {group: apps, resource: deployment}.
type AdapterResource struct {
	Group    string `yaml:"group"`
	Resource string `yaml:"resource"`
}

// AdapterNameMapping turns series names into metric names: matches is a regular expression
// (default .*), as its expansion ($1 with one group, $0 with none).
type AdapterNameMapping struct {
	Matches string `yaml:"matches"`
	As      string `yaml:"as"`
}

// ParseAdapterConfig reads a prometheus-adapter configuration file (the config.yaml of its
// ConfigMap). Unknown top-level keys are errors, so a file of another kind is not taken for one.
func ParseAdapterConfig(file string, data []byte) (*AdapterConfig, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: invalid YAML: %w", file, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	cfg := &AdapterConfig{File: file}
	if err := dec.Decode(cfg); err != nil {
		return nil, fmt.Errorf("%s: not a prometheus-adapter config: %w", file, err)
	}
	if len(cfg.Rules)+len(cfg.ExternalRules) == 0 {
		return nil, fmt.Errorf("%s: a prometheus-adapter config needs rules or externalRules", file)
	}
	// Remember each rule's line for messages.
	if len(root.Content) > 0 {
		m := root.Content[0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			var rules []AdapterRule
			switch m.Content[i].Value {
			case "rules":
				rules = cfg.Rules
			case "externalRules":
				rules = cfg.ExternalRules
			default:
				continue
			}
			for j, item := range m.Content[i+1].Content {
				if j < len(rules) {
					rules[j].Line = item.Line
				}
			}
		}
	}
	for _, set := range [][]AdapterRule{cfg.Rules, cfg.ExternalRules} {
		for i := range set {
			if _, err := set[i].compile(); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", file, set[i].Line, err)
			}
		}
	}
	return cfg, nil
}

// compiledRule is a rule ready to name and query series.
type compiledRule struct {
	rule       *AdapterRule
	nameRE     *regexp.Regexp
	as         string
	filters    []AdapterFilter
	filterREs  []*regexp.Regexp
	query      *template.Template
	seriesName string         // the literal metric name of seriesQuery, if it has one
	seriesRE   *regexp.Regexp // or the __name__ regular expression
}

var (
	seriesLiteralRE = regexp.MustCompile(`^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{|$)`)
	seriesNameRE    = regexp.MustCompile(`__name__\s*(=~|=)\s*"((?:[^"\\]|\\.)*)"`)
	metricIdentRE   = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
)

func (r *AdapterRule) compile() (*compiledRule, error) {
	c := &compiledRule{rule: r}
	matches := r.Name.Matches
	if matches == "" {
		matches = ".*"
	}
	var err error
	if c.nameRE, err = regexp.Compile(matches); err != nil {
		return nil, fmt.Errorf("name.matches: %w", err)
	}
	c.as = r.Name.As
	if c.as == "" {
		switch c.nameRE.NumSubexp() {
		case 0:
			c.as = "$0"
		case 1:
			c.as = "$1"
		default:
			return nil, fmt.Errorf("name.as: required when name.matches %q has several groups", r.Name.Matches)
		}
	}
	for _, f := range r.SeriesFilters {
		expr := f.Is
		if (f.Is == "") == (f.IsNot == "") {
			return nil, fmt.Errorf("seriesFilters: each filter needs exactly one of is and isNot")
		}
		if expr == "" {
			expr = f.IsNot
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("seriesFilters: %w", err)
		}
		c.filters = append(c.filters, f)
		c.filterREs = append(c.filterREs, re)
	}
	if c.query, err = template.New("metricsQuery").Delims("<<", ">>").Parse(r.MetricsQuery); err != nil {
		return nil, fmt.Errorf("metricsQuery: %w", err)
	}
	if strings.TrimSpace(r.MetricsQuery) == "" {
		return nil, fmt.Errorf("metricsQuery: required")
	}
	if m := seriesLiteralRE.FindStringSubmatch(r.SeriesQuery); m != nil {
		c.seriesName = m[1]
	} else if m := seriesNameRE.FindStringSubmatch(r.SeriesQuery); m != nil {
		if m[1] == "=" {
			c.seriesName = m[2]
		} else if c.seriesRE, err = regexp.Compile("^(?:" + m[2] + ")$"); err != nil {
			return nil, fmt.Errorf("seriesQuery: __name__: %w", err)
		}
	}
	return c, nil
}

// seriesFor finds the series name the rule publishes as metric name, if any. The adapter
// learns series names from Prometheus; without Prometheus, the candidates are the literal
// name of seriesQuery and, when name.as is one group with a fixed prefix and suffix, the
// name.matches pattern with that group filled in.
func (c *compiledRule) seriesFor(metric string) (string, bool) {
	var candidates []string
	if c.seriesName != "" {
		candidates = append(candidates, c.seriesName)
	}
	candidates = append(candidates, c.invert(metric)...)
	for _, s := range candidates {
		if c.publishes(s) && c.nameFor(s) == metric {
			return s, true
		}
	}
	return "", false
}

// publishes says whether the adapter would consider series name s under this rule.
func (c *compiledRule) publishes(s string) bool {
	if c.seriesName != "" && s != c.seriesName {
		return false
	}
	if c.seriesRE != nil && !c.seriesRE.MatchString(s) {
		return false
	}
	if !c.nameRE.MatchString(s) {
		return false
	}
	for i, f := range c.filters {
		if c.filterREs[i].MatchString(s) != (f.Is != "") {
			return false
		}
	}
	return true
}

// nameFor is the metric name of series s, as the adapter expands name.as over the match.
func (c *compiledRule) nameFor(s string) string {
	m := c.nameRE.FindStringSubmatchIndex(s)
	if m == nil {
		return ""
	}
	return string(c.nameRE.ExpandString(nil, c.as, s, m))
}

var groupRefRE = regexp.MustCompile(`\$\{?([0-9]+)\}?`)

// invert guesses the series names whose metric name is metric.
func (c *compiledRule) invert(metric string) []string {
	refs := groupRefRE.FindAllStringSubmatchIndex(c.as, -1)
	if len(refs) != 1 {
		return nil
	}
	prefix, suffix := c.as[:refs[0][0]], c.as[refs[0][1]:]
	group := c.as[refs[0][2]:refs[0][3]]
	if !strings.HasPrefix(metric, prefix) || !strings.HasSuffix(metric, suffix) || len(metric) < len(prefix)+len(suffix) {
		return nil
	}
	captured := metric[len(prefix) : len(metric)-len(suffix)]
	if group == "0" {
		return []string{captured}
	}
	if group != "1" || c.nameRE.NumSubexp() != 1 {
		return nil
	}
	pattern := c.nameRE.String()
	open := strings.IndexByte(pattern, '(')
	close := matchingParen(pattern, open)
	if open < 0 || close < 0 {
		return nil
	}
	s := pattern[:open] + captured + pattern[close+1:]
	s = strings.TrimSuffix(strings.TrimPrefix(s, "^"), "$")
	if !metricIdentRE.MatchString(s) {
		return nil
	}
	return []string{s}
}

func matchingParen(s string, open int) int {
	if open < 0 {
		return -1
	}
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// labelFor is the Prometheus label that stands for a Kubernetes resource (plural, lower
// case, e.g. "services"; group "" for the core group), as the adapter resolves it: an
// override naming the resource, else the template.
func (c *compiledRule) labelFor(group, resource string) (string, error) {
	for _, lbl := range sortedKeys(c.rule.Resources.Overrides) {
		o := c.rule.Resources.Overrides[lbl]
		if plural(strings.ToLower(o.Resource)) == resource && normGroup(o.Group) == normGroup(group) {
			return lbl, nil
		}
	}
	if c.rule.Resources.Template == "" {
		return "", fmt.Errorf("no label stands for %s: the rule's resources has neither an override for it nor a template", groupResource(group, resource))
	}
	t, err := template.New("resource").Delims("<<", ">>").Parse(c.rule.Resources.Template)
	if err != nil {
		return "", fmt.Errorf("resources.template: %w", err)
	}
	var b bytes.Buffer
	err = t.Execute(&b, struct{ Group, Resource string }{strings.NewReplacer(".", "_", "-", "_").Replace(group), singular(resource)})
	if err != nil || b.Len() == 0 {
		return "", fmt.Errorf("resources.template gives no label for %s", groupResource(group, resource))
	}
	return b.String(), nil
}

// queryArgs are the fields a metricsQuery template sees, as in prometheus-adapter.
type queryArgs struct {
	Series            string
	LabelMatchers     string
	LabelValuesByName map[string]string
	GroupBy           string
	GroupBySlice      []string
}

// matcher is one label matcher of a query, formatted as the adapter does (label="value").
type matcher struct {
	label, op, value string
}

func (m matcher) String() string { return fmt.Sprintf("%s%s%q", m.label, m.op, m.value) }

// build runs the metricsQuery template.
func (c *compiledRule) build(series string, matchers []matcher, groupBy []string) (string, error) {
	exprs := make([]string, len(matchers))
	byName := map[string]string{}
	for i, m := range matchers {
		exprs[i] = m.String()
		byName[m.label] = m.value
	}
	var b bytes.Buffer
	err := c.query.Execute(&b, queryArgs{
		Series:            series,
		LabelMatchers:     strings.Join(exprs, ","),
		LabelValuesByName: byName,
		GroupBy:           strings.Join(groupBy, ","),
		GroupBySlice:      groupBy,
	})
	if err != nil {
		return "", fmt.Errorf("metricsQuery: %w", err)
	}
	if strings.TrimSpace(b.String()) == "" {
		return "", fmt.Errorf("metricsQuery: the template gives an empty query")
	}
	return b.String(), nil
}

// find is the rule (of rules or externalRules) that publishes metric, with the series name.
func (a *AdapterConfig) find(metric string, external bool) (*compiledRule, string, []int) {
	set := a.Rules
	if external {
		set = a.ExternalRules
	}
	var found *compiledRule
	var series string
	var lines []int
	for i := range set {
		c, err := set[i].compile()
		if err != nil {
			continue
		}
		if s, ok := c.seriesFor(metric); ok {
			if found == nil {
				found, series = c, s
			}
			lines = append(lines, set[i].Line)
		}
	}
	return found, series, lines
}

// plural is the resource name of a kind or singular resource: service → services.
func plural(s string) string {
	s = strings.ToLower(s)
	switch {
	case s == "":
		return s
	case strings.HasSuffix(s, "ss"), strings.HasSuffix(s, "sh"), strings.HasSuffix(s, "ch"), strings.HasSuffix(s, "x"):
		return s + "es"
	case strings.HasSuffix(s, "s"):
		return s // already plural (pods, services)
	case strings.HasSuffix(s, "y") && !strings.ContainsAny(s[len(s)-2:len(s)-1], "aeiou"):
		return s[:len(s)-1] + "ies"
	}
	return s + "s"
}

// singular is the adapter's singular resource name: services → service.
func singular(s string) string {
	switch {
	case strings.HasSuffix(s, "sses"), strings.HasSuffix(s, "shes"), strings.HasSuffix(s, "ches"), strings.HasSuffix(s, "xes"):
		return s[:len(s)-2]
	case strings.HasSuffix(s, "ies"):
		return s[:len(s)-3] + "y"
	case strings.HasSuffix(s, "s"):
		return s[:len(s)-1]
	}
	return s
}

func normGroup(g string) string {
	if g == "core" {
		return ""
	}
	return g
}

func groupResource(group, resource string) string {
	if group == "" {
		return resource
	}
	return resource + "." + group
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
