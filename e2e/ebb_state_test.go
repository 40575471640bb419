//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ebb-autoscaler/ebb/autoscaler/checkpoint"
	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// TestEbbReadOnlyProfile: ebb with the read-only install profile's Role
// (deploy/kustomize/components/read-only, the same rules as Helm's
// readOnly=true) and --read-only, on a target in mode apply under load. It
// decides the scale-up and exports it, writes its own state, and changes
// nothing: spec.replicas stays, no actuation is counted, and the identity
// it runs with is refused a scale write by the API server.
func TestEbbReadOnlyProfile(t *testing.T) {
	const ns, name = "ebb-read-only", "web"
	s := setup(t, ns)
	ctx := context.Background()
	w := cpuWorkload(t, s, ns, name, 2)
	o := ebbSetup(t, s, ns, cpuPolicy("apply", "Deployment", name, 2, 8, 50, ""))
	role := filepath.Join(s.RepoRoot, "deploy", "kustomize", "components", "read-only", "role.yaml")
	kc, err := s.Env.ScopedKubeconfig(ctx, ns, role, s.RunDir) // replaces the full Role of ebbSetup
	if err != nil {
		t.Fatal(err)
	}
	o.Kubeconfig = kc
	o.ExtraArgs = append(o.ExtraArgs, "--read-only")
	watch := watchReplicas(t, s, ns, name)
	ebb := startEbb(t, s, o, "")
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300)
	defer load.Stop()

	target := map[string]string{"namespace": ns, "target": "Deployment/" + name}
	ebb.waitMetric(t, "ebb_desired_replicas", target, "= 4", func(v float64) bool { return v == 4 }, 60*time.Second)
	time.Sleep(3 * syncPeriod) // a few passes that would have scaled
	watch.Stop()
	if ch := watch.Changes(); len(ch) != 1 || ch[0].Replicas != 2 {
		t.Errorf("read-only profile changed spec.replicas: %s", watch)
	}
	if v, found, err := ebb.MetricValue(ctx, "ebb_actuations_total", map[string]string{"namespace": ns}); err != nil || (found && v != 0) {
		t.Errorf("ebb_actuations_total = %v (found %v, err %v), want no actuation", v, found, err)
	}
	// Its own state is written (not a workload).
	err = harness.Eventually(ctx, "ebb's state checkpoint", 20*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		cms, err := s.Env.Kube.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, cm := range cms.Items {
			if strings.HasPrefix(cm.Name, "ebb-state") {
				return nil
			}
		}
		return fmt.Errorf("no ebb-state ConfigMap among %d", len(cms.Items))
	})
	if err != nil {
		t.Error(err)
	}
	// The API server refuses the identity a scale write (so the profile
	// holds even if --read-only were forgotten).
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := kube.AppsV1().Deployments(ns).GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the read-only identity cannot read the scale: %v", err)
	}
	sc.Spec.Replicas = 4
	if _, err := kube.AppsV1().Deployments(ns).UpdateScale(ctx, name, sc, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}); !apierrors.IsForbidden(err) {
		t.Errorf("read-only identity: dry-run scale Update = %v, want Forbidden", err)
	}
}

// TestEbbLeaderFailoverVertical: two replicas with --leader-elect and
// vertical recommendations checkpointed every 2 s. The leader is frozen
// with SIGSTOP (a paused VM or container: no Lease release, no shutdown);
// the standby takes the Lease after its duration and from then on writes
// the vertical checkpoints (ebb.io/writer names it). When the old leader
// resumes (SIGCONT) it still believes it leads until its next renewal
// fails; the lease fence must keep it from writing any checkpoint: no
// ConfigMap of ebb is written by it again.
func TestEbbLeaderFailoverVertical(t *testing.T) {
	const ns, name = "ebb-failover-vertical", "web"
	s := setup(t, ns)
	ctx := context.Background()
	cpuWorkload(t, s, ns, name, 2)
	o := ebbSetup(t, s, ns, cpuPolicy("dry-run", "Deployment", name, 2, 8, 50, ""))
	o.LeaderElect = true
	o.ExtraArgs = append(o.ExtraArgs, "--vertical-checkpoint-interval", "2s")
	a := startEbb(t, s, withIdentity(o, "a"), "a")
	b := startEbb(t, s, withIdentity(o, "b"), "b")
	leader, standby := whoLeads(t, a, b)
	leaderID, standbyID := identityOf(leader), identityOf(standby)

	writers := func(ctx context.Context) (map[string]string, error) {
		cms, err := s.Env.Kube.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		out := map[string]string{}
		for _, cm := range cms.Items {
			if strings.HasPrefix(cm.Name, "ebb-") {
				out[cm.Name+"@"+cm.ResourceVersion] = cm.Annotations[checkpoint.WriterAnnotation]
			}
		}
		return out, nil
	}
	vertical := func(want string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			ws, err := writers(ctx)
			if err != nil {
				return err
			}
			for k, id := range ws {
				if strings.HasPrefix(k, "ebb-vertical") && id == want {
					return nil
				}
			}
			return fmt.Errorf("no vertical checkpoint written by %s: %v", want, ws)
		}
	}
	if err := harness.Eventually(ctx, "the leader checkpoints the vertical state", 60*time.Second, 500*time.Millisecond, vertical(leaderID)); err != nil {
		t.Fatal(err)
	}

	// The CPU upper bound narrows as the histogram's history grows (the
	// VPA's confidence): a new leader that continued the old one's
	// histogram starts at or below the old leader's last bound, one that
	// started afresh far above it.
	upper := map[string]string{"namespace": ns, "bound": "upper"}
	// (1e11 cores is the VPA's "no history" bound: wait for a real one.)
	finite := func(v float64) bool { return v > 0 && v < 1e9 }
	oldUpper := leader.waitMetric(t, "ebb_vertical_recommendation_cpu_cores", upper, "finite on the leader", finite, 60*time.Second)
	time.Sleep(3 * time.Second) // checkpointed every 2 s: the bound read is saved
	if err := syscall.Kill(-leader.PID, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			_ = syscall.Kill(-leader.PID, syscall.SIGCONT)
		}
	})
	frozen := time.Now()
	standby.waitMetric(t, "ebb_leader", nil, "= 1 after the leader froze", func(v float64) bool { return v == 1 }, 40*time.Second)
	t.Logf("standby leads %.1fs after SIGSTOP", time.Since(frozen).Seconds())
	newUpper := standby.waitMetric(t, "ebb_vertical_recommendation_cpu_cores", upper, "> 0 on the new leader", func(v float64) bool { return v > 0 }, 30*time.Second)
	if !finite(newUpper) {
		t.Errorf("new leader's CPU upper bound %.3g cores is the no-history bound: it did not continue the checkpointed histogram", newUpper)
	}
	if newUpper > oldUpper*1.01 {
		t.Errorf("new leader's CPU upper bound %.3f cores, above the old leader's %.3f: it did not continue the checkpointed histogram", newUpper, oldUpper)
	}
	t.Logf("CPU upper bound: old leader %.3f cores, new leader %.3f", oldUpper, newUpper)
	if err := harness.Eventually(ctx, "the new leader checkpoints the vertical state", 30*time.Second, 500*time.Millisecond, vertical(standbyID)); err != nil {
		t.Fatal(err)
	}

	before, err := writers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(-leader.PID, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	resumed = true
	// 15 s after the resume (several of its checkpoint intervals and passes,
	// and past its renew deadline): every ConfigMap version written since
	// is the new leader's.
	end := time.Now().Add(15 * time.Second)
	for time.Now().Before(end) {
		ws, err := writers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for k, id := range ws {
			if _, seen := before[k]; !seen && id != standbyID {
				t.Fatalf("after the frozen leader resumed, %s was written by %q (want only %s): the fence let a former leader write", k, id, standbyID)
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	if v, _, err := standby.MetricValue(ctx, "ebb_leader", nil); err != nil || v != 1 {
		t.Errorf("new leader's ebb_leader = %v (err %v) after the old one resumed, want 1", v, err)
	}
}

// identityOf is the --identity r was started with.
func identityOf(r *ebbRun) string {
	args := r.opts.ExtraArgs
	for i := range args[:len(args)-1] {
		if args[i] == "--identity" {
			return args[i+1]
		}
	}
	return ""
}
