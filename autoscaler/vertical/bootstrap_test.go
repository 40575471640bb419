package vertical

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-autoscaler/ebb/metricsource"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

type rangeCall struct {
	query      string
	start, end time.Time
	step       time.Duration
}

// fakeRange answers the CPU and memory queries from fixed series.
type fakeRange struct {
	cpu, mem []metricsource.Series
	err      error
	failures int // the first failures calls fail with a transport error
	calls    []rangeCall
}

func (f *fakeRange) RangeQuery(_ context.Context, q string, start, end time.Time, step time.Duration) ([]metricsource.Series, error) {
	f.calls = append(f.calls, rangeCall{q, start, end, step})
	if len(f.calls) <= f.failures {
		return nil, errors.New("connection refused")
	}
	if f.err != nil {
		return nil, f.err
	}
	if strings.Contains(q, "container_cpu_usage_seconds_total") {
		return f.cpu, nil
	}
	return f.mem, nil
}

// seriesOf turns samples into per-pod series (CPU in cores, memory bytes).
func seriesOf(ss []sample) (cpu, mem []metricsource.Series) {
	idx := map[string]int{}
	for _, s := range ss {
		i, ok := idx[s.pod]
		if !ok {
			i = len(cpu)
			idx[s.pod] = i
			l := map[string]string{"namespace": testNS, "pod": s.pod, "container": "app"}
			cpu = append(cpu, metricsource.Series{Labels: l})
			mem = append(mem, metricsource.Series{Labels: l})
		}
		cpu[i].Samples = append(cpu[i].Samples, metricsource.Sample{Time: s.at, Value: float64(s.cpu) / 1000})
		mem[i].Samples = append(mem[i].Samples, metricsource.Sample{Time: s.at, Value: float64(s.mem)})
	}
	return cpu, mem
}

func TestBootstrap(t *testing.T) {
	ss := history([]string{"web-6d4f8-abcde", "web-6d4f8-fghij"}, 2*24*time.Hour)
	now := ss[len(ss)-1].at.Add(time.Minute)
	cpu, mem := seriesOf(ss)
	q := &fakeRange{cpu: cpu, mem: mem}
	m := NewManager(testNS, rv.DefaultConfig(), nil)
	o := DefaultBootstrapOptions()
	regex, err := HistoryPodRegex("Deployment", "web", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Bootstrap(t.Context(), q, o, now, "Deployment/web", regex); err != nil {
		t.Fatal(err)
	}
	wantCalls := []rangeCall{
		{metricsource.CPUUsageQuery(testNS, regex, 5*time.Minute), now.Add(-8 * 24 * time.Hour), now, 5 * time.Minute},
		{metricsource.MemoryWorkingSetQuery(testNS, regex), now.Add(-8 * 24 * time.Hour), now, 5 * time.Minute},
	}
	if d := cmp.Diff(wantCalls, q.calls, cmp.AllowUnexported(rangeCall{})); d != "" {
		t.Errorf("range queries (-want +got):\n%s", d)
	}
	want, err := reference(t, ss).Recommend(rv.Policy{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, mustRecommend(t, m, now, "Deployment/web")); d != "" {
		t.Errorf("recommendation after bootstrap (-want +got):\n%s", d)
	}
	// A second call (or one after a restore) reads nothing.
	if err := m.Bootstrap(t.Context(), q, o, now, "Deployment/web", regex); err != nil || len(q.calls) != 2 {
		t.Errorf("second Bootstrap(): err %v, %d queries, want no new query", err, len(q.calls))
	}
}

// TestBootstrapRetriesWithBackoff: a failed bootstrap adds nothing and is
// retried after 1m, 2m, ...; the retry that succeeds reads the history up
// to the first live sample, and the recommendation is the one of history
// and live samples together.
func TestBootstrapRetriesWithBackoff(t *testing.T) {
	ss := history([]string{"web-6d4f8-abcde"}, 2*24*time.Hour)
	cut := len(ss) - 10 // the last 10 minutes are live samples
	past, live := ss[:cut], ss[cut:]
	cpu, mem := seriesOf(ss)                         // Prometheus has everything, live minutes included
	q := &fakeRange{cpu: cpu, mem: mem, failures: 3} // attempt 1 fails, attempt 2 fails on CPU
	m := NewManager(testNS, rv.DefaultConfig(), nil)
	o := DefaultBootstrapOptions()
	pods := []*corev1.Pod{newPod("web-6d4f8-abcde", 100, 256<<20)}
	var attempts []int // pass (minute) of each attempt, from the queries made
	var errs []string
	for i, s := range live {
		before := len(q.calls)
		if err := m.Bootstrap(t.Context(), q, o, s.at, "Deployment/web", "web-.*"); err != nil {
			errs = append(errs, err.Error())
		}
		if len(q.calls) > before {
			attempts = append(attempts, i)
		}
		if err := m.Observe(s.at, "Deployment/web", pods, []metricsource.PodUsage{usage(s.pod, s.at, s.cpu, s.mem)}); err != nil {
			t.Fatal(err)
		}
	}
	if d := cmp.Diff([]int{0, 1, 3}, attempts); d != "" {
		t.Errorf("attempts at minutes (-want +got):\n%s", d)
	}
	if len(errs) != 2 || !strings.Contains(errs[0], "attempt 1, next in 1m0s") || !strings.Contains(errs[1], "attempt 2, next in 2m0s") {
		t.Errorf("errors %q, want attempts 1 and 2 naming their next retry", errs)
	}
	if last := q.calls[len(q.calls)-1]; !last.end.Equal(live[0].at) {
		t.Errorf("the successful attempt read up to %s, want the first live sample %s", last.end, live[0].at)
	}
	now := live[len(live)-1].at
	want, err := reference(t, append(past, live...)).Recommend(rv.Policy{}, now)
	if err != nil {
		t.Fatal(err)
	}
	got := mustRecommend(t, m, now, "Deployment/web")
	if got[0].History < 47*time.Hour || got[0].CPU.Target != want[0].CPU.Target {
		t.Errorf("after the retry: history %s, cpu target %d; want 2 days and %d (history + live)",
			got[0].History, got[0].CPU.Target, want[0].CPU.Target)
	}
}

func TestBootstrapBackoff(t *testing.T) {
	o := DefaultBootstrapOptions()
	var got []time.Duration
	for n := 1; n <= 8; n++ {
		got = append(got, o.backoff(n))
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute,
		32 * time.Minute, time.Hour, time.Hour}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("backoff (-want +got):\n%s", d)
	}
}

func TestBootstrapErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		q      *fakeRange
		o      BootstrapOptions
		wantIs error
		want   string
	}{
		{name: "no history", q: &fakeRange{err: fmt.Errorf("no series: %w", metricsource.ErrNoData)},
			o: DefaultBootstrapOptions(), wantIs: metricsource.ErrNoData, want: "CPU history"},
		{name: "series without pod label", q: &fakeRange{cpu: []metricsource.Series{{Labels: map[string]string{"container": "app"},
			Samples: []metricsource.Sample{{Time: t0, Value: 1}}}}}, o: DefaultBootstrapOptions(), wantIs: metricsource.ErrBadData},
		{name: "step longer than window", q: &fakeRange{}, o: BootstrapOptions{Window: time.Minute, Step: time.Hour}, want: "bootstrap step 1h0m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewManager(testNS, rv.DefaultConfig(), nil)
			err := m.Bootstrap(t.Context(), tc.q, tc.o, t0.Add(24*time.Hour), "Deployment/web", "web-.*")
			if err == nil || (tc.wantIs != nil && !errors.Is(err, tc.wantIs)) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Bootstrap() error = %v, want %v containing %q", err, tc.wantIs, tc.want)
			}
		})
	}
}

func TestHistoryPodRegex(t *testing.T) {
	for _, tc := range []struct {
		name, kind, target string
		pods               []string
		want               string
		wantErr            bool
	}{
		{name: "Deployment covers past ReplicaSets", kind: "Deployment", target: "web.v2", want: `web\.v2-[a-z0-9]{1,10}-[a-z0-9]{5}`},
		{name: "StatefulSet ordinals", kind: "StatefulSet", target: "db", want: `db-[0-9]+`},
		{name: "other kinds: current pods", kind: "Rollout", target: "x", pods: []string{"x-b", "x-a"}, want: `x-a|x-b`},
		{name: "other kinds without pods", kind: "Rollout", target: "x", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := HistoryPodRegex(tc.kind, tc.target, tc.pods)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("HistoryPodRegex() = %q, %v; want %q (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
