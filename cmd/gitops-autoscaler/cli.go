package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// help is a command's --help text, in the one style every command follows: the usage line,
// what the command does, its flags (written from the flag set, so they cannot drift from what
// is parsed), an example, and the exit status.
type help struct {
	// usage follows "Usage: ", e.g. "gitops-autoscaler validate PATH...".
	usage string
	// about says what the command does, in paragraphs.
	about string
	// example is one or more command lines, with output where it teaches.
	example string
	// exit says what each exit status means.
	exit string
}

// helpWidth is the width help text is wrapped to.
const helpWidth = 100

func (h help) write(w io.Writer, fs *flag.FlagSet) {
	const lead = "Usage: "
	fmt.Fprintf(w, "%s%s\n\n%s\n", lead, strings.Join(wrap(h.usage, helpWidth-len(lead)), "\n"+strings.Repeat(" ", len(lead))),
		strings.TrimRight(h.about, "\n"))
	if fs != nil {
		var flags strings.Builder
		writeFlags(&flags, fs)
		if flags.Len() > 0 {
			fmt.Fprintf(w, "\nFlags:\n%s", flags.String())
		}
	}
	fmt.Fprintf(w, "\nExample:\n%s\n", indentLines(strings.TrimRight(h.example, "\n"), "  "))
	fmt.Fprintf(w, "\n%s\n", strings.Join(wrap("Exit status: "+h.exit, helpWidth), "\n"))
}

// writeFlags lists a flag set's flags, one entry each: the flag with its placeholder (the
// `quoted` word of its usage), then its usage, wrapped, with the default when it has one.
func writeFlags(w io.Writer, fs *flag.FlagSet) {
	type entry struct{ name, text string }
	var entries []entry
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		placeholder, usage := flag.UnquoteUsage(f)
		name := "--" + f.Name
		if len(f.Name) == 1 {
			name = "-" + f.Name
		}
		if placeholder != "" {
			name += " " + placeholder
		}
		// A required flag's zero value is a sentinel, not a default ("--to required (default -1)").
		if d := f.DefValue; d != "" && d != "0" && d != "false" && !strings.Contains(usage, "(default") && !strings.Contains(usage, "required") {
			usage += " (default " + shortDuration(d) + ")"
		}
		entries = append(entries, entry{name, usage})
		width = max(width, len(name))
	})
	for _, e := range entries {
		lines := wrap(e.text, helpWidth-width-4)
		fmt.Fprintf(w, "  %-*s  %s\n", width, e.name, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "  %-*s  %s\n", width, "", l)
		}
	}
}

// shortDuration writes a default duration as a person would: "1h" for Go's "1h0m0s", "10m" for
// "10m0s"; anything else is returned as it is.
func shortDuration(d string) string {
	if _, err := time.ParseDuration(d); err != nil {
		return d
	}
	if s, ok := strings.CutSuffix(d, "m0s"); ok {
		d = s + "m"
	}
	if s, ok := strings.CutSuffix(d, "h0m"); ok {
		d = s + "h"
	}
	return d
}

// wrap breaks text into lines of at most width characters, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case len([]rune(line))+1+len([]rune(word)) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	return append(lines, line)
}

// indentLines puts prefix before every non-empty line of s.
func indentLines(s, prefix string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

// newFlagSet is a command's flag set. It prints nothing itself: parse writes the help and
// the usage errors.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses a command's arguments, then runs check on the parsed options. --help (or -h)
// prints the help to stdout; a flag error or a failed check prints the problem and the usage
// line to stderr. done reports that the command must return code without running.
func parse(fs *flag.FlagSet, args []string, h help, check func() error, stdout, stderr io.Writer) (code int, done bool) {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		h.write(stdout, fs)
		return exitOK, true
	}
	if err == nil && check != nil {
		err = check()
	}
	if err != nil {
		fmt.Fprintf(stderr, "gitops-autoscaler %s: %v\nUsage: %s\nRun 'gitops-autoscaler %s --help' for the flags and an example.\n",
			fs.Name(), err, h.usage, fs.Name())
		return exitUsage, true
	}
	return exitOK, false
}

// noArguments is the check of a command that takes flags only.
func noArguments(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
