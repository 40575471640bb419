//go:build e2e

package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/scale"

	"github.com/ebb-autoscaler/ebb/e2e/cluster"
	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// TestEbbIsolation: ebb's identity (deploy/'s Role, bound in one namespace
// only, no cluster-scoped grant) gets 403 for pods and */scale in a second
// namespace and for cluster-scoped reads; ebb itself runs and is ready with
// it in its namespace, while ebb (run and report) pointed at the second
// namespace fails and says forbidden, and the other Deployment is untouched.
func TestEbbIsolation(t *testing.T) {
	const ns, other, name = "ebb-iso", "ebb-iso-other", "web"
	s := setup(t, ns)
	ctx := context.Background()
	cpuWorkload(t, s, ns, name, 2)
	s.extraNamespace(t, other)
	if _, err := s.Env.CreateDeployment(ctx, harness.Workload{Namespace: other, Name: name, Replicas: 1}); err != nil {
		t.Fatal(err)
	}
	// Under load so that an ebb reaching `other` would want to scale it.
	o := ebbSetup(t, s, ns, cpuPolicy("apply", "Deployment", name, 2, 8, 50, ""))

	t.Run("403 outside the namespace", func(t *testing.T) {
		cfg, err := cluster.RESTConfig(o.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		kc := kubernetes.NewForConfigOrDie(cfg)
		scales, err := scale.NewForConfig(cfg, s.Env.Mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(kc.Discovery()))
		if err != nil {
			t.Fatal(err)
		}
		patch := []byte(`{"spec":{"replicas":3}}`)
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"list pods", func() error { _, err := kc.CoreV1().Pods(other).List(ctx, metav1.ListOptions{}); return err }},
			{"patch deployments/scale", func() error {
				_, err := scales.Scales(other).Patch(ctx, harness.DeploymentsGVR, name, "application/merge-patch+json", patch, metav1.PatchOptions{})
				return err
			}},
			{"dry-run patch deployments/scale", func() error {
				_, err := scales.Scales(other).Patch(ctx, harness.DeploymentsGVR, name, "application/merge-patch+json", patch, metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
				return err
			}},
			{"list namespaces (cluster-scoped)", func() error { _, err := kc.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); return err }},
			{"list HPAs in all namespaces", func() error {
				_, err := kc.AutoscalingV2().HorizontalPodAutoscalers("").List(ctx, metav1.ListOptions{})
				return err
			}},
		} {
			if err := tc.call(); !apierrors.IsForbidden(err) {
				t.Errorf("%s: err = %v, want 403 Forbidden", tc.name, err)
			}
		}
	})

	t.Run("ebb is ready in its own namespace", func(t *testing.T) {
		b := startEbb(t, s, o, "own")
		if err := harness.Eventually(ctx, "ebb /readyz", 30*time.Second, 250*time.Millisecond, b.Ready); err != nil {
			t.Fatal(err)
		}
		b.waitMetric(t, "ebb_current_replicas", map[string]string{"namespace": ns, "target": "Deployment/" + name}, "= 2",
			func(v float64) bool { return v == 2 }, 30*time.Second)
	})

	oo := o
	oo.Namespace, oo.Name = other, "ebb-iso-wrong-namespace"
	t.Run("ebb run against the other namespace exits naming forbidden", func(t *testing.T) {
		b, err := s.Env.StartEbb(oo, false)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Terminate(5 * time.Second)
		err = harness.Eventually(ctx, "ebb exits", 30*time.Second, 250*time.Millisecond, func(ctx context.Context) error {
			if b.Alive() {
				return errors.New("still running")
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%v\n%s", err, b.LogTail(10))
		}
		if !strings.Contains(b.Logs(), `"msg":"ebb run failed"`) || !strings.Contains(b.LogTail(1), "forbidden") {
			t.Fatalf("ebb's last log line should name the refused permission:\n%s", b.LogTail(3))
		}
	})

	t.Run("ebb report against the other namespace exits 1 naming forbidden", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := harness.EbbReport(ctx, oo, "-o", "json")
		if ctx.Err() != nil {
			t.Fatalf("ebb report hung (killed after 30s): %v", err)
		}
		if err == nil || !strings.Contains(err.Error(), "forbidden") || !strings.Contains(err.Error(), "exit status 1") {
			t.Fatalf("ebb report in %s: err = %v, out = %.300s; want exit status 1 naming forbidden", other, err, out)
		}
	})

	if spec, _, err := s.Env.ScaleReplicas(ctx, harness.DeploymentsGVR, other, name); err != nil || spec != 1 {
		t.Errorf("%s/%s scale = %d (err %v), want 1 (untouched)", other, name, spec, err)
	}
}
