package main

import (
	"fmt"
	"io"
)

// TODO: replaced by the validate subcommand.
func runValidate(_ []string, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "ebb validate: not implemented yet")
	return 2
}
