package promclient

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/prometheus/common/model"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// Reductions a metric may name to combine several series into one number (docs/design.md §5).
const (
	ReduceSum = "sum"
	ReduceMax = "max"
	ReduceMin = "min"
	ReduceAvg = "avg"
)

// OnEmptyZero is the onEmpty setting that turns an empty result into 0.
const OnEmptyZero = "zero"

// CauseEmpty is the Cause of a metric whose query returned no series.
const CauseEmpty = "empty result"

// ToValue turns an instant query's answer into the metric's value under the rules of docs/design.md
// §5: a scalar or a vector of exactly one series is the number; an empty vector is missing (or 0
// with onEmpty: zero); several series are an error unless the metric names a reduce; NaN and ±Inf
// are missing; a negative number counts as 0; a matrix or a string is missing; a query error is
// missing with the error as its cause.
func ToValue(m policy.Metric, v model.Value, err error) engine.MetricValue {
	if err != nil {
		return missing(m, err.Error())
	}
	switch v := v.(type) {
	case *model.Scalar:
		if v == nil {
			return missing(m, CauseEmpty)
		}
		return number(m, []float64{float64(v.Value)})
	case model.Vector:
		vals := make([]float64, len(v))
		for i, s := range v {
			vals[i] = float64(s.Value)
		}
		return number(m, vals)
	case nil:
		return missing(m, fmt.Sprintf("query %q returned no result", m.PromQL))
	default:
		return missing(m, fmt.Sprintf("query %q returned a %s, want a scalar or a vector", m.PromQL, v.Type()))
	}
}

// SeriesValues turns a range query's answer into the metric's value at each of the given
// instants, under the same rules as ToValue applied to the samples at that instant: a step
// where no series has a sample is empty, several series need a reduce, and so on. A query
// error makes every step missing with the error as its cause.
func SeriesValues(m policy.Metric, v model.Value, err error, steps []time.Time) []engine.MetricValue {
	out := make([]engine.MetricValue, len(steps))
	fill := func(mv engine.MetricValue) []engine.MetricValue {
		for i := range out {
			out[i] = mv
		}
		return out
	}
	if err != nil {
		return fill(missing(m, err.Error()))
	}
	byTime := make(map[int64][]float64, len(steps))
	switch v := v.(type) {
	case model.Matrix:
		for _, s := range v {
			for _, p := range s.Values {
				byTime[int64(p.Timestamp)] = append(byTime[int64(p.Timestamp)], float64(p.Value))
			}
		}
	case *model.Scalar:
		// A range query never answers a scalar, but one value for all steps is the sane reading.
		if v != nil {
			return fill(number(m, []float64{float64(v.Value)}))
		}
	case model.Vector:
		return fill(missing(m, fmt.Sprintf("query %q returned a vector for a range query, want a matrix", m.PromQL)))
	case nil:
		return fill(missing(m, fmt.Sprintf("query %q returned no result", m.PromQL)))
	default:
		return fill(missing(m, fmt.Sprintf("query %q returned a %s for a range query, want a matrix", m.PromQL, v.Type())))
	}
	for i, t := range steps {
		out[i] = number(m, byTime[int64(model.TimeFromUnixNano(t.UnixNano()))])
	}
	return out
}

// number applies the rules to the sample values a query gave for one instant.
func number(m policy.Metric, vals []float64) engine.MetricValue {
	var x float64
	switch {
	case len(vals) == 0:
		if m.OnEmpty == OnEmptyZero {
			return engine.MetricValue{Name: m.Name, Value: 0}
		}
		return missing(m, CauseEmpty)
	case len(vals) == 1:
		x = vals[0]
	default:
		r, err := reduce(m.Reduce, vals)
		if err != nil {
			return missing(m, err.Error())
		}
		x = r
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return missing(m, "value is "+strconv.FormatFloat(x, 'g', -1, 64))
	}
	if x < 0 {
		x = 0
	}
	return engine.MetricValue{Name: m.Name, Value: x}
}

func reduce(how string, vals []float64) (float64, error) {
	switch how {
	case "":
		return 0, fmt.Errorf("query returned %d series, want 1 (set reduce: sum, max, min or avg to combine them)", len(vals))
	case ReduceSum, ReduceAvg:
		var sum float64
		for _, v := range vals {
			sum += v
		}
		if how == ReduceAvg {
			return sum / float64(len(vals)), nil
		}
		return sum, nil
	case ReduceMax, ReduceMin:
		x := vals[0]
		for _, v := range vals[1:] {
			if math.IsNaN(v) {
				return v, nil
			}
			if (how == ReduceMax && v > x) || (how == ReduceMin && v < x) {
				x = v
			}
		}
		return x, nil
	default:
		return 0, fmt.Errorf("query returned %d series and reduce %q is not one of sum, max, min, avg", len(vals), how)
	}
}

func missing(m policy.Metric, cause string) engine.MetricValue {
	return engine.MetricValue{Name: m.Name, Missing: true, Cause: cause}
}
