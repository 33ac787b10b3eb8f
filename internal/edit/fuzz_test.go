package edit

import (
	"bytes"
	"errors"
	"strconv"
	"testing"

	"github.com/gitops-autoscaler/gitops-autoscaler/policy"
)

// FuzzSetReplicas: for any YAML, path and count, SetReplicas either returns an error of the
// input (never one of its own consistency checks, never a panic), or an output that differs
// from the input in one run of digits — the old value in the input, n in the output — and that
// reads back as n and is a fixed point of the same edit.
func FuzzSetReplicas(f *testing.F) {
	for _, gc := range loadGoldenCases(f) {
		kind, name := "", ""
		if gc.c.Document != nil {
			kind, name = gc.c.Document.Kind, gc.c.Document.Name
		}
		f.Add(gc.input, gc.c.Path, kind, name, gc.c.N)
	}
	f.Fuzz(func(t *testing.T, data []byte, path, kind, name string, n int) {
		loc := policy.ReplicasLocation{Path: path}
		if kind != "" || name != "" {
			loc.Document = &policy.DocumentSelector{Kind: kind, Name: name}
		}
		before, readErr := ReadReplicas(data, loc)
		out, changed, err := SetReplicas(data, loc, n)
		if err != nil {
			if errors.Is(err, errInconsistent) {
				t.Fatalf("editor inconsistency on %q at %q: %v", data, path, err)
			}
			return
		}
		if readErr != nil {
			t.Fatalf("SetReplicas succeeded where ReadReplicas failed: %v", readErr)
		}
		if !changed {
			if !bytes.Equal(out, data) || before != n {
				t.Fatalf("unchanged result differs: before %d, n %d", before, n)
			}
			return
		}
		prefix, suffix := commonAffixes(data, out)
		oldRun := digitRun(data, prefix, len(data)-suffix)
		newRun := digitRun(out, prefix, len(out)-suffix)
		if oldRun != strconv.Itoa(before) || newRun != strconv.Itoa(n) {
			t.Fatalf("changed region is not the scalar: old %q (value %d), new %q (n %d)", oldRun, before, newRun, n)
		}
		got, err := ReadReplicas(out, loc)
		if err != nil || got != n {
			t.Fatalf("edited file reads %d, %v; want %d", got, err, n)
		}
		again, changedAgain, err := SetReplicas(out, loc, n)
		if err != nil || changedAgain || !bytes.Equal(again, out) {
			t.Fatalf("second edit is not a no-op: changed %v, err %v", changedAgain, err)
		}
	})
}

// digitRun returns data[from:to] widened to the run of ASCII digits around it, or "" when the
// span itself holds a non-digit.
func digitRun(data []byte, from, to int) string {
	for i := from; i < to; i++ {
		if !isDigit(data[i]) {
			return ""
		}
	}
	for from > 0 && isDigit(data[from-1]) {
		from--
	}
	for to < len(data) && isDigit(data[to]) {
		to++
	}
	return string(data[from:to])
}
