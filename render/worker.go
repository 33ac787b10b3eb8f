package render

import "os"

// init turns any process started with workerEnv into a render worker (sandbox.go): it serves
// renders on stdin and stdout and exits when stdin ends, before the program's own main or
// tests run. This is how the service's binary, and the test binary of any package that
// renders, can be their own workers.
func init() {
	if lim, ok := os.LookupEnv(workerEnv); ok && workersSupported {
		os.Exit(serveWorker(lim, os.Stdin, os.Stdout))
	}
}
