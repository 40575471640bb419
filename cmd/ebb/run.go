package main

import (
	"fmt"
	"io"
)

// TODO: replaced by the run subcommand.
func runService(_ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "ebb run: not implemented yet")
	return 2
}
