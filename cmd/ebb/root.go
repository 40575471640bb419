package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// Exit statuses of every command.
const (
	exitOK      = 0
	exitFailure = 1 // a runtime failure (the cluster, Prometheus, a write)
	exitUsage   = 2 // bad usage or bad input (flags, arguments, files)
)

// exitError carries a command's exit status. A nil err prints nothing (the
// command already said what was wrong, e.g. validate's problem lines).
type exitError struct {
	code int
	err  error
	// hint adds "Run 'CMD --help' for usage." after the message.
	hint bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError is bad usage: exit 2 with a one-line message. (cobra's own
// usage errors — an unknown command or flag — add a pointer to --help.)
func usageError(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// badInput is bad input (a file, a flag's value): exit 2.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: exitUsage, err: err}
}

// failure is a runtime failure: exit 1.
func failure(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: exitFailure, err: err}
}

// pluginName is the name kubectl shows for a binary installed as
// kubectl-ebb ("kubectl ebb"), or "" when the binary is not a plugin.
func pluginName(argv0 string) string {
	base := filepath.Base(argv0)
	if !strings.HasPrefix(base, "kubectl-") {
		return ""
	}
	return "kubectl " + strings.ReplaceAll(strings.TrimPrefix(base, "kubectl-"), "-", " ")
}

// completionPlugin says whether argv0 is kubectl's completion helper for
// the plugin (kubectl_complete-ebb): kubectl calls it with the words to
// complete, which cobra's hidden __complete command answers.
func completionPlugin(argv0 string) bool {
	return strings.HasPrefix(filepath.Base(argv0), "kubectl_complete-")
}

// execute runs the command line args of the binary argv0 and returns the
// process exit status: 0 ok, 1 runtime failure, 2 bad usage or input
// (cobra's own errors — unknown command or flag, wrong arguments — too).
func execute(argv0 string, args []string, streams genericiooptions.IOStreams) int {
	if completionPlugin(argv0) {
		args = append([]string{cobra.ShellCompRequestCmd}, args...)
		argv0 = "kubectl-" + strings.TrimPrefix(filepath.Base(argv0), "kubectl_complete-")
	}
	root := newRootCmd(streams)
	if name := pluginName(argv0); name != "" {
		root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: name}
	}
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if !errors.As(err, &ee) {
		ee = &exitError{code: exitUsage, err: err, hint: true} // cobra's own: unknown command, bad flag
	}
	if ee.err != nil {
		fmt.Fprintf(streams.ErrOut, "%s: %s\n", cmd.CommandPath(), oneLine(ee.err))
	}
	if ee.hint {
		fmt.Fprintf(streams.ErrOut, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return ee.code
}

// newRootCmd is `ebb`: the commands below it, each in its own file.
func newRootCmd(streams genericiooptions.IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "ebb",
		Short: "ebb is a horizontal and vertical autoscaler for Kubernetes, inside one namespace",
		Long: `ebb is a horizontal and vertical autoscaler for Kubernetes that runs inside one
namespace. Its horizontal decisions are the upstream HPA v2 algorithm; it adds
dry-run, a one-shot report, offline simulation and request recommendations.

Commands that talk to a cluster take kubectl's connection flags (--kubeconfig,
--context, -n/--namespace, --as, ...) and honour $KUBECONFIG, the current context
and its namespace as kubectl does; inside a pod they use its service account.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// ebb alone prints the help and fails: a command is required.
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(streams.ErrOut)
			_ = cmd.Help()
			return &exitError{code: exitUsage}
		},
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: err, hint: true}
	})
	root.CompletionOptions.HiddenDefaultCmd = false
	root.AddCommand(
		newRunCmd(streams),
		newReportCmd(streams),
		newImportCmd(streams),
		newStatusCmd(streams),
		newSimulateCmd(streams),
		newBacktestCmd(streams),
		newValidateCmd(streams),
		newVersionCmd(streams),
	)
	return root
}

// validateThenRun is the RunE of a command that talks to a cluster:
// validate the flags, then run under a context that SIGTERM and SIGINT
// cancel.
func validateThenRun(validate func(cmd *cobra.Command) error, run func(ctx context.Context) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if err := validate(cmd); err != nil {
			return err
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		return run(ctx)
	}
}

// noArgs rejects positional arguments as bad usage.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError("unexpected arguments %q", args)
	}
	return nil
}
