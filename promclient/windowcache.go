package promclient

import (
	"context"
	"sync"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
	"github.com/gitops-autoscaler/gitops-autoscaler/policy/engine"
)

// windowCache keeps the values a long window already read — per server, query and step — so
// that the next evaluation of a shadow policy range-queries only what is new: the instants
// after the last one held, and the last StalenessDelta of those again, since samples may still
// arrive for them. It holds nothing Prometheus does not: a restarted process reads the whole
// window once and then holds the same values (unless history older than StalenessDelta was
// rewritten in Prometheus, by a backfill, say). Entries a window has not refreshed are dropped.
// It is safe for concurrent use.
type windowCache struct {
	mu      sync.Mutex
	entries map[windowKey]*windowEntry
}

// windowKey is what makes two reads the same: the server, the query and the rules that turn its
// answers into values (SeriesValues), the step, and how far before now the window lies (0 for a
// shadow's last day, a day or a week for a Steady policy's memory), so that windows of one query
// at different offsets are held apart.
type windowKey struct {
	client                       *Client
	name, query, onEmpty, reduce string
	step, offset                 time.Duration
}

// windowEntry holds the values at start + i·step, up to end.
type windowEntry struct {
	start, end time.Time
	values     []engine.MetricValue
}

func newWindowCache() *windowCache { return &windowCache{entries: map[windowKey]*windowEntry{}} }

// values are the metric's values at start + i·step for every i up to end (instants aligned to
// step, as ShadowSteps are), as RangeValues reads them, from what the cache holds and a range
// query of the rest. A failed query is an error and changes nothing held.
func (w *windowCache) values(ctx context.Context, c *Client, m policy.Metric, start, end time.Time, step time.Duration) ([]engine.MetricValue, error) {
	return w.valuesAt(ctx, c, m, 0, start, end, step)
}

// valuesAt is values for a window that lies offset before now (the instants are still the
// window's own).
func (w *windowCache) valuesAt(ctx context.Context, c *Client, m policy.Metric, offset time.Duration, start, end time.Time, step time.Duration) ([]engine.MetricValue, error) {
	n := int(end.Sub(start)/step) + 1
	key := windowKey{client: c, name: m.Name, query: m.PromQL, onEmpty: m.OnEmpty, reduce: m.Reduce, step: step, offset: offset}
	w.mu.Lock()
	held := w.entries[key]
	w.mu.Unlock()

	// Keep the held instants in [start, end − StalenessDelta]; read the rest.
	keep := 0
	if held != nil && !held.start.After(start) && !held.end.Before(start) {
		last := held.end.Add(-StalenessDelta)
		if last.After(end) {
			last = end
		}
		if !last.Before(start) {
			keep = int(last.Sub(start)/step) + 1
		}
	}
	out := make([]engine.MetricValue, 0, n)
	if keep > 0 {
		off := int(start.Sub(held.start) / step)
		out = append(out, held.values[off:off+keep]...)
	}
	if keep < n {
		one := policy.Policy{Spec: policy.Spec{Metrics: []policy.Metric{m}}}
		fetched, err := RangeValues(ctx, c, &one, start.Add(time.Duration(keep)*step), end, step)
		if err != nil {
			return nil, err
		}
		for _, v := range fetched {
			out = append(out, v[0])
		}
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	w.entries[key] = &windowEntry{start: start, end: end, values: out}
	for k, e := range w.entries {
		// Not read for a whole window (the policy changed its query, or went): forget it —
		// each window measured against now, whatever its offset.
		if e.end.Add(k.offset).Before(start.Add(offset)) {
			delete(w.entries, k)
		}
	}
	return out, nil
}
