package vertical

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-autoscaler/ebb/metricsource"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

func TestObserveFeedsRecommender(t *testing.T) {
	pods := []*corev1.Pod{newPod("web-a", 100, 256<<20), newPod("web-b", 150, 200<<20)}
	ss := history([]string{"web-a", "web-b"}, 36*time.Hour)
	now := ss[len(ss)-1].at
	m := NewManager(testNS, rv.DefaultConfig(), nil)
	// A pod of another target in the same namespace list must not count.
	other := usage("api-x", t0, 9000, 8<<30)
	observeAll(t, m, "Deployment/web", pods, ss, other)
	// Repeating the last pass (same timestamps) must change nothing.
	observeAll(t, m, "Deployment/web", pods, ss[len(ss)-2:])

	got := mustRecommend(t, m, now, "Deployment/web")
	want, err := reference(t, ss).Recommend(rv.Policy{CurrentRequests: map[string]rv.Amounts{
		"app": {CPUMillis: 150, MemoryBytes: 256 << 20}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Recommend() (-want +got):\n%s", d)
	}
	if len(got) != 1 || got[0].CPU == nil || got[0].CPU.Target < 200 || got[0].CPU.Target > 500 {
		t.Errorf("CPU recommendation %+v, want a target within the usage range 200..350m plus margin", got)
	}
	if d := cmp.Diff(map[string]rv.Amounts{"app": {CPUMillis: 150, MemoryBytes: 256 << 20}}, m.Requests("Deployment/web")); d != "" {
		t.Errorf("Requests() (-want +got):\n%s", d)
	}
	last := ss[len(ss)-2:]
	wantUsage := rv.Amounts{CPUMillis: max(last[0].cpu, last[1].cpu), MemoryBytes: max(last[0].mem, last[1].mem)}
	if d := cmp.Diff(map[string]rv.Amounts{"app": wantUsage}, m.Usage("Deployment/web")); d != "" {
		t.Errorf("Usage() (-want +got):\n%s", d)
	}
}

func TestObserveOOM(t *testing.T) {
	oomAt := t0.Add(90 * time.Minute)
	ss := history([]string{"web-a"}, 2*time.Hour)
	for _, tc := range []struct {
		name string
		// passes of the pod: its status in each pass after the history
		passes []*corev1.Pod
		ooms   []time.Time // OOM kills the reference records
	}{
		{name: "no OOM", passes: []*corev1.Pod{newPod("web-a", 100, 256<<20)}},
		{name: "an OOM seen in three passes is counted once",
			passes: []*corev1.Pod{withOOM(newPod("web-a", 100, 256<<20), oomAt),
				withOOM(newPod("web-a", 100, 256<<20), oomAt), withOOM(newPod("web-a", 100, 256<<20), oomAt)},
			ooms: []time.Time{oomAt}},
		{name: "a second OOM (later finishedAt) counts",
			passes: []*corev1.Pod{withOOM(newPod("web-a", 100, 256<<20), oomAt),
				withOOM(newPod("web-a", 100, 256<<20), oomAt.Add(10*time.Minute))},
			ooms: []time.Time{oomAt, oomAt.Add(10 * time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewManager(testNS, rv.DefaultConfig(), nil)
			observeAll(t, m, "Deployment/web", []*corev1.Pod{newPod("web-a", 100, 256<<20)}, ss)
			now := ss[len(ss)-1].at
			for _, p := range tc.passes {
				if err := m.Observe(now, "Deployment/web", []*corev1.Pod{p}, nil); err != nil {
					t.Fatal(err)
				}
			}
			ref := reference(t, ss)
			for _, at := range tc.ooms {
				if err := ref.RecordOOM("web-a", "app", at, 256<<20); err != nil {
					t.Fatal(err)
				}
			}
			want, err := ref.Recommend(rv.Policy{CurrentRequests: map[string]rv.Amounts{"app": {CPUMillis: 100, MemoryBytes: 256 << 20}}}, now)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, mustRecommend(t, m, now, "Deployment/web")); d != "" {
				t.Errorf("Recommend() (-want +got):\n%s", d)
			}
			if got := len(m.targets["Deployment/web"].ooms); got != len(tc.ooms) {
				t.Errorf("OOM kills recorded = %d, want %d", got, len(tc.ooms))
			}
		})
	}
}

func TestOOMChangesMemoryRecommendation(t *testing.T) {
	ss := history([]string{"web-a"}, 2*time.Hour)
	now := ss[len(ss)-1].at
	rec := func(p *corev1.Pod) int64 {
		m := NewManager(testNS, rv.DefaultConfig(), nil)
		observeAll(t, m, "Deployment/web", []*corev1.Pod{p}, ss)
		return mustRecommend(t, m, now, "Deployment/web")[0].Memory.Target
	}
	plain, oom := rec(newPod("web-a", 100, 1<<30)), rec(withOOM(newPod("web-a", 100, 1<<30), t0.Add(time.Hour)))
	// The OOM bump: max(1Gi + 100Mi, 1.2 x 1Gi) plus the 15% margin.
	if oom <= plain || oom < (1<<30)*6/5 {
		t.Errorf("memory target with OOM = %d, without = %d: want the OOM to raise it above 1.2Gi", oom, plain)
	}
}

func TestObserveInvalidSample(t *testing.T) {
	m := NewManager(testNS, rv.DefaultConfig(), nil)
	pods := []*corev1.Pod{newPod("web-a", 100, 0), newPod("web-b", 100, 0)}
	err := m.Observe(t0, "Deployment/web", pods, []metricsource.PodUsage{usage("web-a", t0, -5, 1<<20), usage("web-b", t0, 300, 1<<20)})
	if err == nil || !strings.Contains(err.Error(), "web-a") || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("Observe() error = %v, want one naming pod web-a and the negative value", err)
	}
	if got := m.Usage("Deployment/web"); got["app"].CPUMillis != 300 {
		t.Errorf("Usage() = %+v, want web-b's 300m still recorded", got)
	}
}

// TestOOMCountedOnceOverPasses: a pod keeps its OOMKilled last state for
// days; it is recorded once, not in every pass.
func TestOOMCountedOnceOverPasses(t *testing.T) {
	oomAt := t0.Add(90 * time.Minute)
	all := history([]string{"web-a"}, 60*time.Hour)
	before, after := all[:120], all[120:] // the OOM is first seen at +2h
	// A peak above the OOM bump in the same interval: recording the OOM
	// again would bump from it (500Mi -> 600Mi).
	after[1].mem = 500 << 20
	oomPod := withOOM(newPod("web-a", 100, 256<<20), oomAt)
	m := NewManager(testNS, rv.DefaultConfig(), nil)
	observeAll(t, m, "Deployment/web", []*corev1.Pod{newPod("web-a", 100, 256<<20)}, before)
	observeAll(t, m, "Deployment/web", []*corev1.Pod{oomPod}, after)

	ref := reference(t, before)
	if err := ref.RecordOOM("web-a", "app", oomAt, 256<<20); err != nil {
		t.Fatal(err)
	}
	for _, s := range after {
		if _, err := ref.AddCPU(s.pod, "app", s.at, s.cpu); err != nil {
			t.Fatal(err)
		}
		if _, err := ref.AddMemory(s.pod, "app", s.at, s.mem); err != nil {
			t.Fatal(err)
		}
	}
	now := all[len(all)-1].at
	want, err := ref.Recommend(rv.Policy{CurrentRequests: map[string]rv.Amounts{"app": {CPUMillis: 100, MemoryBytes: 256 << 20}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, mustRecommend(t, m, now, "Deployment/web")); d != "" {
		t.Errorf("Recommend() (-want +got):\n%s", d)
	}
}
