package commitmsg

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// Trailer keys of our commits (docs/design.md §6), in the order they are written.
const (
	TrailerPolicy      = "Autoscaler-Policy"
	TrailerTarget      = "Autoscaler-Target"
	TrailerFrom        = "Autoscaler-From"
	TrailerTo          = "Autoscaler-To"
	TrailerMetrics     = "Autoscaler-Metrics"
	TrailerEvaluatedAt = "Autoscaler-Evaluated-At"
	TrailerDecisionID  = "Autoscaler-Decision-Id"
	TrailerManual      = "Autoscaler-Manual"
	TrailerRequestedBy = "Autoscaler-Requested-By"
	// TrailerHold is a manual scale's hold in seconds (scale --hold): how long the policy
	// leaves the count alone (0: not at all). docs/design.md §6.
	TrailerHold = "Autoscaler-Hold"
	// TrailerCoAuthor credits the person who asked for a manual scale, when RequestedBy is
	// "Name <email>": hosts show them beside the bot.
	TrailerCoAuthor = "Co-authored-by"
)

// decisionIDLen is the number of hex digits of a decision id: 80 bits, plenty to tell the
// decisions of one repository apart.
const decisionIDLen = 20

// Message is the content of one decision's commit message.
type Message struct {
	// PolicyID is the policy's "namespace/name".
	PolicyID string
	// Target is where the count lives; written as `file#path`.
	Target policy.ReplicasLocation
	From   int
	To     int
	// Reasons are the decision's explanation, one line each (Reason.Message); a metric's line
	// carries its parts as fields too, for the pull request's table.
	Reasons []engine.Reason
	// Metrics are the values the decision was made on, in the policy's order.
	Metrics []engine.MetricValue
	// EvaluatedAt is the instant of the decision; written in UTC.
	EvaluatedAt time.Time
	// Manual marks a manual scale through the CLI, requested by RequestedBy, held for Hold
	// (nil: the policy's afterManualEditSeconds, as for an edit by hand).
	Manual      bool
	RequestedBy string
	Hold        *time.Duration
}

// DecisionID identifies a decision by what it does: the hex sha256 prefix of the policy, the
// target, and the from and to counts. The same decision made twice has the same id, so a rerun
// can see it already exists.
func DecisionID(policyID string, target policy.ReplicasLocation, from, to int) string {
	h := sha256.New()
	// NUL-separated: none of the parts can contain a NUL, so different inputs never collide
	// by shifting a boundary.
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d", policyID, Target(target), from, to)
	return hex.EncodeToString(h.Sum(nil))[:decisionIDLen]
}

// DecisionID returns the message's decision id.
func (m Message) DecisionID() string {
	return DecisionID(m.PolicyID, m.Target, m.From, m.To)
}

// Subject returns the message's first line, also the title of its pull request.
func (m Message) Subject() string {
	id := oneLine(m.PolicyID)
	word := "replicas"
	if m.To == 1 {
		word = "replica"
	}
	if m.Manual {
		return fmt.Sprintf("scale(%s): %d → %d %s (manual)", id, m.From, m.To, word)
	}
	return fmt.Sprintf("autoscale(%s): %d → %d %s", id, m.From, m.To, word)
}

// Format writes the commit message of docs/design.md §6: subject, blank line, the reasons one
// per line, blank line, trailers in `git interpret-trailers` format. Reasons are made single
// lines, and empty ones dropped, so no reason can start a paragraph git would read as trailers.
func Format(m Message) string {
	var b strings.Builder
	b.WriteString(m.Subject())
	b.WriteString("\n\n")
	wrote := false
	for _, reason := range m.Reasons {
		r := oneLine(reason.Message)
		if r == "" {
			continue
		}
		b.WriteString(r)
		b.WriteByte('\n')
		wrote = true
	}
	if wrote {
		b.WriteByte('\n')
	}
	writeTrailers(&b, m)
	return b.String()
}

// FormatTrailers writes the message's trailer paragraph alone, as Format ends with it.
func FormatTrailers(m Message) string {
	var b strings.Builder
	writeTrailers(&b, m)
	return b.String()
}

func writeTrailers(b *strings.Builder, m Message) {
	trailer := func(k, v string) {
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(oneLine(v))
		b.WriteByte('\n')
	}
	trailer(TrailerPolicy, m.PolicyID)
	trailer(TrailerTarget, Target(m.Target))
	trailer(TrailerFrom, strconv.Itoa(m.From))
	trailer(TrailerTo, strconv.Itoa(m.To))
	if len(m.Metrics) > 0 {
		trailer(TrailerMetrics, formatMetrics(m.Metrics))
	}
	trailer(TrailerEvaluatedAt, m.EvaluatedAt.UTC().Format(time.RFC3339))
	trailer(TrailerDecisionID, m.DecisionID())
	if m.Manual {
		trailer(TrailerManual, "true")
		if m.RequestedBy != "" {
			trailer(TrailerRequestedBy, m.RequestedBy)
		}
		if m.Hold != nil {
			trailer(TrailerHold, strconv.Itoa(int(m.Hold.Seconds())))
		}
		if IsPersonAddress(m.RequestedBy) {
			trailer(TrailerCoAuthor, m.RequestedBy)
		}
	}
}

// Trailers are the autoscaler trailers read back from a commit message.
type Trailers struct {
	PolicyID    string
	Target      string // `file#path`
	From        int
	To          int
	Metrics     string
	EvaluatedAt time.Time
	DecisionID  string
	Manual      bool
	RequestedBy string
	// HoldSeconds is a manual scale's Autoscaler-Hold (nil: none written).
	HoldSeconds *int
}

// IsPersonAddress reports whether s is "Name <email>", the form Git and the hosts' co-author
// trailers take.
func IsPersonAddress(s string) bool {
	open := strings.LastIndex(s, " <")
	return open > 0 && strings.HasSuffix(s, ">") && strings.Contains(s[open:], "@") && !strings.ContainsAny(s, "\n\r")
}

// ParseTrailers reads our trailers from the last paragraph of a commit message. It reports
// false when the message is not one of ours: no Autoscaler-Policy, or a From or To that is not
// a number. CRLF line endings and trailing whitespace are tolerated, as git does.
func ParseTrailers(msg string) (Trailers, bool) {
	block, ok := TrailerBlock(msg)
	if !ok {
		return Trailers{}, false
	}
	return ParseTrailerBlock(block)
}

// TrailerBlock returns a commit message's last paragraph, where git and ParseTrailers read
// trailers, with CRLF line endings and trailing whitespace removed; false for a subject alone.
func TrailerBlock(msg string) (string, bool) {
	// Git treats a whitespace-only line as blank: trim every line before finding paragraphs.
	lines := strings.Split(strings.ReplaceAll(msg, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	msg = strings.TrimRight(strings.Join(lines, "\n"), "\n")
	i := strings.LastIndex(msg, "\n\n")
	if i < 0 {
		return "", false // a subject alone has no trailers
	}
	return msg[i+2:] + "\n", true
}

// ParseTrailerBlock reads our trailers from a block of trailer lines — a commit message's last
// paragraph, or the copy of it a pull request's description shows. It is the one reader of
// our trailers (docs/design.md §6); it reports false as ParseTrailers does. Lines that are
// not "Key: value" are skipped.
func ParseTrailerBlock(msg string) (Trailers, bool) {
	msg = strings.ReplaceAll(msg, "\r\n", "\n")
	var t Trailers
	var haveFrom, haveTo bool
	for _, line := range strings.Split(msg, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k = strings.TrimSpace(k)
		v = strings.TrimSpace(v)
		var err error
		switch {
		case strings.EqualFold(k, TrailerPolicy):
			t.PolicyID = v
		case strings.EqualFold(k, TrailerTarget):
			t.Target = v
		case strings.EqualFold(k, TrailerFrom):
			t.From, err = strconv.Atoi(v)
			haveFrom = err == nil
		case strings.EqualFold(k, TrailerTo):
			t.To, err = strconv.Atoi(v)
			haveTo = err == nil
		case strings.EqualFold(k, TrailerMetrics):
			t.Metrics = v
		case strings.EqualFold(k, TrailerEvaluatedAt):
			t.EvaluatedAt, _ = time.Parse(time.RFC3339, v)
		case strings.EqualFold(k, TrailerDecisionID):
			t.DecisionID = v
		case strings.EqualFold(k, TrailerManual):
			t.Manual, _ = strconv.ParseBool(v)
		case strings.EqualFold(k, TrailerRequestedBy):
			t.RequestedBy = v
		case strings.EqualFold(k, TrailerHold):
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				t.HoldSeconds = &n
			}
		}
	}
	if t.PolicyID == "" || !haveFrom || !haveTo {
		return Trailers{}, false
	}
	return t, true
}

// Target writes a replica location as the Autoscaler-Target trailer does: `file#path`.
func Target(loc policy.ReplicasLocation) string {
	return loc.File + "#" + loc.Path
}

// formatMetrics writes `a=1.5; b=2`; a missing value is written as `missing`.
func formatMetrics(ms []engine.MetricValue) string {
	parts := make([]string, 0, len(ms))
	for _, m := range ms {
		v := "missing"
		if !m.Missing {
			v = formatValue(m.Value)
		}
		parts = append(parts, strings.ReplaceAll(oneLine(m.Name), ";", ",")+"="+v)
	}
	return strings.Join(parts, "; ")
}

// oneLine joins a text's lines with spaces and trims it, so it can be one line of a message.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return strings.TrimSpace(s)
	}
	return strings.Join(strings.Fields(strings.NewReplacer("\r", "\n").Replace(s)), " ")
}

// formatValue writes a metric value without an exponent for everyday magnitudes (bytes of
// memory read better as 67108864 than 6.7108864e+07), shortest form otherwise.
func formatValue(v float64) string {
	if a := math.Abs(v); a >= 1e-4 && a < 1e15 || v == 0 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
