package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/gitops-autoscaler/gitops-autoscaler/examples/laravel/internal/usage"
)

// Start, Step and Samples place the trace in time.
var (
	Start   = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	Step    = 30 * time.Second
	Samples = 241 // 08:00:00 through 10:00:00 inclusive
)

// signal is one metric of the trace: its name (a policy's metric name), its value at an
// instant given as minutes since Start, and the decimals it is written with.
type signal struct {
	name     string
	value    func(min float64) float64
	decimals int
}

// signals are written in this order at every instant.
var signals = []signal{
	{"http_rps", rps, 1},
	{"http_latency_avg", latencyAvg, 3},
	{"http_latency_p95", latencyP95, 3},
	{"http_error_rate", errorRate, 4},
	{"mysql_threads_running", mysqlThreads, 0},
	{"queue_backlog", backlog, 0},
	{"queue_oldest_job_age", oldestJobAge, 0},
	{"redis_memory", redisMemory, 0},
}

// ramp goes linearly from a (at t0) to b (at t1), holding its ends outside.
func ramp(t, t0, t1, a, b float64) float64 {
	switch {
	case t <= t0:
		return a
	case t >= t1:
		return b
	}
	return a + (b-a)*(t-t0)/(t1-t0)
}

// load is the spike's shape: 0 at baseline, 1 at the plateau (08:30–08:45).
func load(m float64) float64 {
	if m < 45 {
		return ramp(m, 15, 30, 0, 1)
	}
	return ramp(m, 45, 60, 1, 0)
}

// wiggle is a small deterministic ripple, so the series do not look drawn with a ruler.
func wiggle(m, amplitude, periodMin float64) float64 {
	return amplitude * math.Sin(2*math.Pi*m/periodMin)
}

func rps(m float64) float64 { return 100 + 500*load(m) + wiggle(m, 8, 10) }

// latencyAvg rises with the load and, as capacity arrives, settles back within the web
// policy's tolerance of its 0.25 s target while the plateau lasts.
func latencyAvg(m float64) float64 {
	settle := ramp(m, 30, 40, 1, 0.6) // the added pods absorb part of the spike
	return 0.12 + 0.2*load(m)*settle + wiggle(m, 0.005, 7)
}

func latencyP95(m float64) float64 { return 2.2*latencyAvg(m) + 0.02 }

func errorRate(m float64) float64 { return 0.002 + 0.02*load(m)*ramp(m, 30, 40, 1, 0.3) }

func mysqlThreads(m float64) float64 { return 4 + 44*load(m) + wiggle(m, 1.5, 5) }

// backlog is the email queue: 0 until the 09:10 batch, 3000 by 09:15, drained by 09:45.
func backlog(m float64) float64 {
	if m < 75 {
		return ramp(m, 70, 75, 0, 3000)
	}
	return ramp(m, 75, 105, 3000, 0)
}

// oldestJobAge grows with the batch's first jobs waiting, then falls as workers reach the newer
// ones; 0 whenever the queue is empty.
func oldestJobAge(m float64) float64 {
	if backlog(m) == 0 {
		return 0
	}
	if m < 85 {
		return (m - 70) * 60 * 0.5
	}
	return ramp(m, 85, 105, 450, 0)
}

// redisMemory is a 64 MiB base plus about 2 KiB per queued job.
func redisMemory(m float64) float64 { return 64<<20 + backlog(m)*2048 }

// write writes the whole trace to w.
func write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "timestamp,metric,value")
	for i := range Samples {
		at := Start.Add(time.Duration(i) * Step)
		m := at.Sub(Start).Minutes()
		ts := at.Format(time.RFC3339)
		for _, s := range signals {
			v := max(s.value(m), 0)
			fmt.Fprintf(bw, "%s,%s,%s\n", ts, s.name, strconv.FormatFloat(v, 'f', s.decimals, 64))
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write trace: %w", err)
	}
	return nil
}

// help is tracegen's --help, in the style of the gitops-autoscaler commands.
const help = `Usage: tracegen [-o FILE]

Write the Laravel example's metrics trace: two hours of its signals every 30 s from
2026-11-22T08:00:00Z, in the timestamp,metric,value format that make demo and
gitops-autoscaler backtest --trace replay. The output is a pure function of the code, so the
committed trace can be regenerated and diffed.

Flags:
  -o FILE  the file to write (default: standard output)

Example:
  go run ./examples/laravel/tracegen > examples/laravel/trace.csv
  go run ./examples/laravel/tracegen -o /tmp/trace.csv && head -3 /tmp/trace.csv

Exit status: 0 written, 1 the file could not be written, 2 usage error.
`

// options are tracegen's flags.
type options struct {
	out string
}

// parseFlags parses the command line into options; done reports that the process must exit
// with code instead of running (--help, or a usage error).
func parseFlags(args []string, stdout, stderr io.Writer) (o options, code int, done bool) {
	fs := flag.NewFlagSet("tracegen", flag.ContinueOnError)
	fs.StringVar(&o.out, "o", "", "")
	code, done = usage.Parse(fs, args, help, nil, stdout, stderr)
	return o, code, done
}

func main() {
	o, code, done := parseFlags(os.Args[1:], os.Stdout, os.Stderr)
	if done {
		os.Exit(code)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "tracegen:", err)
		os.Exit(1)
	}
}

// run writes the trace to the file o names, or to standard output when it names none.
func run(o options) error {
	name := o.out
	if name == "" {
		return write(os.Stdout)
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
