package backtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
	"github.com/google/go-cmp/cmp"
)

// fakeProm answers range queries from a store of series by metric name,
// keeping the pods the query's pod=~"..." matches, and counts the calls.
type fakeProm struct {
	g     Grid
	store map[string][]metricsource.Series // metric name -> series
	mu    sync.Mutex
	calls map[string]int
	t     *testing.T
}

var podRe = regexp.MustCompile(`pod=~"((?:[^"\\]|\\.)*)"`)

func (f *fakeProm) RangeQuery(_ context.Context, q string, start, end time.Time, step time.Duration) ([]metricsource.Series, error) {
	f.mu.Lock()
	f.calls[q]++
	f.mu.Unlock()
	if ws, we, wst := f.g.QueryRange(); !start.Equal(ws) || !end.Equal(we) || step != wst {
		f.t.Errorf("query %s over %v..%v step %v, want the grid's %v..%v step %v", q, start, end, step, ws, we, wst)
	}
	var keep *regexp.Regexp
	if m := podRe.FindStringSubmatch(q); m != nil {
		unq := strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(m[1])
		keep = regexp.MustCompile("^(?:" + unq + ")$")
	}
	for name, ss := range f.store {
		if !strings.Contains(q, name+"{") {
			continue
		}
		var out []metricsource.Series
		for _, s := range ss {
			if keep == nil || keep.MatchString(s.Labels["pod"]) {
				out = append(out, s)
			}
		}
		if len(out) == 0 {
			break
		}
		return out, nil
	}
	return nil, fmt.Errorf("no series with samples: %w", metricsource.ErrNoData)
}

// history makes the CPU history of a Deployment whose pods share demand
// (one value per slot) evenly: pods[k] pods in slot k, named after the
// Deployment's ReplicaSet.
func history(name string, g Grid, demand []float64, pods []int) []metricsource.Series {
	var out []metricsource.Series
	maxPods := 0
	for _, p := range pods {
		maxPods = max(maxPods, p)
	}
	for i := range maxPods {
		vals := make([]float64, g.N)
		for k := range vals {
			vals[k] = nan
			if i < pods[k] {
				vals[k] = demand[k] / float64(pods[k])
			}
		}
		labels := map[string]string{"namespace": "prod", "pod": fmt.Sprintf("%s-5d8f9c7b6-p%04d", name, i), "container": "app"}
		out = append(out, series(labels, g, vals...))
	}
	return out
}

func deploymentTarget(name string, spec horizontal.Spec) Target {
	return Target{Namespace: "prod", Kind: "Deployment", Name: name, Spec: spec, Options: horizontal.DefaultOptions(),
		SyncPeriod: 15 * time.Second, PodPattern: name + `-[a-z0-9]{1,10}-[a-z0-9]{5}`,
		Containers: []Request{{Name: "app", CPUMillis: 500, MemoryBytes: 256 << 20}}}
}

func cpuSpec(min, max, util int32) horizontal.Spec {
	return horizontal.Spec{MinReplicas: min, MaxReplicas: max, Metrics: []horizontal.MetricSpec{{
		Type: horizontal.ResourceMetric, Name: "cpu", Target: horizontal.Target{Type: horizontal.UtilizationTarget, Utilization: util}}}}
}

// diurnal is n slots of a sine between 0.5 and 4.5 cores.
func diurnal(n int) []float64 {
	out := make([]float64, n)
	for k := range out {
		out[k] = math.Round((2.5+2*math.Sin(2*math.Pi*float64(k)/float64(n)))*1000) / 1000
	}
	return out
}

// TestRunReplaysTheHistory: the policy's replay of the reconstructed demand
// is the world run on that demand; the actual run comes from
// kube-state-metrics; every distinct query runs once (kube-state-metrics
// once for the namespace); a target whose metric cannot be reconstructed
// fails alone.
func TestRunReplaysTheHistory(t *testing.T) {
	g := Grid{Start: t0, Step: time.Minute, N: 180}
	web, api := diurnal(g.N), make([]float64, g.N)
	webPods, apiPods := make([]int, g.N), make([]int, g.N)
	for k := range g.N {
		api[k] = 1.2
		webPods[k], apiPods[k] = 3+k%4, 2
	}
	ksm := func(vals func(k int) float64, names ...string) []metricsource.Series {
		var out []metricsource.Series
		for _, n := range names {
			v := make([]float64, g.N)
			for k := range v {
				v[k] = vals(k)
			}
			out = append(out, series(map[string]string{"namespace": "prod", "deployment": n}, g, v...))
		}
		return out
	}
	f := &fakeProm{g: g, t: t, calls: map[string]int{}, store: map[string][]metricsource.Series{
		"container_cpu_usage_seconds_total":     append(history("web", g, web, webPods), history("api", g, api, apiPods)...),
		"kube_deployment_status_replicas":       ksm(func(k int) float64 { return float64(4 + k%2) }, "web", "api"),
		"kube_deployment_status_replicas_ready": ksm(func(int) float64 { return 4 }, "web", "api"),
		"kube_deployment_spec_replicas":         ksm(func(k int) float64 { return float64(4 + k/60) }, "web", "api"),
	}}
	external := deploymentTarget("queue", horizontal.Spec{MinReplicas: 1, MaxReplicas: 5, Metrics: []horizontal.MetricSpec{{
		Type: horizontal.ExternalMetric, Name: "depth", Target: horizontal.Target{Type: horizontal.ValueTarget, Value: 5000}}}})
	targets := []Target{deploymentTarget("web", cpuSpec(2, 20, 60)), deploymentTarget("api", cpuSpec(2, 20, 60)), external,
		deploymentTarget("gone", cpuSpec(1, 3, 50))}
	fast := Variant{Name: "fast-down", Apply: func(s horizontal.Spec, o horizontal.Options) (horizontal.Spec, horizontal.Options, error) {
		o.DownscaleStabilization = time.Minute
		return s, o, nil
	}}
	res, err := Run(context.Background(), f, targets, []Variant{fast}, Options{Grid: g})
	if err != nil {
		t.Fatal(err)
	}
	for q, n := range f.calls {
		if n != 1 {
			t.Errorf("query run %d times: %s", n, q)
		}
	}
	// cpu, requests and memory of web and api, cpu of gone (it stops
	// there), and the 3 kube-state-metrics queries of the namespace.
	if res.Queries != len(f.calls) || len(f.calls) != 10 {
		t.Errorf("%d distinct queries (%d reported), want 10", len(f.calls), res.Queries)
	}

	w := simulate.DefaultWorld()
	w.Spec, w.Request, w.Duration = cpuSpec(2, 20, 60), 500, 3*time.Hour
	for k, v := range web {
		w.Trace = append(w.Trace, simulate.Point{T: time.Duration(k) * time.Minute, Demand: v})
	}
	want, err := simulate.Run(w)
	if err != nil {
		t.Fatal(err)
	}
	got := res.Targets[0]
	if got.Err != "" || len(got.Replays) != 2 {
		t.Fatalf("web: %+v", got)
	}
	if diff := cmp.Diff(want.Totals, got.Replays[0].Totals); diff != "" {
		t.Errorf("web's policy replay differs from the world on its demand (-world +backtest):\n%s", diff)
	}
	if got.Replays[1].Name != "fast-down" || got.Replays[1].Totals.CoreSeconds >= got.Replays[0].Totals.CoreSeconds {
		t.Errorf("fast-down variant %+v: want fewer core-seconds than the policy's %v", got.Replays[1], got.Replays[0].Totals.CoreSeconds)
	}
	// Actual, from kube-state-metrics: 4 or 5 pods (4.5 on average) of
	// 500m, desired 4 -> 5 -> 6 (2 scale-ups).
	a := got.Actual
	if a.PodsFrom != "kube-state-metrics" || a.ReplicasFrom != "kube-state-metrics" || a.RequestFrom != "template" ||
		a.CoreSeconds != 4.5*0.5*3*3600 || a.ScaleUps != 2 || a.ScaleDowns != 0 || a.MaxReplicas != 5 {
		t.Errorf("web actual %+v", a)
	}
	// Under-provisioned when demand > 4 Ready pods x 0.5 = 2 cores.
	var under float64
	for _, d := range web {
		if d > 2 {
			under += 60
		}
	}
	if a.UnderProvisionedSeconds != under {
		t.Errorf("web actual under-provisioned %vs, want %vs", a.UnderProvisionedSeconds, under)
	}
	if e := res.Targets[2].Err; !strings.Contains(e, "cannot reconstruct the demand") || !strings.Contains(e, "External/depth") {
		t.Errorf("queue: error %q, want it to say the External metric cannot be reconstructed", e)
	}
	if e := res.Targets[3].Err; !strings.Contains(e, "cannot reconstruct the demand from the pods' cpu usage") {
		t.Errorf("gone: error %q", e)
	}
	if len(res.Failed()) != 2 || res.Targets[1].Err != "" {
		t.Errorf("failed %d targets, api error %q; want queue and gone only", len(res.Failed()), res.Targets[1].Err)
	}
	// Vertical: api uses 0.6 cores per pod against 500m.
	if cs := res.Targets[1].Containers; len(cs) != 1 || cs[0].RecommendedCPUMillis < 600 || cs[0].CPUExceededMinutes != 0 ||
		cs[0].SlackCoreHours != 0 || cs[0].RecommendedMemoryBytes != 0 {
		t.Errorf("api containers %+v: want a recommendation above 600m, never exceeded, no slack under the 500m request, no memory recommendation without memory history", cs)
	}
}

// TestRunRateTarget: a Pods metric with a policy query is reconstructed
// from that query (rendered over the pods of the window) and replayed as a
// request-rate world, at the target's averageValue as the capacity.
func TestRunRateTarget(t *testing.T) {
	g := Grid{Start: t0, Step: time.Minute, N: 60}
	rps := make([]float64, g.N)
	pods := make([]int, g.N)
	for k := range rps {
		rps[k], pods[k] = 100, 2
		if k >= 30 {
			rps[k] = 300
		}
	}
	f := &fakeProm{g: g, t: t, calls: map[string]int{}, store: map[string][]metricsource.Series{
		"http_requests_total":               history("web", g, rps, pods),
		"container_cpu_usage_seconds_total": history("web", g, make([]float64, g.N), pods),
	}}
	tg := deploymentTarget("web", horizontal.Spec{MinReplicas: 2, MaxReplicas: 20, Metrics: []horizontal.MetricSpec{{
		Type: horizontal.PodsMetric, Name: "rps", Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 50_000}}}})
	tg.Queries = map[string]string{"rps": `sum by (pod) (rate(http_requests_total{namespace="{{.Namespace}}",pod=~"{{.PodRegex}}"}[1m]))`}
	res, err := Run(context.Background(), f, []Target{tg}, nil, Options{Grid: g})
	if err != nil {
		t.Fatal(err)
	}
	got := res.Targets[0]
	if got.Err != "" || got.Signal != "Pods/rps" || got.Capacity != 50 {
		t.Fatalf("result %+v", got)
	}
	if _, ok := f.calls[`sum by (pod) (rate(http_requests_total{namespace="prod",pod=~"web-[a-z0-9]{1,10}-[a-z0-9]{5}"}[1m]))`]; !ok {
		t.Errorf("the policy's query was not rendered over the window's pods: %v", f.calls)
	}
	w := simulate.DefaultWorld()
	w.Spec, w.Request, w.Duration = tg.Spec, 500, time.Hour
	w.Rate = &simulate.Rate{Metric: "rps", Capacity: 50}
	w.Trace = []simulate.Point{{T: 0, Demand: 100}, {T: 30 * time.Minute, Demand: 300}}
	want, err := simulate.Run(w)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Totals, got.Replays[0].Totals); diff != "" {
		t.Errorf("replay (-world +backtest):\n%s", diff)
	}
	// Actual: 2 pods serving 50/s each hold 100/s, not 300/s.
	if got.Actual.UnderProvisionedSeconds != 30*60 {
		t.Errorf("actual under-provisioned %vs, want 1800", got.Actual.UnderProvisionedSeconds)
	}
}

func TestRenderFormats(t *testing.T) {
	r := Result{Start: t0, End: t0.Add(time.Hour), Step: time.Minute, Queries: 3, Targets: []TargetResult{
		{Target: "Deployment/web", Signal: "cpu", Actual: Actual{CoreSeconds: 7200, DemandCoreSeconds: 3600, UnderProvisionedSeconds: 120, ScaleEvents: 2, MaxReplicas: 3},
			Replays: []Replay{{Name: "policy", Totals: simulate.Totals{CoreSeconds: 5400, DemandOverRequested: 0.667, UnderProvisionedSeconds: 30, ScaleEvents: 4, MaxPods: 4}}},
			Containers: []Container{{Name: "app", CurrentCPUMillis: 500, RecommendedCPUMillis: 350, CurrentMemoryBytes: 256 << 20,
				RecommendedMemoryBytes: 300 << 20, SlackCoreHours: 1.5, SlackGiBHours: 0.25, CPUExceededMinutes: 3}},
			Notes: []string{"demand unknown in 2 of 60 steps"}},
		{Target: "Deployment/queue", Err: "cannot reconstruct the demand: External/depth | x"},
	}}
	for _, tc := range []struct {
		f    report.Format
		want []string
	}{
		{FormatTable, []string{"Deployment/web  actual  2.0", "policy  1.5", "0.67", "2.0", "+44Mi", "-150m", "Deployment/queue  cannot reconstruct", "Notes"}},
		{FormatMarkdown, []string{"| Deployment/web | actual | 2.0 | 0.50 | 2.0 | 2 | 3 |", `External/depth \| x`, "- Deployment/web: demand unknown"}},
		{FormatCSV, []string{"TARGET,RUN,CORE-HOURS", "Deployment/web,policy,1.5,0.67,0.5,4,4", "\n\nTARGET,CONTAINER", "Deployment/web,app,500m,350m,-150m,256Mi,300Mi,+44Mi,1.50,0.25,3,0"}},
		{FormatHTML, []string{"<td>Deployment/web</td><td>actual</td>", "External/depth | x", "<li>Deployment/web: demand unknown"}},
		{FormatJSON, []string{`"target": "Deployment/web"`, `"coreSeconds": 5400`, `"error": "cannot reconstruct`}},
	} {
		var b bytes.Buffer
		if err := Render(&b, tc.f, r); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s lacks %q:\n%s", tc.f, w, b.String())
			}
		}
	}
	var back Result
	var b bytes.Buffer
	_ = Render(&b, FormatJSON, r)
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Targets[0].Replays[0].Totals.CoreSeconds != 5400 {
		t.Errorf("JSON does not round-trip: %v", err)
	}
}
