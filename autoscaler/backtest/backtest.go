package backtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
	"github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// RangeQuerier runs a PromQL range query; *metricsource.Prometheus
// satisfies it (it splits a long range into chunks within Prometheus'
// points-per-series limit).
type RangeQuerier interface {
	RangeQuery(ctx context.Context, promQL string, start, end time.Time, step time.Duration) ([]metricsource.Series, error)
}

// Target is one workload to backtest, as the caller read it from the
// policy (or an HPA) and the cluster.
type Target struct {
	Namespace, Kind, Name string
	Spec                  horizontal.Spec
	Options               horizontal.Options
	SyncPeriod            time.Duration
	// Queries maps a Pods/Object/External metric name to its PromQL
	// template (policy targets).
	Queries map[string]string
	// Pods and Selector are the current pods and label selector (template
	// variables); PodPattern is a regular expression (unescaped) covering
	// the pods the workload had in the window.
	Pods       []string
	Selector   string
	PodPattern string
	// Containers are the current requests of the pod template.
	Containers []Request
	// Vertical is the vertical policy the loop would recommend with.
	Vertical vertical.Policy
	// Err is set when the caller could not prepare the target: it is
	// reported, not replayed.
	Err error
}

// Key is the target as "Kind/name".
func (t Target) Key() string { return t.Kind + "/" + t.Name }

// Variant changes a target's spec and controller options.
type Variant struct {
	Name  string
	Apply func(horizontal.Spec, horizontal.Options) (horizontal.Spec, horizontal.Options, error)
}

// Options are the settings of a backtest.
type Options struct {
	Grid Grid
	// RateWindow is the rate() window of the CPU usage query; at least the
	// grid's step (default the step).
	RateWindow time.Duration
	// RateCapacity is the rate one pod serves in a request-rate target
	// (under-provisioned above Ready pods x capacity); 0 takes the target's
	// averageValue.
	RateCapacity float64
	// World holds the world parameters besides the spec, options, trace and
	// request (startup delay, metric resolution, ...); zero means
	// simulate.DefaultWorld().
	World simulate.World
	// Concurrency is how many targets are backtested at once (default 4).
	Concurrency int
}

// Replay is one run of the world: the target's own spec ("policy") or a
// variant.
type Replay struct {
	Name   string          `json:"name"`
	Totals simulate.Totals `json:"totals"`
	Err    string          `json:"error,omitempty"`
}

// TargetResult is the backtest of one target.
type TargetResult struct {
	Target string `json:"target"`
	// Signal is the replayed metric: "cpu" or "Pods/<name>".
	Signal string `json:"signal,omitempty"`
	// RequestMillis is the pod CPU request the world uses; Capacity the
	// rate one pod serves (request-rate targets).
	RequestMillis int64       `json:"requestMillis,omitempty"`
	Capacity      float64     `json:"capacity,omitempty"`
	Actual        Actual      `json:"actual"`
	Replays       []Replay    `json:"replays,omitempty"`
	Containers    []Container `json:"containers,omitempty"`
	// Notes say what the reconstruction assumed (gaps filled, metrics not
	// replayed, where pods and requests came from).
	Notes []string `json:"notes,omitempty"`
	// Err is why the target could not be backtested.
	Err string `json:"error,omitempty"`
}

// Result is a whole backtest.
type Result struct {
	Start   time.Time      `json:"start"`
	End     time.Time      `json:"end"`
	Step    time.Duration  `json:"step"`
	Targets []TargetResult `json:"targets"`
	// Queries is how many distinct range queries ran.
	Queries int `json:"queries"`
}

// Failed lists the targets that could not be backtested.
func (r Result) Failed() []TargetResult {
	var out []TargetResult
	for _, t := range r.Targets {
		if t.Err != "" {
			out = append(out, t)
		}
	}
	return out
}

// Run backtests every target over the grid. Every distinct PromQL runs
// once (kube-state-metrics series are read once per namespace); a target
// whose demand cannot be reconstructed gets Err and the others go on.
func Run(ctx context.Context, q RangeQuerier, targets []Target, variants []Variant, o Options) (Result, error) {
	if o.Grid.N <= 0 || o.Grid.Step <= 0 {
		return Result{}, fmt.Errorf("grid: %d slots of %v: need at least one positive step", o.Grid.N, o.Grid.Step)
	}
	if o.RateWindow == 0 {
		o.RateWindow = o.Grid.Step
	}
	if o.RateWindow < o.Grid.Step {
		return Result{}, fmt.Errorf("rate window %v: must be at least the step %v", o.RateWindow, o.Grid.Step)
	}
	if o.World.SyncPeriod == 0 {
		o.World = simulate.DefaultWorld()
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	r := &runner{q: q, o: o, memo: map[string]*fetched{}}
	res := Result{Start: o.Grid.Start, End: o.Grid.End(), Step: o.Grid.Step, Targets: make([]TargetResult, len(targets))}
	sem := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			res.Targets[i] = r.target(ctx, t, variants)
		}()
	}
	wg.Wait()
	res.Queries = len(r.memo)
	return res, ctx.Err()
}

// runner holds one backtest's settings and its query memo.
type runner struct {
	q    RangeQuerier
	o    Options
	mu   sync.Mutex
	memo map[string]*fetched
}

// fetched is one range query's result, shared by every target asking it.
type fetched struct {
	done   chan struct{}
	series []metricsource.Series
	err    error
}

// fetch runs promQL over the grid once per backtest.
func (r *runner) fetch(ctx context.Context, promQL string) ([]metricsource.Series, error) {
	r.mu.Lock()
	f, ok := r.memo[promQL]
	if !ok {
		f = &fetched{done: make(chan struct{})}
		r.memo[promQL] = f
	}
	r.mu.Unlock()
	if !ok {
		start, end, step := r.o.Grid.QueryRange()
		f.series, f.err = r.q.RangeQuery(ctx, promQL, start, end, step)
		close(f.done)
	}
	select {
	case <-f.done:
		return f.series, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// optional runs a query whose absence is fine (kube-state-metrics): nil
// when it has no data or fails; a note says which.
func (r *runner) optional(ctx context.Context, promQL string, notes *[]string, what string) []metricsource.Series {
	s, err := r.fetch(ctx, promQL)
	if err != nil {
		if !errors.Is(err, metricsource.ErrNoData) {
			*notes = append(*notes, fmt.Sprintf("%s: not used (%v)", what, err))
		}
		return nil
	}
	return s
}

// signal is the metric a target's demand is reconstructed from.
type signal struct {
	name      string // "cpu" or "Pods/<metric>"
	metrics   []horizontal.MetricSpec
	container string // ContainerResource cpu: the container measured
	query     string // rate targets: the PromQL template
	rate      *horizontal.MetricSpec
}

// pickSignal chooses the replayed metric: the target's cpu metrics, else
// its first Pods metric with a query. The others are left out (noted).
func pickSignal(t Target) (signal, []string, error) {
	var cpu, pods []horizontal.MetricSpec
	var other []string
	for _, m := range t.Spec.Metrics {
		switch {
		case m.Name == "cpu" && (m.Type == horizontal.ResourceMetric || m.Type == horizontal.ContainerResourceMetric):
			cpu = append(cpu, m)
		case m.Type == horizontal.PodsMetric && t.Queries[m.Name] != "":
			pods = append(pods, m)
		default:
			other = append(other, m.String())
		}
	}
	var s signal
	switch {
	case len(cpu) > 0:
		s = signal{name: "cpu", metrics: cpu}
		for _, m := range cpu {
			if m.Type == horizontal.ContainerResourceMetric {
				if s.container != "" && s.container != m.Container {
					return signal{}, nil, fmt.Errorf("cpu metrics of two containers (%s, %s): the world has one", s.container, m.Container)
				}
				s.container = m.Container
			}
		}
		for _, m := range pods {
			other = append(other, m.String())
		}
	case len(pods) > 0:
		m := pods[0]
		s = signal{name: m.String(), metrics: pods[:1], query: t.Queries[m.Name], rate: &m}
		for _, m := range pods[1:] {
			other = append(other, m.String())
		}
	default:
		return signal{}, nil, fmt.Errorf("no metric to reconstruct the demand from: %s are neither cpu nor a Pods metric with a query",
			strings.Join(other, ", "))
	}
	var notes []string
	if len(other) > 0 {
		notes = append(notes, fmt.Sprintf("replayed on %s only; not replayed: %s", s.name, strings.Join(other, ", ")))
	}
	return s, notes, nil
}

// kubeStateMetrics are the kube-state-metrics series of a workload kind:
// existing pods, Ready pods, desired replicas.
var kubeStateMetrics = map[string][3]string{
	"Deployment":  {"kube_deployment_status_replicas", "kube_deployment_status_replicas_ready", "kube_deployment_spec_replicas"},
	"StatefulSet": {"kube_statefulset_status_replicas", "kube_statefulset_status_replicas_ready", "kube_statefulset_replicas"},
	"ReplicaSet":  {"kube_replicaset_status_replicas", "kube_replicaset_status_ready_replicas", "kube_replicaset_spec_replicas"},
}

// target backtests one target.
func (r *runner) target(ctx context.Context, t Target, variants []Variant) TargetResult {
	res := TargetResult{Target: t.Key()}
	if t.Err != nil {
		res.Err = t.Err.Error()
		return res
	}
	if err := r.backtest(ctx, t, variants, &res); err != nil {
		res.Err = err.Error()
	}
	return res
}

func (r *runner) backtest(ctx context.Context, t Target, variants []Variant, res *TargetResult) error {
	g := r.o.Grid
	sig, notes, err := pickSignal(t)
	res.Notes = append(res.Notes, notes...)
	if err != nil {
		return fmt.Errorf("cannot reconstruct the demand: %w", err)
	}
	res.Signal = sig.name
	regex, err := metricsource.QueryVars{PodPattern: t.PodPattern}.PodRegex()
	if err != nil || t.PodPattern == "" {
		return fmt.Errorf("no pod pattern for the target's pods")
	}
	cpuQuery := metricsource.CPUUsageQuery(t.Namespace, regex, r.o.RateWindow)
	cpuSeries, cpuErr := r.fetch(ctx, cpuQuery)

	// Demand, per pod.
	var demandPods map[string]Slots
	switch {
	case sig.rate != nil:
		q, err := metricsource.RenderQuery(sig.query, metricsource.QueryVars{Namespace: t.Namespace, Target: t.Name, Kind: t.Kind,
			Pods: t.Pods, Selector: t.Selector, PodPattern: t.PodPattern})
		if err != nil {
			return fmt.Errorf("cannot reconstruct the demand: %w", err)
		}
		s, err := r.fetch(ctx, q)
		if err != nil {
			return fmt.Errorf("cannot reconstruct the demand from %s: %w", sig.name, err)
		}
		demandPods = perPod(s, g)
	case cpuErr != nil:
		return fmt.Errorf("cannot reconstruct the demand from the pods' cpu usage: %w", cpuErr)
	default:
		s := cpuSeries
		if sig.container != "" {
			s = nil
			for _, x := range cpuSeries {
				if x.Labels["container"] == sig.container {
					s = append(s, x)
				}
			}
		}
		demandPods = perPod(s, g)
	}
	sum, podCount := total(demandPods, g.N)
	demand, gaps, err := fill(sum)
	if err != nil {
		return fmt.Errorf("cannot reconstruct the demand from %s: %w", sig.name, err)
	}
	if gaps > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("demand unknown in %d of %d steps (no sample): the last known value was kept", gaps, g.N))
	}

	// The pod request: the template's (the container's for a
	// ContainerResource metric), else kube-state-metrics'.
	var tmplMillis int64
	for _, c := range t.Containers {
		if sig.container == "" || c.Name == sig.container {
			tmplMillis += c.CPUMillis
		}
	}
	reqPods := perPod(r.optional(ctx, metricsource.PodCPURequestQuery(t.Namespace, regex), &res.Notes, "kube_pod_container_resource_requests"), g)
	reqSum, reqCount := total(reqPods, g.N)
	ksmRequest := newSlots(g.N)
	lastKSM := 0.0
	for k := range reqSum {
		if reqCount[k] > 0 && sig.container == "" {
			ksmRequest[k] = reqSum[k] / float64(reqCount[k])
			lastKSM = ksmRequest[k]
		}
	}
	res.RequestMillis = tmplMillis
	res.Actual.RequestFrom = "template"
	if tmplMillis == 0 {
		res.RequestMillis = int64(math.Round(lastKSM * 1000))
		res.Actual.RequestFrom = "kube-state-metrics"
	}
	if res.RequestMillis <= 0 {
		return fmt.Errorf("no cpu request: neither the pod template nor kube_pod_container_resource_requests has one")
	}
	request := constant(g.N, float64(res.RequestMillis)/1000)
	if ksmRequest.known() > 0 {
		request = orElse(ksmRequest, request)
		res.Actual.RequestFrom = "kube-state-metrics"
	}

	// Capacity per pod.
	capacity := request
	if sig.rate != nil {
		res.Capacity = r.o.RateCapacity
		if res.Capacity == 0 {
			res.Capacity = float64(sig.rate.Target.AverageValue) / 1000
		}
		if !(res.Capacity > 0) {
			return fmt.Errorf("no capacity per pod for %s: its target is not an averageValue; give one", sig.name)
		}
		capacity = constant(g.N, res.Capacity)
	}

	// What happened: pods, Ready pods, desired replicas.
	pods := counts(podCount)
	if sig.rate != nil && cpuErr == nil {
		_, cpuPods := total(perPod(cpuSeries, g), g.N)
		pods = counts(cpuPods)
	}
	seen := [3]Slots{pods, pods, pods} // pods, Ready pods, desired replicas
	from := [3]string{"pod series", "pod series", "pod series"}
	if ms, ok := kubeStateMetrics[t.Kind]; ok {
		label := strings.ToLower(t.Kind)
		for i, metric := range ms {
			s := r.optional(ctx, metricsource.WorkloadReplicasQuery(metric, t.Namespace), &res.Notes, metric)
			if v, ok := byLabel(s, g, label)[t.Name]; ok && v.known() > 0 {
				seen[i], from[i] = orElse(v, seen[i]), "kube-state-metrics"
			}
		}
	}
	requestFrom := res.Actual.RequestFrom
	res.Actual = actual(actualInput{demand: demand, pods: seen[0], ready: seen[1], desired: seen[2],
		request: request, capacity: capacity, step: g.Step})
	res.Actual.PodsFrom, res.Actual.ReadyFrom, res.Actual.ReplicasFrom = from[0], from[1], from[2]
	res.Actual.RequestFrom = requestFrom

	// Replays.
	w := r.o.World
	w.Spec, w.Options, w.Request = t.Spec, t.Options, res.RequestMillis
	w.Spec.Metrics = sig.metrics
	if sig.container != "" {
		w.Spec.Metrics = renameContainer(sig.metrics)
	}
	if t.SyncPeriod > 0 {
		w.SyncPeriod = t.SyncPeriod
	}
	w.Trace, w.Duration = trace(demand, g.Step), time.Duration(g.N)*g.Step
	if sig.rate != nil {
		w.Rate = &simulate.Rate{Metric: sig.rate.Name, Capacity: res.Capacity}
	}
	res.Replays = append(res.Replays, replay("policy", w))
	for _, v := range variants {
		spec, opt, err := v.Apply(t.Spec, t.Options)
		if err != nil {
			res.Replays = append(res.Replays, Replay{Name: v.Name, Err: err.Error()})
			continue
		}
		vw := w
		vw.Spec, vw.Options = spec, opt
		vw.Spec.Metrics = w.Spec.Metrics
		if len(spec.Metrics) > 0 {
			vs, _, err := pickSignal(Target{Spec: spec, Queries: t.Queries})
			if err != nil || vs.name != sig.name {
				res.Replays = append(res.Replays, Replay{Name: v.Name, Err: fmt.Sprintf("variant replays %s, the target %s", vs.name, sig.name)})
				continue
			}
			vw.Spec.Metrics = vs.metrics
			if vs.container != "" {
				vw.Spec.Metrics = renameContainer(vs.metrics)
			}
		}
		res.Replays = append(res.Replays, replay(v.Name, vw))
	}

	// Vertical.
	if cpuErr != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("vertical: no cpu history (%v)", cpuErr))
		return nil
	}
	memSeries := r.optional(ctx, metricsource.MemoryWorkingSetQuery(t.Namespace, regex), &res.Notes, "container_memory_working_set_bytes")
	cs, err := verticalBacktest(containerSeries(cpuSeries, g), containerSeries(memSeries, g), t.Containers, t.Vertical, g)
	if err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("vertical: %v", err))
		return nil
	}
	res.Containers = cs
	return nil
}

// renameContainer points ContainerResource metrics at the world's only
// container.
func renameContainer(ms []horizontal.MetricSpec) []horizontal.MetricSpec {
	out := make([]horizontal.MetricSpec, len(ms))
	for i, m := range ms {
		if m.Type == horizontal.ContainerResourceMetric {
			m.Container = simulate.ContainerName
		}
		out[i] = m
	}
	return out
}

func replay(name string, w simulate.World) Replay {
	res, err := simulate.Run(w)
	if err != nil {
		return Replay{Name: name, Err: err.Error()}
	}
	return Replay{Name: name, Totals: res.Totals}
}
