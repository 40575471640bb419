package autoscaler

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

func TestPodIndexMatchesLikeSelector(t *testing.T) {
	mk := func(name string, l map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
	}
	pods := []*corev1.Pod{
		mk("web-1", map[string]string{"app": "web", "tier": "front"}),
		mk("web-2", map[string]string{"app": "web", "tier": "canary"}),
		mk("api-1", map[string]string{"app": "api", "tier": "front"}),
		mk("bare", nil),
	}
	ix := newPodIndex(pods)
	for _, tc := range []struct {
		sel  string
		want []string
	}{
		{sel: "app=web", want: []string{"web-1", "web-2"}},
		{sel: "app==web,tier=front", want: []string{"web-1"}},
		{sel: "app in (web),tier!=canary", want: []string{"web-1"}},
		{sel: "app in (web,api)", want: []string{"web-1", "web-2", "api-1"}},
		{sel: "tier notin (canary)", want: []string{"web-1", "api-1", "bare"}},
		{sel: "app", want: []string{"web-1", "web-2", "api-1"}},
		{sel: "!app", want: []string{"bare"}},
		{sel: "app=none", want: nil},
	} {
		t.Run(tc.sel, func(t *testing.T) {
			sel, err := labels.Parse(tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ix.matching(sel) {
				got = append(got, p.Name)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("matching(%q) (-want +got):\n%s", tc.sel, diff)
			}
		})
	}
}

// TestBadPodMetricsExcludeOnlyThatPod: one pod's negative usage excludes
// that pod (missing, named in the report), and the target still scales on
// the others; another target of the namespace is not affected.
func TestBadPodMetricsExcludeOnlyThatPod(t *testing.T) {
	c := newCluster(t)
	c.addWorkload(t, "web", 3, 150, time.Now().Add(-time.Hour))
	c.addWorkload(t, "api", 2, 150, time.Now().Add(-time.Hour))
	c.mu.Lock()
	c.cpuMilli["web-2"] = -5
	c.mu.Unlock()
	l, _ := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeApply, nil), cpuTarget("api", policy.ModeApply, nil)}})
	rep, err := l.Pass(t.Context(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	web, api := rep.Targets[0], rep.Targets[1]
	want := []report.Condition{{Reason: "PodMetricsExcluded",
		Message: "pod web-2: container app: negative usage (cpu -5m, memory 67108864 bytes); counted as missing"}}
	if d := cmp.Diff(want, web.Notes); d != "" {
		t.Errorf("web notes (-want +got):\n%s", d)
	}
	// Scale-up: the missing pod counts as 0% (the HPA's rule), the other
	// two at 150%: 3 x 100/50 = 6.
	if got := c.replicasOf("web"); got != 6 {
		t.Errorf("web replicas = %d, want 6 (scaled on the two good pods)", got)
	}
	if len(api.Notes) != 0 || c.replicasOf("api") != 4 { // 2 -> 6 limited to 4 by the default scale-up policy
		t.Errorf("api: notes %v, replicas %d; want none, 4", api.Notes, c.replicasOf("api"))
	}
}
