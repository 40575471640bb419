package vertical

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
	calls    []rangeCall
}

func (f *fakeRange) RangeQuery(_ context.Context, q string, start, end time.Time, step time.Duration) ([]metricsource.Series, error) {
	f.calls = append(f.calls, rangeCall{q, start, end, step})
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
