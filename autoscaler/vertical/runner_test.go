package vertical

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/metricsource"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

func TestRunnerReconcile(t *testing.T) {
	ctx := t.Context()
	pods := []*corev1.Pod{newPod("web-6d4f8-abcde", 100, 256<<20)}
	kube := fake.NewClientset(pods[0])
	reg := prometheus.NewRegistry()
	o := DefaultOptions()
	o.Namespace, o.Client, o.Registerer = testNS, kube, reg
	cpu, mem := seriesOf(history([]string{"web-6d4f8-zzzzz"}, 26*time.Hour)) // a replaced pod's history
	o.History = &fakeRange{cpu: cpu, mem: mem}
	r, err := NewRunner(o)
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(26 * time.Hour)
	for i := range 3 {
		at := now.Add(time.Duration(i) * time.Minute)
		got, err := r.Reconcile(ctx, at, webTarget, policy.VerticalRecommend, rv.Policy{}, pods,
			[]metricsource.PodUsage{usage(pods[0].Name, at, 300, 400<<20)})
		if err != nil {
			t.Fatalf("pass %d: %v", i, err)
		}
		if len(got) != 1 || got[0].Request.CPUMilli == nil || *got[0].Request.CPUMilli != 100 || got[0].Confidence < 1 {
			t.Fatalf("pass %d: report rows %+v, want app with request 100m and a day of bootstrapped history", i, got)
		}
	}
	if n := testutil.CollectAndCount(reg, "ebb_vertical_recommendation_cpu_cores"); n != 3 {
		t.Errorf("ebb_vertical_recommendation_cpu_cores has %d series, want 3 (target, lower, upper)", n)
	}
	if n := len(o.History.(*fakeRange).calls); n != 2 {
		t.Errorf("%d Prometheus range queries over 3 passes, want 2 (one bootstrap)", n)
	}
	if _, err := r.Reconcile(ctx, now, webTarget, policy.VerticalOff, rv.Policy{}, pods, nil); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg); n != 0 {
		t.Errorf("after mode off: %d vertical series, want 0", n)
	}
}

func TestRunnerOptionsValidate(t *testing.T) {
	o := DefaultOptions()
	o.CheckpointInterval = 0
	o.Actuator.ResizePods = 0
	_, err := NewRunner(o)
	for _, want := range []string{"namespace is empty", "client is nil", "checkpoint interval 0s", "resize pods 0"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewRunner() error = %v, want it to contain %q", err, want)
		}
	}
}

func TestRunnerRestoresBeforeBootstrap(t *testing.T) {
	ctx := t.Context()
	pods := []*corev1.Pod{newPod("web-a", 100, 256<<20)}
	ss := history([]string{"web-a"}, 3*time.Hour)
	data, err := reference(t, ss).Encode(ss[len(ss)-1].at)
	if err != nil {
		t.Fatal(err)
	}
	kube := newKube(storedCheckpoint(data))
	o := DefaultOptions()
	q := &fakeRange{}
	o.Namespace, o.Client, o.History = testNS, kube, q
	r, err := NewRunner(o)
	if err != nil {
		t.Fatal(err)
	}
	now := ss[len(ss)-1].at.Add(time.Minute)
	got, err := r.Reconcile(ctx, now, webTarget, policy.VerticalRecommend, rv.Policy{}, pods, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || time.Duration(got[0].History) < 2*time.Hour {
		t.Errorf("rows %+v, want the restored 3h history", got)
	}
	if len(q.calls) != 0 {
		t.Errorf("bootstrap queried Prometheus %d times after a restore, want 0", len(q.calls))
	}
}
