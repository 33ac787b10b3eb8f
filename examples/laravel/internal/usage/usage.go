package usage

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Parse parses args with fs (whose output it silences), then runs check when there is one.
// help is the program's whole --help text; its first line is the usage line. done reports
// that the program must exit with code instead of running.
func Parse(fs *flag.FlagSet, args []string, help string, check func() error, stdout, stderr io.Writer) (code int, done bool) {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, help)
		return 0, true
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err == nil && check != nil {
		err = check()
	}
	if err != nil {
		line, _, _ := strings.Cut(help, "\n")
		fmt.Fprintf(stderr, "%s: %v\n%s\nRun '%s --help' for the flags and an example.\n", fs.Name(), err, line, fs.Name())
		return 2, true
	}
	return 0, false
}
