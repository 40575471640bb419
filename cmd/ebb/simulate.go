package main

import (
	"fmt"
	"io"
)

// TODO: replaced by the simulate subcommand.
func runSimulate(_ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "ebb simulate: not implemented yet")
	return 2
}
