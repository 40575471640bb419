package vertical

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-autoscaler/ebb/metricsource"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

const testNS = "shop"

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// newPod is a running pod of one container "app" with requests (cpu
// millicores, memory bytes; 0 = unset).
func newPod(name string, cpuMilli, memBytes int64) *corev1.Pod {
	req := corev1.ResourceList{}
	if cpuMilli > 0 {
		req[corev1.ResourceCPU] = *resource.NewMilliQuantity(cpuMilli, resource.DecimalSI)
	}
	if memBytes > 0 {
		req[corev1.ResourceMemory] = *resource.NewQuantity(memBytes, resource.BinarySI)
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app",
			Resources: corev1.ResourceRequirements{Requests: req}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

// withOOM adds an OOMKilled last state finished at at to container "app".
func withOOM(p *corev1.Pod, at time.Time) *corev1.Pod {
	p = p.DeepCopy()
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 1,
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason: "OOMKilled", ExitCode: 137, FinishedAt: metav1.NewTime(at)}}}}
	return p
}

func usage(pod string, at time.Time, cpuMilli, memBytes int64) metricsource.PodUsage {
	return metricsource.PodUsage{Name: pod, Timestamp: at, Window: 30 * time.Second,
		Containers: []metricsource.ContainerUsage{{Name: "app", CPUMilli: cpuMilli, MemoryBytes: memBytes}}}
}

// sample is one synthetic usage point of one pod's "app" container.
type sample struct {
	pod      string
	at       time.Time
	cpu, mem int64
}

// history is per-minute samples of pods over d from t0, with usage varying
// deterministically per minute.
func history(pods []string, d time.Duration) []sample {
	var out []sample
	for i := 0; time.Duration(i)*time.Minute < d; i++ {
		for j, p := range pods {
			out = append(out, sample{pod: p, at: t0.Add(time.Duration(i) * time.Minute),
				cpu: int64(200 + (i*7+j*13)%150), mem: int64(300<<20 + ((i*11+j*5)%64)<<20)})
		}
	}
	return out
}

// reference feeds samples straight into a recommender/vertical Workload.
func reference(t *testing.T, ss []sample) *rv.Workload {
	t.Helper()
	w := rv.NewWorkload(rv.DefaultConfig())
	for _, s := range ss {
		if _, err := w.AddCPU(s.pod, "app", s.at, s.cpu); err != nil {
			t.Fatal(err)
		}
		if _, err := w.AddMemory(s.pod, "app", s.at, s.mem); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// observeAll feeds samples through Manager.Observe, one pass per timestamp.
func observeAll(t *testing.T, m *Manager, target string, pods []*corev1.Pod, ss []sample, extra ...metricsource.PodUsage) {
	t.Helper()
	byTime := map[time.Time][]metricsource.PodUsage{}
	var order []time.Time
	for _, s := range ss {
		if _, ok := byTime[s.at]; !ok {
			order = append(order, s.at)
		}
		byTime[s.at] = append(byTime[s.at], usage(s.pod, s.at, s.cpu, s.mem))
	}
	for _, at := range order {
		if err := m.Observe(at, target, pods, append(byTime[at], extra...)); err != nil {
			t.Fatalf("Observe(%s): %v", at, err)
		}
	}
}

func mustRecommend(t *testing.T, m *Manager, now time.Time, target string) []rv.ContainerRecommendation {
	t.Helper()
	recs, err := m.Recommend(now, target, rv.Policy{})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
