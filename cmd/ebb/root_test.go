package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// runEbb runs the ebb command line args as the binary "ebb" would.
func runEbb(args []string, stdout, stderr io.Writer) int {
	return execute("ebb", args, genericiooptions.IOStreams{In: strings.NewReader(""), Out: stdout, ErrOut: stderr})
}

// goldenFile compares got with testdata/name, or rewrites it with -update.
func goldenFile(t *testing.T, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (go test ./cmd/ebb -run %s -update writes it): %v", t.Name(), err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// TestHelpGolden pins every command's help: its flags, their defaults and
// the kubectl connection flags of the commands that talk to a cluster.
func TestHelpGolden(t *testing.T) {
	for _, cmd := range [][]string{{}, {"run"}, {"report"}, {"import"}, {"status"}, {"simulate"}, {"backtest"}, {"validate"}, {"version"}, {"completion"}} {
		name := strings.Join(append([]string{"ebb"}, cmd...), "-")
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runEbb(append(cmd, "--help"), &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d, want 0; stderr %q", code, stderr.String())
			}
			goldenFile(t, filepath.Join("help", name+".txt"), stdout.String())
		})
	}
}

// TestExitCodes: 0 ok, 1 runtime failure, 2 bad usage or input — cobra's
// own usage errors included.
func TestExitCodes(t *testing.T) {
	example := filepath.Join("..", "..", "autoscaler", "policy", "testdata", "example.yaml")
	for _, tc := range []struct {
		name       string
		args       []string
		want       int
		wantStderr string
	}{
		{name: "no command", args: nil, want: exitUsage, wantStderr: "Available Commands:"},
		{name: "unknown command", args: []string{"nope"}, want: exitUsage, wantStderr: "ebb: unknown command \"nope\" for \"ebb\"\nRun 'ebb --help' for usage.\n"},
		{name: "unknown flag", args: []string{"report", "--nope"}, want: exitUsage, wantStderr: "ebb report: unknown flag: --nope\nRun 'ebb report --help' for usage.\n"},
		{name: "single-dash long flag", args: []string{"report", "-policy", "p.yaml"}, want: exitUsage, wantStderr: "ebb report: unknown shorthand flag: 'p' in -policy\n"},
		{name: "flag without value", args: []string{"report", "-o"}, want: exitUsage, wantStderr: "flag needs an argument"},
		{name: "bad duration", args: []string{"run", "--policy", "p.yaml", "--policy-interval", "soon"}, want: exitUsage, wantStderr: `invalid argument "soon"`},
		{name: "stray argument", args: []string{"version", "extra"}, want: exitUsage, wantStderr: `ebb version: unexpected arguments ["extra"]`},
		{name: "bad qps", args: []string{"report", "--policy", "p.yaml", "--kube-api-qps", "0"}, want: exitUsage, wantStderr: "--kube-api-qps 0"},
		{name: "missing policy file", args: []string{"report", "--policy", "/nonexistent/p.yaml"}, want: exitUsage, wantStderr: "ebb report: read policy: open /nonexistent/p.yaml"},
		{name: "version", args: []string{"version"}, want: exitOK},
		{name: "help command", args: []string{"help", "report"}, want: exitOK},
		{name: "validate ok", args: []string{"validate", "-f", example}, want: exitOK},
		{name: "validate long flag", args: []string{"validate", "--filename", example}, want: exitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runEbb(tc.args, &stdout, &stderr); code != tc.want {
				t.Errorf("exit %d, want %d; stderr %q", code, tc.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tc.wantStderr)
			}
			if tc.want == exitOK && stderr.Len() > 0 {
				t.Errorf("stderr = %q, want nothing on success", stderr.String())
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runEbb([]string{"version"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if got, want := stdout.String(), "ebb "+version+"\n"; got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
}

func TestCompletion(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash": "__start_ebb",
		"zsh":  "#compdef ebb",
		"fish": "complete -c ebb",
	} {
		t.Run(shell, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runEbb([]string{"completion", shell}, &stdout, &stderr); code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if !strings.Contains(stdout.String(), marker) {
				t.Errorf("completion %s does not contain %q", shell, marker)
			}
		})
	}
	t.Run("commands and flags complete", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{args: []string{"__complete", "rep"}, want: "report\t"},
			{args: []string{"__complete", "report", "--con"}, want: "--context\t"},
			{args: []string{"__complete", "report", "--pol"}, want: "--policy\t"},
		} {
			var stdout, stderr bytes.Buffer
			if code := runEbb(tc.args, &stdout, &stderr); code != exitOK {
				t.Fatalf("%q: exit %d: %s", tc.args, code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.want) {
				t.Errorf("%q: stdout = %q, want it to contain %q", tc.args, stdout.String(), tc.want)
			}
		}
	})
}

// TestKubectlPlugin: installed as kubectl-ebb, the help and errors name
// `kubectl ebb …`; as kubectl_complete-ebb it answers kubectl's completion
// requests for the plugin.
func TestKubectlPlugin(t *testing.T) {
	streams := func(out, errOut *bytes.Buffer) genericiooptions.IOStreams {
		return genericiooptions.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut}
	}
	var stdout, stderr bytes.Buffer
	if code := execute("/usr/local/bin/kubectl-ebb", []string{"report", "--help"}, streams(&stdout, &stderr)); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "\n  kubectl ebb report [-n NAMESPACE]") {
		t.Errorf("plugin help does not show `kubectl ebb report`:\n%s", stdout.String())
	}
	stdout.Reset()
	if code := execute("kubectl-ebb", []string{"--help"}, streams(&stdout, &stderr)); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), `Use "kubectl ebb [command] --help"`) {
		t.Errorf("plugin root help does not name `kubectl ebb`:\n%s", stdout.String())
	}
	stdout.Reset()
	if code := execute("kubectl-ebb", []string{"report", "--nope"}, streams(&stdout, &stderr)); code != exitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	if want := "kubectl ebb report: unknown flag: --nope\nRun 'kubectl ebb report --help' for usage.\n"; stderr.String() != want {
		t.Errorf("stderr = %q, want %q", stderr.String(), want)
	}
	stderr.Reset()
	if code := execute("/x/kubectl_complete-ebb", []string{"rep"}, streams(&stdout, &stderr)); code != exitOK {
		t.Fatalf("completion plugin exit %d: %s", code, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "report\t") {
		t.Errorf("kubectl_complete-ebb rep = %q, want report first", stdout.String())
	}
}

func TestPluginName(t *testing.T) {
	for argv0, want := range map[string]string{
		"ebb":                      "",
		"/usr/bin/ebb":             "",
		"kubectl-ebb":              "kubectl ebb",
		"/home/me/bin/kubectl-ebb": "kubectl ebb",
		"kubectl-ebb-dev":          "kubectl ebb dev",
	} {
		if got := pluginName(argv0); got != want {
			t.Errorf("pluginName(%q) = %q, want %q", argv0, got, want)
		}
	}
}
