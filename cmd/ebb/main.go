// Command ebb is a horizontal and vertical autoscaler for Kubernetes.
//
// Commands: run (the service), report (one dry-run pass), simulate (offline
// replay), validate (check a policy file), version, completion. They are
// cobra commands, one file each with its options, and those that talk to a
// cluster take cli-runtime's kubectl connection flags (cluster.go). This
// package is the only place that parses flags, reads the environment,
// creates the Prometheus registry and calls os.Exit. Installed as
// kubectl-ebb the binary is a kubectl plugin (`kubectl ebb report`).
package main

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(execute(os.Args[0], os.Args[1:], genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}))
}
