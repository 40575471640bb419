package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
		var patchOpts []metav1.PatchOptions
		c := fakeClients(t, &patchOpts)
		reg := prometheus.NewRegistry()
		rec := record.NewFakeRecorder(10)
		f := newRunOptions()
		f.policy, f.policyConfigMap, f.policyInterval = path, "ebb-policy", time.Second
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		w, loop, err := startPolicy(ctx, f, "shop", c, reg, rec, log)
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
# HELP ebb_policy_reloads_total Policy file reloads by result (success, invalid).
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
