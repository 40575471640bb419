package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

// runValidate is `ebb validate -f policy.yaml [more.yaml ...]`: it parses and
// validates each policy file and prints "FILE: ok (N targets)", or every
// problem, one per line as "FILE: problem", and exits 2.
func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ebb validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "policy file to validate (more files may follow as arguments)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ebb validate -f policy.yaml [more.yaml ...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	files := fs.Args()
	if *file != "" {
		files = append([]string{*file}, files...)
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "ebb validate: -f policy.yaml is required")
		fs.Usage()
		return 2
	}
	status := 0
	for _, f := range files {
		if !validateFile(f, stdout, stderr) {
			status = 2
		}
	}
	return status
}

// newlines folds a multi-line problem (a YAML error) onto one line.
var newlines = regexp.MustCompile(`\s*\n\s*`)

// validateFile reports on one file and says whether it is valid.
func validateFile(path string, stdout, stderr io.Writer) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", path, err)
		return false
	}
	c, err := policy.Load(data)
	if err != nil {
		problems := policy.Problems(err)
		for _, p := range problems {
			fmt.Fprintf(stderr, "%s: %s\n", path, newlines.ReplaceAllString(p.Error(), " "))
		}
		fmt.Fprintf(stderr, "%s: invalid (%d %s)\n", path, len(problems), plural(len(problems), "problem"))
		return false
	}
	fmt.Fprintf(stdout, "%s: ok (%d %s)\n", path, len(c.Targets), plural(len(c.Targets), "target"))
	return true
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
