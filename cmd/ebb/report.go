package main

import (
	"fmt"
	"io"
)

// TODO: replaced by the report subcommand.
func runReport(_ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "ebb report: not implemented yet")
	return 2
}
