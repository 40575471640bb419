package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ebb-autoscaler/ebb/autoscaler"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

// fakeProxy is an API server that answers the service proxy path of
// Service ebb-metrics port metrics in namespace shop with h, and records
// the queries it proxied.
func fakeProxy(t *testing.T, h http.Handler) (*httptest.Server, *[]string) {
	t.Helper()
	var queries []string
	const prefix = "/api/v1/namespaces/shop/services/ebb-metrics:metrics/proxy"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, prefix) {
			http.Error(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`, http.StatusNotFound)
			return
		}
		queries = append(queries, r.URL.RawQuery)
		r.URL.Path = strings.TrimPrefix(r.URL.Path, prefix)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &queries
}

func statusKubeconfig(t *testing.T, server string) string {
	t.Helper()
	dir := isolateKubeEnv(t)
	return writeKubeconfig(t, dir, "kubeconfig", `apiVersion: v1
kind: Config
current-context: c
clusters: [{name: c, cluster: {server: "`+server+`"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: shop}}]
`)
}

// TestStatusCommand: ebb status reads the leader's /status through the
// service proxy of the namespace from the kubeconfig and prints it; json
// and html carry the history, the table asks for none.
func TestStatusCommand(t *testing.T) {
	s := autoscaler.NewStatusHistory(time.Hour, time.Minute)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range int32(3) {
		s.Record(report.Report{GeneratedAt: t0.Add(time.Duration(i) * time.Minute), Namespace: "shop", Targets: []report.Target{
			{Kind: "Deployment", Name: "web", Mode: "dry-run", Current: report.Int32(2), Desired: report.Int32(2 + i), Min: 1, Max: 10},
			{Kind: "Deployment", Name: "api", Mode: "apply", Current: report.Int32(3), Desired: report.Int32(3), Min: 1, Max: 10},
		}})
	}
	leading := true
	srv, queries := fakeProxy(t, autoscaler.StatusHandler(s, func() bool { return leading }, nil))
	kubeconfig := statusKubeconfig(t, srv.URL)

	var stdout, stderr bytes.Buffer
	if code := runEbb([]string{"status", "--kubeconfig", kubeconfig, "-o", "json", "--target", "Deployment/web"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rep report.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	var desired []int32
	for _, smp := range rep.Targets[0].History {
		desired = append(desired, *smp.Desired)
	}
	if len(rep.Targets) != 1 || rep.Targets[0].Name != "web" || !cmp.Equal(desired, []int32{2, 3, 4}) {
		t.Errorf("ebb status -o json --target Deployment/web = %d targets, web's desired history %v; want web alone with 2, 3, 4", len(rep.Targets), desired)
	}

	stdout.Reset()
	if code := runEbb([]string{"status", "--kubeconfig", kubeconfig}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "Deployment/web") || !strings.Contains(stdout.String(), "Deployment/api") {
		t.Errorf("ebb status table:\n%s\nwant both targets", stdout.String())
	}
	q := func(i int) url.Values {
		v, err := url.ParseQuery((*queries)[i])
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if q(0).Get("target") != "Deployment/web" || q(0).Has("history") || q(1).Get("history") != "0s" {
		t.Errorf("proxied queries %q, want json without a history bound and the table with history=0s", *queries)
	}

	html := filepath.Join(t.TempDir(), "status.html")
	stdout.Reset()
	if code := runEbb([]string{"status", "--kubeconfig", kubeconfig, "-o", "html", "--since", "90s"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if err := os.WriteFile(html, stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if q(2).Get("history") != "1m30s" {
		t.Errorf("ebb status -o html --since 90s: query %q, want history=1m30s", (*queries)[2])
	}
	if !strings.Contains(stdout.String(), "<svg") {
		t.Errorf("ebb status -o html: page without charts (%d bytes)", stdout.Len())
	}

	leading = false
	stderr.Reset()
	if code := runEbb([]string{"status", "--kubeconfig", kubeconfig}, &stdout, &stderr); code != exitFailure {
		t.Errorf("standby: exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "503: this ebb replica is not the leader") {
		t.Errorf("standby: stderr %q, want the replica's answer", stderr.String())
	}
}

func TestStatusFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "--target", "web"}, `--target "web": want Kind/name`},
		{[]string{"status", "-o", "yaml"}, `unknown report format "yaml"`},
		{[]string{"status", "--since", "-1h"}, "must not be negative"},
	} {
		var stdout, stderr bytes.Buffer
		if code := runEbb(tc.args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 naming %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
