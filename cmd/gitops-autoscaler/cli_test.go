package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEveryCommandsHelpHasOneStyle pins the help of every command to one shape: on stdout with
// exit 0, the usage line first, then what it does, its flags, an example and the exit status,
// in that order, wrapped to the help width outside the example.
func TestEveryCommandsHelpHasOneStyle(t *testing.T) {
	for name := range commands() {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{name, "--help"}, &stdout, &stderr)
			require.Equal(t, exitOK, code)
			assert.Empty(t, stderr.String())
			out := stdout.String()
			require.True(t, strings.HasPrefix(out, "Usage: gitops-autoscaler "+name), out)
			sections := []string{"\n\nExample:\n", "\n\nExit status: "}
			if name != "version" { // the one without flags
				sections = append([]string{"\n\nFlags:\n  -"}, sections...)
			}
			last := 0
			for _, s := range sections {
				i := strings.Index(out, s)
				require.Greater(t, i, last, "%q comes after the sections before it", s)
				last = i
			}
			inExample := false
			for _, line := range strings.Split(out, "\n") {
				switch {
				case line == "Example:":
					inExample = true
				case strings.HasPrefix(line, "Exit status:"):
					inExample = false
				}
				if !inExample {
					assert.LessOrEqual(t, len([]rune(line)), helpWidth, "wrapped: %q", line)
				}
			}

			var again bytes.Buffer
			assert.Equal(t, exitOK, run(context.Background(), []string{"help", name}, &again, &stderr))
			assert.Equal(t, out, again.String(), "help NAME is NAME --help")
		})
	}
}

// TestUsageErrorsHaveOneStyle pins what every command prints for a flag it does not know: the
// problem and the usage line on stderr, nothing on stdout, exit 2.
func TestUsageErrorsHaveOneStyle(t *testing.T) {
	for name := range commands() {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{name, "--no-such-flag"}, &stdout, &stderr)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, stdout.String())
			assert.Equal(t, []string{
				"gitops-autoscaler " + name + ": flag provided but not defined: -no-such-flag",
				"Usage: gitops-autoscaler " + name,
				"Run 'gitops-autoscaler " + name + " --help' for the flags and an example.",
			}, firstWords(strings.Split(strings.TrimSpace(stderr.String()), "\n"), name))
		})
	}
}

// firstWords keeps of the usage line only its command, so the check does not repeat each
// command's synopsis.
func firstWords(lines []string, name string) []string {
	for i, l := range lines {
		if strings.HasPrefix(l, "Usage: gitops-autoscaler "+name) {
			lines[i] = "Usage: gitops-autoscaler " + name
		}
	}
	return lines
}

func TestTopLevelUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, exitUsage, run(context.Background(), nil, &stdout, &stderr), "no command is a usage error")
	assert.Empty(t, stdout.String())
	assert.Contains(t, stderr.String(), "Usage: gitops-autoscaler <command> [flags]")

	stderr.Reset()
	assert.Equal(t, exitOK, run(context.Background(), []string{"help"}, &stdout, &stderr))
	assert.Empty(t, stderr.String())
	for name, c := range commands() {
		assert.Contains(t, stdout.String(), "  "+name+" ", "listed")
		assert.Contains(t, stdout.String(), c.summary)
	}
	assert.Contains(t, stdout.String(), "Example:")
	assert.Contains(t, stdout.String(), "Exit status: 0 done, 1 runtime failure, 2 usage error")

	stdout.Reset()
	assert.Equal(t, exitUsage, run(context.Background(), []string{"frobnicate"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), `unknown command "frobnicate"`)
}

func TestWrap(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		width int
		want  []string
	}{
		{name: "fits", text: "a b c", width: 10, want: []string{"a b c"}},
		{name: "breaks at spaces", text: "one two three four", width: 9, want: []string{"one two", "three", "four"}},
		{name: "a long word stays whole", text: "a timestamp,metric,value b", width: 5, want: []string{"a", "timestamp,metric,value", "b"}},
		{name: "newlines are spaces", text: "a\nb", width: 10, want: []string{"a b"}},
		{name: "runes, not bytes", text: "3 → 6 → 9", width: 5, want: []string{"3 → 6", "→ 9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, wrap(tt.text, tt.width))
		})
	}
}
