package usage

import (
	"bytes"
	"errors"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
)

const help = "Usage: demo [-n N]\n\nDo the demo.\n"

func TestParse(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		check      error
		wantN      int
		wantCode   int
		wantDone   bool
		wantStdout string
		wantStderr string
	}{
		{name: "runs", args: []string{"-n", "3"}, wantN: 3},
		{name: "help", args: []string{"--help"}, wantDone: true, wantStdout: help},
		{name: "unknown flag", args: []string{"-x"}, wantCode: 2, wantDone: true,
			wantStderr: "demo: flag provided but not defined: -x\nUsage: demo [-n N]\nRun 'demo --help' for the flags and an example.\n"},
		{name: "stray argument", args: []string{"go"}, wantCode: 2, wantDone: true,
			wantStderr: "demo: unexpected argument \"go\"\nUsage: demo [-n N]\nRun 'demo --help' for the flags and an example.\n"},
		{name: "check fails", args: []string{"-n", "-1"}, check: errors.New("-n -1: want 0 or more"), wantN: -1, wantCode: 2, wantDone: true,
			wantStderr: "demo: -n -1: want 0 or more\nUsage: demo [-n N]\nRun 'demo --help' for the flags and an example.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("demo", flag.ContinueOnError)
			n := fs.Int("n", 0, "")
			var stdout, stderr bytes.Buffer
			code, done := Parse(fs, tt.args, help, func() error { return tt.check }, &stdout, &stderr)
			assert.Equal(t, tt.wantCode, code)
			assert.Equal(t, tt.wantDone, done)
			assert.Equal(t, tt.wantN, *n)
			assert.Equal(t, tt.wantStdout, stdout.String())
			assert.Equal(t, tt.wantStderr, stderr.String())
		})
	}
}
