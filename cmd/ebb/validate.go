package main

import (
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

// validateOptions are the flags of `ebb validate`.
type validateOptions struct {
	files []string
}

// Validate checks the options.
func (o *validateOptions) Validate() error {
	if len(o.files) == 0 {
		return usageError("-f policy.yaml is required")
	}
	return nil
}

// Run reports on each file and fails (exit 2, the problems already printed)
// when any is invalid.
func (o *validateOptions) Run(streams genericiooptions.IOStreams) error {
	ok := true
	for _, f := range o.files {
		if !validateFile(f, streams.Out, streams.ErrOut) {
			ok = false
		}
	}
	if !ok {
		return &exitError{code: exitUsage}
	}
	return nil
}

// newValidateCmd is `ebb validate -f policy.yaml [more.yaml ...]`: it parses
// and validates each policy file and prints "FILE: ok (N targets)" followed
// by where each metric of each target is read, or every problem, one per
// line as "FILE: problem", and exits 2.
func newValidateCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := &validateOptions{}
	var file string
	cmd := &cobra.Command{
		Use:   "validate -f policy.yaml [more.yaml ...]",
		Short: "Check policy files and print every problem",
		Long: `Check policy files and print every problem, one per line as "FILE: problem".
A valid file prints "FILE: ok (N targets)", then one line per metric of each target
saying where it is read: metrics-server, the metrics APIs (custom.metrics.k8s.io,
external.metrics.k8s.io: a metric without a queries entry) or Prometheus.
Exit 2 when any file is invalid.`,
		Example: "  ebb validate -f policy.yaml\n  ebb validate -f a.yaml b.yaml",
		RunE: func(_ *cobra.Command, args []string) error {
			o.files = args
			if file != "" {
				o.files = append([]string{file}, args...)
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(streams)
		},
	}
	cmd.Flags().StringVarP(&file, "filename", "f", "", "policy file to validate (more files may follow as arguments)")
	return cmd
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
	for _, t := range c.Targets {
		for i, src := range t.Sources {
			fmt.Fprintf(stdout, "  %s %s: %s\n", t.Key(), t.Spec.Metrics[i], src)
		}
	}
	return true
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
