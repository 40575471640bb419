package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

func TestBreaker(t *testing.T) {
	fail := errors.New("connection reset")
	for _, tc := range []struct {
		name  string
		calls []error // results of the calls that go through, in order
		after time.Duration
		want  []string // per call: "called" or "open"
	}{
		{name: "closed: every call goes through", calls: []error{nil, fail, nil, fail, fail},
			want: []string{"called", "called", "called", "called", "called"}},
		{name: "opens after 3 failures in a row", calls: []error{fail, fail, fail},
			want: []string{"called", "called", "called", "open", "open"}},
		{name: "no data is an answer, not a failure", calls: []error{fail, fail, metricsource.ErrNoData, fail, fail},
			want: []string{"called", "called", "called", "called", "called"}},
		{name: "a cancelled caller says nothing about the source", calls: []error{context.Canceled, context.Canceled, context.Canceled, nil},
			want: []string{"called", "called", "called", "called"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBreaker("prometheus", DefaultBreakerOptions(), prometheus.NewGauge(prometheus.GaugeOpts{Name: "x"}))
				n := 0
				var got []string
				for range tc.want {
					ctx, cancel := context.WithCancel(t.Context())
					err := b.do(ctx, func(context.Context) error {
						r := tc.calls[n]
						n++
						if errors.Is(r, context.Canceled) {
							cancel()
						}
						return r
					})
					cancel()
					if errors.Is(err, errBreakerOpen) {
						got = append(got, "open")
					} else {
						got = append(got, "called")
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("calls = %v, want %v", got, tc.want)
				}
			})
		})
	}
}

func TestBreakerProbesAfterCooldown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "open"})
		b := newBreaker("prometheus", DefaultBreakerOptions(), g)
		fail := func(context.Context) error { return errors.New("timeout") }
		for range 3 {
			_ = b.do(t.Context(), fail)
		}
		if testutil.ToFloat64(g) != 1 {
			t.Fatal("breaker not open after 3 failures")
		}
		time.Sleep(29 * time.Second)
		if err := b.do(t.Context(), fail); !errors.Is(err, errBreakerOpen) {
			t.Fatalf("call inside the cooldown: %v, want the breaker open", err)
		}
		time.Sleep(2 * time.Second)
		if err := b.do(t.Context(), fail); errors.Is(err, errBreakerOpen) {
			t.Fatal("probe after the cooldown was not let through")
		}
		if err := b.do(t.Context(), func(context.Context) error { return nil }); !errors.Is(err, errBreakerOpen) {
			t.Fatalf("a failed probe re-opens for a cooldown: %v", err)
		}
		time.Sleep(31 * time.Second)
		if err := b.do(t.Context(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if testutil.ToFloat64(g) != 0 {
			t.Error("breaker still open after a successful probe")
		}
	})
}

// hangingProm is a Prometheus that accepts and never answers: it returns
// only when the caller gives up.
type hangingProm struct{}

func (hangingProm) PodValues(ctx context.Context, _ string, _ time.Time) (metricsource.PodValues, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (hangingProm) Scalar(ctx context.Context, _ string, _ time.Time) (float64, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestHangingPrometheusDelaysOnlyItsTargets: one target on CPU, one on a
// Prometheus that never answers. The CPU target scales in the first pass;
// the Prometheus target holds; each pass is bounded by the target deadline,
// and once the breaker opens the passes no longer wait for Prometheus, but
// for one probe per cooldown (30 s).
func TestHangingPrometheusDelaysOnlyItsTargets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, l := hangingQueueAndCPU(t)
		var took []time.Duration
		for range 6 {
			start := time.Now()
			rep, err := l.Pass(t.Context(), start)
			if err != nil {
				t.Fatal(err)
			}
			took = append(took, time.Since(start))
			if got := reasons(rep.Targets[0].Blocking); fmt.Sprint(got) != "[MissingMetricsHold]" {
				t.Errorf("queue target blocked by %v, want [MissingMetricsHold]", got)
			}
			time.Sleep(15 * time.Second)
		}
		if got := c.replicasOf("cpu"); got < 4 {
			t.Errorf("cpu target replicas = %d, want it scaled up (>= 4) while Prometheus hangs", got)
		}
		want := []time.Duration{10 * time.Second, 10 * time.Second, 10 * time.Second, 0, 10 * time.Second, 0}
		if fmt.Sprint(took) != fmt.Sprint(want) {
			t.Errorf("pass durations = %v, want %v (the target deadline until the breaker opens, then a probe per cooldown)", took, want)
		}
		if got := testutil.ToFloat64(l.m.breakerOpen.WithLabelValues("prometheus")); got != 1 {
			t.Errorf("ebb_source_breaker_open{source=prometheus} = %v, want 1", got)
		}
	})
}

// TestPassDeadline: with one worker and three targets on a Prometheus that
// never answers (a breaker that would not open yet), the read phase ends at
// its deadline (one sync period): the first target holds after its own
// deadline, the others are reported Interrupted, and Pass says why.
func TestPassDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		var targets []Target
		for i, name := range []string{"a", "b", "c"} {
			c.addWorkload(t, name, 2, 50, time.Now().Add(-time.Hour))
			q := cpuTarget(name, policy.ModeApply, nil)
			q.Spec.Metrics = []horizontal.MetricSpec{{Type: horizontal.ExternalMetric, Name: "depth",
				Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 10_000}}}
			q.Queries = map[string]string{"depth": fmt.Sprintf("sum(queue_depth{q=\"%d\"})", i)}
			targets = append(targets, q)
		}
		l, _ := c.newLoop(t, loopConfig{targets: targets, prom: hangingProm{}})
		l.o.Workers, l.o.Breaker.Failures = 1, 10
		start := time.Now()
		rep, err := l.Pass(t.Context(), start)
		if err == nil || !errors.Is(err, errPassDeadline) {
			t.Errorf("Pass() error = %v, want the pass deadline", err)
		}
		if took := time.Since(start); took != 15*time.Second {
			t.Errorf("pass took %v, want 15s (one sync period)", took)
		}
		var got []string
		for _, rt := range rep.Targets {
			got = append(got, fmt.Sprint(reasons(rt.Blocking)))
		}
		want := []string{"[MissingMetricsHold]", "[Interrupted]", "[Interrupted]"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("blocking per target = %v, want %v", got, want)
		}
	})
}

// TestReadDeadlineStillWrites: a sync period (2 s) shorter than the target
// deadline (10 s), as in a policy with a short syncPeriod: a Prometheus
// that never answers holds its target until the read phase's deadline, and
// the CPU target decided meanwhile is still checkpointed and scaled in the
// same pass; the pass ends within two sync periods and counts as completed
// (the watchdog sees progress), while Pass names the interruption.
func TestReadDeadlineStillWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, l := hangingQueueAndCPU(t)
		l.o.PassTimeout = 2 * time.Second
		l.progress.Store(1) // running passes, as Run does
		start := time.Now()
		rep, err := l.Pass(t.Context(), start)
		if err == nil || !errors.Is(err, errPassDeadline) {
			t.Errorf("Pass() error = %v, want the pass deadline named", err)
		}
		if took := time.Since(start); took > 4*time.Second {
			t.Errorf("pass took %v, want at most two pass timeouts (4s)", took)
		}
		if got := c.replicasOf("cpu"); got < 4 {
			t.Errorf("cpu target replicas = %d, want it scaled up (>= 4) in the pass the queue target's read hung", got)
		}
		if got := reasons(rep.Targets[0].Blocking); fmt.Sprint(got) != "[Interrupted]" {
			t.Errorf("queue target blocked by %v, want [Interrupted]", got)
		}
		if p := l.progress.Load(); p == 1 {
			t.Error("a pass that ended at its deadline did not count as progress (the watchdog would call it stalled)")
		}
	})
}

// hangingQueueAndCPU is a loop with two targets: queue on a Prometheus
// that never answers, cpu on CPU utilization (it wants to scale up).
func hangingQueueAndCPU(t *testing.T) (*cluster, *Loop) {
	c := newCluster(t)
	c.addWorkload(t, "cpu", 2, 100, time.Now().Add(-time.Hour))
	c.addWorkload(t, "queue", 2, 50, time.Now().Add(-time.Hour))
	q := cpuTarget("queue", policy.ModeApply, nil)
	q.Spec.Metrics = []horizontal.MetricSpec{{Type: horizontal.ExternalMetric, Name: "depth",
		Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 10_000}}}
	q.Queries = map[string]string{"depth": "sum(queue_depth)"}
	l, _ := c.newLoop(t, loopConfig{targets: []Target{q, cpuTarget("cpu", policy.ModeApply, nil)}, prom: hangingProm{}})
	return c, l
}
