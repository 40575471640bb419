package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
)

// kubeconfigTwo has two clusters and two contexts: "one" (current,
// namespace shop) and "two" (namespace blog), and a context "bare" with no
// namespace.
const kubeconfigTwo = `apiVersion: v1
kind: Config
current-context: one
clusters:
- name: c1
  cluster: {server: "https://one.example:6443"}
- name: c2
  cluster: {server: "https://two.example:6443"}
users:
- name: u1
  user: {token: token-one}
- name: u2
  user: {token: token-two}
contexts:
- name: one
  context: {cluster: c1, user: u1, namespace: shop}
- name: two
  context: {cluster: c2, user: u2, namespace: blog}
- name: bare
  context: {cluster: c2, user: u2}
`

// kubeconfigOther has one context "three" (current, namespace ops).
const kubeconfigOther = `apiVersion: v1
kind: Config
current-context: three
clusters:
- name: c3
  cluster: {server: "https://three.example:6443"}
users:
- name: u3
  user: {token: token-three}
contexts:
- name: three
  context: {cluster: c3, user: u3, namespace: ops}
`

// isolateKubeEnv points HOME at an empty folder and clears the in-cluster
// environment, so only the test's kubeconfig files can be found.
func isolateKubeEnv(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	t.Setenv("POD_NAMESPACE", "")
	return dir
}

func writeKubeconfig(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// resolved is what resolve picked.
type resolved struct {
	Host, Namespace, Token, As string
	QPS                        float32
}

// resolveArgs parses args with the connection flags of a command and
// resolves them.
func resolveArgs(t *testing.T, args []string) (resolved, error) {
	t.Helper()
	o := newClusterOptions()
	cmd := &cobra.Command{Use: "x"}
	o.addFlags(cmd)
	if err := cmd.Flags().Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	cfg, ns, err := o.resolve()
	if err != nil {
		return resolved{}, err
	}
	return resolved{Host: cfg.Host, Namespace: ns, Token: cfg.BearerToken, As: cfg.Impersonate.UserName, QPS: cfg.QPS}, nil
}

// TestResolveKubeconfig: the connection flags pick the cluster, identity and
// namespace exactly as kubectl does.
func TestResolveKubeconfig(t *testing.T) {
	dir := isolateKubeEnv(t)
	two := writeKubeconfig(t, dir, "two.yaml", kubeconfigTwo)
	other := writeKubeconfig(t, dir, "other.yaml", kubeconfigOther)
	one := resolved{Host: "https://one.example:6443", Namespace: "shop", Token: "token-one", QPS: 50}
	for _, tc := range []struct {
		name       string
		kubeconfig string // $KUBECONFIG
		args       []string
		want       resolved
		wantErr    string
	}{
		{name: "$KUBECONFIG: current context and its namespace", kubeconfig: two, want: one},
		{name: "--context picks the other context and its namespace", kubeconfig: two, args: []string{"--context", "two"},
			want: resolved{Host: "https://two.example:6443", Namespace: "blog", Token: "token-two", QPS: 50}},
		{name: "-n overrides the context's namespace", kubeconfig: two, args: []string{"-n", "web"},
			want: resolved{Host: "https://one.example:6443", Namespace: "web", Token: "token-one", QPS: 50}},
		{name: "--namespace with --context", kubeconfig: two, args: []string{"--context=two", "--namespace=web"},
			want: resolved{Host: "https://two.example:6443", Namespace: "web", Token: "token-two", QPS: 50}},
		{name: "context without a namespace: default", kubeconfig: two, args: []string{"--context", "bare"},
			want: resolved{Host: "https://two.example:6443", Namespace: "default", Token: "token-two", QPS: 50}},
		{name: "--kubeconfig wins over $KUBECONFIG", kubeconfig: two, args: []string{"--kubeconfig", other},
			want: resolved{Host: "https://three.example:6443", Namespace: "ops", Token: "token-three", QPS: 50}},
		{name: "$KUBECONFIG list merges, the first current-context wins", kubeconfig: two + string(os.PathListSeparator) + other,
			args: []string{"--context", "three"},
			want: resolved{Host: "https://three.example:6443", Namespace: "ops", Token: "token-three", QPS: 50}},
		{name: "$KUBECONFIG list: current context of the first file", kubeconfig: other + string(os.PathListSeparator) + two,
			want: resolved{Host: "https://three.example:6443", Namespace: "ops", Token: "token-three", QPS: 50}},
		{name: "--as, --server, --token, --kube-api-qps", kubeconfig: two,
			args: []string{"--as", "system:serviceaccount:shop:ebb", "--server", "https://four.example", "--token", "t4", "--kube-api-qps", "7"},
			want: resolved{Host: "https://four.example", Namespace: "shop", Token: "t4", As: "system:serviceaccount:shop:ebb", QPS: 7}},
		{name: "--cluster and --user", kubeconfig: two, args: []string{"--cluster", "c2", "--user", "u2"},
			want: resolved{Host: "https://two.example:6443", Namespace: "shop", Token: "token-two", QPS: 50}},
		{name: "unknown context", kubeconfig: two, args: []string{"--context", "nope"}, wantErr: `context was not found for specified context: nope`},
		{name: "missing --kubeconfig file", args: []string{"--kubeconfig", filepath.Join(dir, "missing.yaml")}, wantErr: "missing.yaml"},
		// kubectl's fallback (~/.kube/config is fixed when client-go loads,
		// so the empty HOME here does not hide a real one: skip then).
		{name: "nothing configured: kubectl's localhost:8080 and default", want: resolved{Host: "http://localhost:8080", Namespace: "default", QPS: 50}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tc.kubeconfig)
			if tc.kubeconfig == "" && !slices.Contains(tc.args, "--kubeconfig") {
				if _, err := os.Stat(clientcmd.RecommendedHomeFile); err == nil {
					t.Skipf("%s exists", clientcmd.RecommendedHomeFile)
				}
			}
			got, err := resolveArgs(t, tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("resolve error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolve error = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("resolved (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReportBadContext: a context the kubeconfig lacks is bad input (exit
// 2) named in one line, before anything is contacted.
func TestReportBadContext(t *testing.T) {
	dir := isolateKubeEnv(t)
	t.Setenv("KUBECONFIG", writeKubeconfig(t, dir, "two.yaml", kubeconfigTwo))
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(reportPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := runEbb([]string{"report", "--policy", pol, "--context", "nope"}, &stdout, &stderr); code != exitUsage {
		t.Errorf("exit %d, want 2", code)
	}
	if got := stderr.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "ebb report: namespace: invalid configuration: context was not found for specified context: nope") {
		t.Errorf("stderr = %q, want one line naming the context", got)
	}
}
