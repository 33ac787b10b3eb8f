package engine

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/internal/gitname"
)

// explainer collects a decision's reason lines. Every message is appended to one byte buffer
// and, when the decision is done, the buffer becomes one string of which each Reason.Message is
// a substring: a decision costs a handful of allocations however many lines explain it (the
// engine runs for every policy on every cycle and for every step of a backtest).
type explainer struct {
	buf     []byte
	reasons []Reason
	ends    []int // ends[i] is the end offset in buf of reasons[i]'s message
	// rules holds, for each metric's line, three ints: the reason's index and the offsets in
	// buf where its rule starts and ends (-1 until to closes it).
	rules []int
}

// newExplainer sizes the buffers for a policy with n metrics, so that a typical decision does
// not grow them: a line per metric and four more (the recommendation, a limit, the bounds, the
// result). Not more: a Reason is 80 bytes with its typed parts, and at n+10 lines the reasons
// a replay allocates and drops at every step made BenchmarkBacktest7Days allocate 1.44× and
// take about 1.25× the CPU it did before the parts were typed; at n+4 both are back to before
// (docs/benchmarks.md), and BenchmarkDecide's decision, which runs through every step, still
// makes 4 allocations.
func newExplainer(n int) *explainer {
	lines := n + 4
	offsets := make([]int, 0, lines+3*(n+1)) // one allocation for ends and rules
	return &explainer{
		buf:     make([]byte, 0, 64*lines),
		reasons: make([]Reason, 0, lines),
		ends:    offsets[:0:lines],
		rules:   offsets[lines:lines],
	}
}

// begin starts a reason line with its code; the message follows through the append methods
// and is closed by end.
func (e *explainer) begin(code ReasonCode) *explainer {
	e.reasons = append(e.reasons, Reason{Code: code})
	return e
}

// end closes the line begun last.
func (e *explainer) end() {
	e.ends = append(e.ends, len(e.buf))
}

// mark and reset let a caller compute something whose explanation it does not want.
func (e *explainer) mark() (lines, bytes int) { return len(e.reasons), len(e.buf) }

func (e *explainer) reset(lines, bytes int) {
	e.reasons, e.ends, e.buf = e.reasons[:lines], e.ends[:lines], e.buf[:bytes]
	for len(e.rules) > 0 && e.rules[len(e.rules)-3] >= lines {
		e.rules = e.rules[:len(e.rules)-3]
	}
}

// metric begins a metric's line, "name = value", and records the metric and its value in the
// reason's fields; the rule the value was held against follows, and to closes the line with
// the count it recommends (Reason.Rule is the text between the two).
func (e *explainer) metric(code ReasonCode, name string, v float64) *explainer {
	e.begin(code).str(name).str(" = ").num(v)
	r := &e.reasons[len(e.reasons)-1]
	r.Metric, r.Value = name, v
	e.rules = append(e.rules, len(e.reasons)-1, len(e.buf), -1)
	return e
}

// finish fills every Message and returns the reasons.
func (e *explainer) finish() []Reason {
	if len(e.reasons) == 0 {
		return nil
	}
	all := string(e.buf)
	start := 0
	for i := range e.reasons {
		e.reasons[i].Message = all[start:e.ends[i]]
		start = e.ends[i]
	}
	for i := 0; i+2 < len(e.rules); i += 3 {
		if end := e.rules[i+2]; end >= 0 {
			// The rule is what follows the value: " > scaleUp.threshold 250", ", exactly the
			// target value", ": asks for nothing".
			e.reasons[e.rules[i]].Rule = strings.TrimLeft(all[e.rules[i+1]:end], ",: ")
		}
	}
	return e.reasons
}

func (e *explainer) str(s string) *explainer {
	e.buf = append(e.buf, s...)
	return e
}

func (e *explainer) int(i int) *explainer {
	e.buf = strconv.AppendInt(e.buf, int64(i), 10)
	return e
}

// num writes a metric value or threshold compactly: "312.4", "0.3", "250", never
// "312.40000001"; exponents only for very large or very small magnitudes.
func (e *explainer) num(f float64) *explainer {
	e.buf = appendNum(e.buf, f)
	return e
}

// secs writes a duration in seconds ("41s", "0.5s"), the unit every limit it is compared with
// is written in.
func (e *explainer) secs(d time.Duration) *explainer {
	e.buf = strconv.AppendFloat(e.buf, d.Seconds(), 'f', -1, 64)
	e.buf = append(e.buf, 's')
	return e
}

// short writes the abbreviated form of a commit hash.
func (e *explainer) short(commit string) *explainer {
	return e.str(gitname.Short(commit))
}

// hold writes the usual ending of a line that keeps the count: " → hold at 6".
func (e *explainer) hold(at int) *explainer {
	return e.str(" → hold at ").int(at)
}

// to writes the usual ending of a line that sets the count: " → 6". On a metric's line it
// closes the rule and records the count as the reason's To.
func (e *explainer) to(n int) *explainer {
	if k := len(e.rules); k > 0 && e.rules[k-3] == len(e.reasons)-1 && e.rules[k-1] < 0 {
		e.rules[k-1] = len(e.buf)
		e.reasons[len(e.reasons)-1].To = n
	}
	return e.str(" → ").int(n)
}

// appendNum rounds f to 9 significant digits, which drops floating-point noise (a rate of
// 312.40000000000003) but keeps every digit a person writes in a threshold, and then writes the
// shortest form of that.
func appendNum(buf []byte, f float64) []byte {
	a := math.Abs(f)
	switch {
	case a < 1e15 && f == math.Trunc(f):
		return strconv.AppendInt(buf, int64(f), 10)
	case a >= 1e-4 && a < 1e9:
		// 'g' with 9 digits writes this range without an exponent and drops trailing zeros.
		return strconv.AppendFloat(buf, f, 'g', 9, 64)
	case math.IsNaN(f) || math.IsInf(f, 0):
		return strconv.AppendFloat(buf, f, 'g', -1, 64)
	}
	const digits = 9
	k := digits - 1 - int(math.Floor(math.Log10(a)))
	switch {
	case k > 0 && k <= 22:
		p := math.Pow10(k) // exact for k ≤ 22: the quotient is the double nearest the decimal
		f = math.Round(f*p) / p
	case k < 0 && k >= -22:
		p := math.Pow10(-k)
		f = math.Round(f/p) * p
	}
	if a >= 1e-4 && a < 1e15 {
		return strconv.AppendFloat(buf, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, 64)
}
