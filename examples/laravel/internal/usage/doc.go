// Package usage gives the example's programs the command-line conventions of
// gitops-autoscaler: --help prints the help on stdout and exits 0; a bad flag or argument
// prints the problem and the usage line on stderr and exits 2.
package usage
