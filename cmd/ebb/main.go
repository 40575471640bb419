// Command ebb is a horizontal and vertical autoscaler for Kubernetes.
//
// Subcommands: run (the service), report (one dry-run pass), simulate
// (offline replay), validate (check a policy file), version. This package is
// the only place that parses flags, reads the environment, creates the
// Prometheus registry and calls os.Exit.
package main

import (
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// command is one subcommand: it parses its own flags from args and returns
// the process exit status (0 ok, 1 runtime failure, 2 bad usage or input).
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"run":      {"run the autoscaler service in one namespace", runService},
		"report":   {"one dry-run pass against a live cluster, printed as table/json/csv/markdown", runReport},
		"simulate": {"replay recorded observations or a load trace offline", runSimulate},
		"validate": {"check a policy file and print every problem", runValidate},
		"version":  {"print the version", runVersion},
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ebb: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: ebb <command> [flags]\n\ncommands:")
	for _, name := range []string{"run", "report", "simulate", "validate", "version"} {
		fmt.Fprintf(w, "  %-9s %s\n", name, commands()[name].summary)
	}
}

func runVersion(_ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "ebb %s\n", version)
	return 0
}
