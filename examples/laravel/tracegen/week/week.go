package week

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Start, Step and Samples place every trace in time.
var (
	Start   = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC) // a Monday
	Step    = time.Minute
	Samples = 7 * 24 * 60
)

// Metric is the trace's one metric name; PerReplica is the AverageValue the policies target.
const (
	Metric     = "http_requests_per_minute"
	PerReplica = 2000.0
)

// Shapes lists the shapes in the order reports show them.
var Shapes = []string{"diurnal", "spikes", "ramp", "noisy"}

// Generate returns the trace of a shape for a seed: Samples values, one per Step from Start.
func Generate(shape string, seed uint64) ([]float64, error) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	var base func(i int) float64
	var ar, white, rho float64
	switch shape {
	case "diurnal":
		base, ar, white, rho = diurnal(rng), 0.07, 0.01, 0.8 // calibrated: see the package doc
	case "spikes":
		base, ar, white, rho = spikes(rng), 0.02, 0.01, 0.9
	case "ramp":
		base, ar, white, rho = ramp, 0.03, 0.01, 0.9
	case "noisy":
		base, ar, white, rho = func(int) float64 { return 20000 }, 0.08, 0.06, 0.8
	default:
		return nil, fmt.Errorf("unknown shape %q (one of %v)", shape, Shapes)
	}
	out := make([]float64, Samples)
	// AR(1) with stationary standard deviation ar: x' = ρx + √(1−ρ²)·ar·N(0,1).
	x := ar * rng.NormFloat64()
	k := math.Sqrt(1-rho*rho) * ar
	for i := range out {
		x = rho*x + k*rng.NormFloat64()
		v := base(i) * (1 + x + white*rng.NormFloat64())
		out[i] = math.Round(max(v, 0))
	}
	return out, nil
}

// hourOf is the sample's hour of its day (0–24) and its day of the week (0 = Monday).
func hourOf(i int) (hour float64, day int) {
	m := i % (24 * 60)
	return float64(m) / 60, i / (24 * 60)
}

// smooth goes from 0 at a to 1 at b along a half cosine.
func smooth(t, a, b float64) float64 {
	switch {
	case t <= a:
		return 0
	case t >= b:
		return 1
	}
	return 0.5 - 0.5*math.Cos(math.Pi*(t-a)/(b-a))
}

func diurnal(rng *rand.Rand) func(int) float64 {
	const night, peak = 8000.0, 80000.0
	var dayPeak [8]float64
	for d := range dayPeak {
		dayPeak[d] = peak * (1 + 0.08*(2*rng.Float64()-1))
		if d == 5 || d == 6 {
			dayPeak[d] *= 0.45
		}
	}
	return func(i int) float64 {
		h, d := hourOf(i)
		// The late evening carries on from the day before's decline until 03:00.
		shape := smooth(h, 6, 10) * (1 - smooth(h, 17, 24))
		lunch := 1 - 0.08*smooth(h, 12, 13)*(1-smooth(h, 13, 14))
		if h < 3 {
			shape = 0
		}
		return night + (dayPeak[d]*lunch-night)*shape
	}
}

func spikes(rng *rand.Rand) func(int) float64 {
	const base = 10000.0
	type spike struct{ at, hold, height float64 } // minutes, minutes, × base
	var all []spike
	for k := range 7 * 4 {
		all = append(all, spike{
			at:     float64(k*360+180) + 60*(2*rng.Float64()-1),
			hold:   10 + 20*rng.Float64(),
			height: 4 + 4*rng.Float64(),
		})
	}
	return func(i int) float64 {
		m := float64(i)
		f := 1.0
		for _, s := range all {
			if m < s.at || m > s.at+2+s.hold+10 {
				continue
			}
			up := smooth(m, s.at, s.at+2)
			down := 1 - smooth(m, s.at+2+s.hold, s.at+2+s.hold+10)
			f = max(f, 1+(s.height-1)*up*down)
		}
		return base * f
	}
}

func ramp(i int) float64 {
	trend := 6000 + (60000-6000)*float64(i)/float64(Samples-1)
	h, d := hourOf(i)
	swing := 0.0
	if d < 5 {
		swing = 0.1 * math.Cos(2*math.Pi*(h-14)/24)
	}
	return trend * (1 + swing)
}
