//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/scale"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/ebb-autoscaler/ebb/e2e/cluster"
	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// TestSmoke proves the cluster itself, before any ebb scenario relies on it:
// kcm (Deployment → ReplicaSet), kwok (pods Running/Ready on a fake node),
// metrics.k8s.io (serves CPU and follows an annotation change), the
// namespace-scoped identity built from deploy/'s Role (allowed in its
// namespace, 403 in another and cluster-wide), and Prometheus (scrapes the
// load app; rate() per pod comes back).
func TestSmoke(t *testing.T) {
	const ns, other = "smoke", "smoke-other"
	s := setup(t, ns)
	ctx := context.Background()
	env := s.Env
	w := harness.Workload{Namespace: ns, Name: "web", Replicas: 2, CPURequest: "100m", CPUUsage: "50m"}
	if _, err := env.CreateDeployment(ctx, w); err != nil {
		t.Fatal(err)
	}
	pods, err := env.WaitReadyPods(ctx, ns, w.Selector(), 2, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("kcm creates a ReplicaSet owned by the Deployment", func(t *testing.T) {
		rs, err := env.Kube.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: w.Selector().String()})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs.Items) != 1 || len(rs.Items[0].OwnerReferences) != 1 || rs.Items[0].OwnerReferences[0].Name != "web" {
			t.Fatalf("ReplicaSets of web = %+v, want one owned by Deployment web", rs.Items)
		}
	})

	t.Run("pods run on kwok nodes", func(t *testing.T) {
		for _, name := range pods {
			p, err := env.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(p.Spec.NodeName, "kwok-node-") || p.Status.PodIP == "" {
				t.Errorf("pod %s: node %q, IP %q; want a kwok node and an IP", name, p.Spec.NodeName, p.Status.PodIP)
			}
		}
	})

	t.Run("metrics.k8s.io serves CPU and follows the usage annotation", func(t *testing.T) {
		t0 := time.Now()
		if _, err := env.WaitPodCPU(ctx, ns, w.Selector(), pods, harness.Within(50, 5), 60*time.Second); err != nil {
			t.Fatal(err)
		}
		t.Logf("first pod CPU served after %s", time.Since(t0).Round(100*time.Millisecond))
		load := env.CPULoad(ctx, ns, w.Selector(), 400) // 200m per pod
		defer load.Stop()
		t0 = time.Now()
		if _, err := env.WaitPodCPU(ctx, ns, w.Selector(), pods, harness.Within(200, 20), 40*time.Second); err != nil {
			t.Fatal(err)
		}
		t.Logf("annotation change visible after %s", time.Since(t0).Round(100*time.Millisecond))
	})

	t.Run("raw YAML applies, a CR exposes its scale", func(t *testing.T) {
		objs, err := env.ApplyYAML(ctx, []byte(smokeYAML), ns)
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 2 {
			t.Fatalf("applied %d objects, want 2 (ConfigMap, Service)", len(objs))
		}
		if _, err := env.Kube.CoreV1().ConfigMaps(ns).Get(ctx, "smoke-config", metav1.GetOptions{}); err != nil {
			t.Error(err)
		}
		if err := env.InstallScalable(ctx, ns, "queue", 3, "queue"); err != nil {
			t.Fatal(err)
		}
		if err := env.SetScale(ctx, harness.ScalableGVR, ns, "queue", 4); err != nil {
			t.Fatal(err)
		}
		if spec, _, err := env.ScaleReplicas(ctx, harness.ScalableGVR, ns, "queue"); err != nil || spec != 4 {
			t.Errorf("Scalable queue scale spec.replicas = %d (err %v), want 4", spec, err)
		}
	})

	t.Run("scoped identity is confined to its namespace", func(t *testing.T) {
		testScopedIdentity(t, s, ns, other)
	})

	t.Run("Prometheus scrapes the load app and rate() per pod comes back", func(t *testing.T) {
		pods, err := env.ReadyPods(ctx, ns, w.Selector())
		if err != nil {
			t.Fatal(err)
		}
		app, err := env.StartLoadApp()
		if err != nil {
			t.Fatal(err)
		}
		defer app.Close()
		total := 10.0 * float64(len(pods))
		load := env.RequestLoad(ctx, app, ns, w.Selector(), total)
		defer load.Stop()
		q := fmt.Sprintf(`sum by (pod) (rate(http_requests_total{namespace=%q}[10s]))`, ns)
		err = harness.Eventually(ctx, "rate() of 10/s per pod", 60*time.Second, time.Second, func(ctx context.Context) error {
			got, err := env.QueryByLabel(ctx, q, "pod")
			if err != nil {
				return err
			}
			for _, p := range pods {
				if v, ok := got[p]; !ok || math.Abs(v-10) > 0.5 {
					return fmt.Errorf("rates %v, want 10±0.5 for every pod of %v", got, pods)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// smokeYAML is two documents as kustomize or helm would print them.
const smokeYAML = `apiVersion: v1
kind: ConfigMap
metadata: {name: smoke-config}
data: {k: v}
---
# a comment-only document is skipped
---
apiVersion: v1
kind: Service
metadata: {name: smoke-svc}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`

// testScopedIdentity checks the kubeconfig ebb runs with: it may list pods,
// read pod metrics and patch a Deployment's scale in ns; it gets 403 for the
// same in other and for cluster-scoped reads.
func testScopedIdentity(t *testing.T, s *Suite, ns, other string) {
	ctx := context.Background()
	env := s.Env
	s.extraNamespace(t, other)
	ow := harness.Workload{Namespace: other, Name: "web", Replicas: 1}
	if _, err := env.CreateDeployment(ctx, ow); err != nil {
		t.Fatal(err)
	}
	path, err := env.ScopedKubeconfig(ctx, ns, s.RolePath(), s.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := cluster.RESTConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	kc := kubernetes.NewForConfigOrDie(cfg)
	mc := metricsclient.NewForConfigOrDie(cfg)
	scales, err := scale.NewForConfig(cfg, env.Mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(kc.Discovery()))
	if err != nil {
		t.Fatal(err)
	}
	gr := harness.DeploymentsGVR.GroupResource()
	for _, tc := range []struct {
		name      string
		call      func() error
		forbidden bool
	}{
		{"list pods in own namespace", func() error { _, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); return err }, false},
		{"list pod metrics in own namespace", func() error {
			_, err := mc.MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{})
			return err
		}, false},
		{"patch deployment scale in own namespace", func() error {
			_, err := scales.Scales(ns).Patch(ctx, harness.DeploymentsGVR, "web", "application/merge-patch+json", []byte(`{"spec":{"replicas":3}}`), metav1.PatchOptions{})
			return err
		}, false},
		{"list pods in other namespace", func() error { _, err := kc.CoreV1().Pods(other).List(ctx, metav1.ListOptions{}); return err }, true},
		{"get deployment scale in other namespace", func() error { _, err := scales.Scales(other).Get(ctx, gr, "web", metav1.GetOptions{}); return err }, true},
		{"patch deployment scale in other namespace", func() error {
			_, err := scales.Scales(other).Patch(ctx, harness.DeploymentsGVR, "web", "application/merge-patch+json", []byte(`{"spec":{"replicas":3}}`), metav1.PatchOptions{})
			return err
		}, true},
		{"list pod metrics in other namespace", func() error {
			_, err := mc.MetricsV1beta1().PodMetricses(other).List(ctx, metav1.ListOptions{})
			return err
		}, true},
		{"list nodes (cluster-scoped)", func() error { _, err := kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); return err }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			switch {
			case tc.forbidden && !apierrors.IsForbidden(err):
				t.Errorf("err = %v, want 403 Forbidden", err)
			case !tc.forbidden && err != nil:
				t.Errorf("err = %v, want allowed", err)
			}
		})
	}
	if _, err := env.WaitReadyPods(ctx, ns, harness.Workload{Name: "web"}.Selector(), 3, 30*time.Second); err != nil {
		t.Errorf("after the scoped scale patch: %v", err)
	}
	if spec, _, err := env.ScaleReplicas(ctx, harness.DeploymentsGVR, other, "web"); err != nil || spec != 1 {
		t.Errorf("other namespace scale = %d (err %v), want 1 (untouched)", spec, err)
	}
}
