package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
)

func TestPolicyHotReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "policy.yaml")
		write := func(s string) {
			if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write(reportPolicy)
		var patchOpts []metav1.UpdateOptions
		c := fakeClients(t, &patchOpts)
		reg := prometheus.NewRegistry()
		rec := record.NewFakeRecorder(10)
		f := newRunOptions()
		f.policy, f.policyConfigMap, f.policyInterval = path, "ebb-policy", time.Second
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		w, loop, err := startPolicy(ctx, f, "shop", c, reg, rec, log, nil, nil)
		if err != nil {
			t.Fatalf("startPolicy() error = %v", err)
		}
		go func() { _ = w.Run(ctx) }()

		write(strings.Replace(reportPolicy, "maxReplicas: 10", "maxReplicas: 0", 1))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		rep, err := loop.Pass(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Targets[0].Max; got != 10 {
			t.Errorf("after an invalid reload: maxReplicas in force = %d, want the last good 10", got)
		}
		var ev string
		select {
		case ev = <-rec.Events:
		default:
		}
		if !strings.HasPrefix(ev, "Warning PolicyRejected") || !strings.Contains(ev, "maxReplicas") {
			t.Errorf("event = %q, want a PolicyRejected warning naming maxReplicas", ev)
		}

		write(strings.Replace(reportPolicy, "maxReplicas: 10", "maxReplicas: 3", 1))
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if rep, err = loop.Pass(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := rep.Targets[0].Max; got != 3 {
			t.Errorf("after a valid reload: maxReplicas in force = %d, want 3", got)
		}
		want := `
# HELP ebb_policy_reloads_total Policy file reloads by result (success: in force; invalid: rejected, the last good policy stays; error: valid but could not be applied).
# TYPE ebb_policy_reloads_total counter
ebb_policy_reloads_total{result="invalid"} 1
ebb_policy_reloads_total{result="success"} 1
`
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ebb_policy_reloads_total"); err != nil {
			t.Error(err)
		}
		if diff := cmp.Diff(2, len(patchOpts)); diff != "" {
			t.Errorf("dry-run patches (-want +got):\n%s", diff)
		}
		cancel()
	})
}

// promPolicy is Deployment/web on an External metric from the Prometheus
// at url.
func promPolicy(url, extra string) string {
	return "prometheus:\n  url: " + url + "\n" + extra + `
targets:
  - scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
    mode: dry-run
    horizontal:
      minReplicas: 1
      maxReplicas: 10
      metrics:
        - type: External
          external: {metric: {name: queue}, target: {type: AverageValue, averageValue: "30"}}
    queries:
      queue: 'sum(queue_messages)'
`
}

// TestPolicyReloadRebuildsPrometheus: a reload that changes the prometheus
// section makes the next pass query the new server; one whose section
// does not build a client is counted as result="error" and changes
// nothing.
func TestPolicyReloadRebuildsPrometheus(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	server := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Path != "/api/v1/query" { // the vertical bootstrap's range queries: no history
				fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
				return
			}
			mu.Lock()
			hits[name]++
			mu.Unlock()
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"60"]}]}}`)
		}))
	}
	a, b := server("a"), server("b")
	defer a.Close()
	defer b.Close()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(promPolicy(a.URL, ""))
	var opts []metav1.UpdateOptions
	c := fakeClients(t, &opts)
	reg := prometheus.NewRegistry()
	f := newRunOptions()
	f.policy, f.policyInterval = path, 10*time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w, loop, err := startPolicy(ctx, f, "shop", c, reg, record.NewFakeRecorder(100), slog.New(slog.DiscardHandler), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = w.Run(ctx) }()
	queried := func() map[string]int {
		mu.Lock()
		clear(hits)
		mu.Unlock()
		if _, err := loop.Pass(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(hits)
	}
	reloads := func(result string) float64 {
		return testutil.ToFloat64(loop.PolicyReloadsCounter(result))
	}
	waitFor := func(result string, n float64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); reloads(result) < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("ebb_policy_reloads_total{result=%q} = %v, want %v", result, reloads(result), n)
			}
		}
	}
	if got := queried(); got["a"] != 1 || got["b"] != 0 {
		t.Fatalf("queries before the reload = %v, want one to a", got)
	}
	write(promPolicy(b.URL, ""))
	waitFor("success", 1)
	if got := queried(); got["a"] != 0 || got["b"] != 1 {
		t.Errorf("queries after the reload to b = %v, want one to b", got)
	}
	write(promPolicy(a.URL, "  httpConfig:\n    tls_config: {ca_file: /nonexistent/ca.pem}\n"))
	waitFor("error", 1)
	if got := queried(); got["b"] != 1 {
		t.Errorf("queries after a reload that could not be applied = %v, want the last good client (b)", got)
	}
	if got := reloads("success"); got != 1 {
		t.Errorf("ebb_policy_reloads_total{result=success} = %v, want 1", got)
	}
}
