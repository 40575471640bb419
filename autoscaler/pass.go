package autoscaler

import (
	"context"
	"fmt"
	"sync"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// pass holds what one pass reads once and shares between its targets (and
// its workers): the namespace's pods (one informer list, indexed), its
// metrics-server usage (one list), PromQL results by query and metrics-API
// answers by request (each distinct one once), and the HPAs' targets. Concurrent callers of the same read
// wait for the first one's result.
type pass struct {
	now  time.Time
	cfg  Config
	loop *Loop

	usage      memo[string, usageRead]
	podValues  memo[string, metricsource.PodValues]
	scalars    memo[string, float64]
	apiValues  memo[metricsource.MetricRequest, []metricsource.MetricValue]
	hpaTargets memo[string, map[string]*autoscalingv2.HorizontalPodAutoscaler]
	pods       memo[string, *podIndex]
}

// usageRead is the namespace's metrics-server usage: indexed by pod, and
// the pods whose sample was refused (name -> why).
type usageRead struct {
	index    metricsource.UsageIndex
	excluded map[string]string
}

// memo runs each keyed fetch once per pass; callers of a fetch in flight
// wait for it (or for their own ctx).
type memo[K comparable, T any] struct {
	mu    sync.Mutex
	calls map[K]*call[T]
}

type call[T any] struct {
	done chan struct{}
	v    T
	err  error
}

func (m *memo[K, T]) do(ctx context.Context, key K, fetch func() (T, error)) (T, error) {
	m.mu.Lock()
	if m.calls == nil {
		m.calls = map[K]*call[T]{}
	}
	c, ok := m.calls[key]
	if !ok {
		c = &call[T]{done: make(chan struct{})}
		m.calls[key] = c
	}
	m.mu.Unlock()
	if !ok {
		c.v, c.err = fetch()
		close(c.done)
		return c.v, c.err
	}
	select {
	case <-c.done:
		return c.v, c.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// peek returns the result of key's fetch if it completed without error.
func (m *memo[K, T]) peek(key K) (T, bool) {
	m.mu.Lock()
	c, ok := m.calls[key]
	m.mu.Unlock()
	var zero T
	if !ok {
		return zero, false
	}
	select {
	case <-c.done:
		return c.v, c.err == nil
	default:
		return zero, false
	}
}

func newPass(l *Loop, cfg Config, now time.Time) *pass {
	return &pass{now: now, cfg: cfg, loop: l}
}

// podsFor returns the pods of the namespace that sel selects, listing the
// informer cache on first use in the pass.
func (p *pass) podsFor(ctx context.Context, sel labels.Selector) ([]*corev1.Pod, error) {
	ix, err := p.pods.do(ctx, "", func() (*podIndex, error) {
		all, err := p.loop.o.Pods.Pods(p.loop.o.Namespace).List(labels.Everything())
		if err != nil {
			return nil, fmt.Errorf("list pods in namespace %s: %w", p.loop.o.Namespace, err)
		}
		return newPodIndex(all), nil
	})
	if err != nil {
		return nil, err
	}
	return ix.matching(sel), nil
}

// podUsage lists the namespace's pod usage on first use (through the
// metrics-server breaker) and returns the same result to every later
// caller of this pass.
func (p *pass) podUsage(ctx context.Context) (metricsource.UsageIndex, error) {
	u, err := p.readUsage(ctx)
	return u.index, err
}

func (p *pass) readUsage(ctx context.Context) (usageRead, error) {
	return p.usage.do(ctx, "", func() (usageRead, error) {
		src := p.loop.o.Usage
		if src == nil {
			return usageRead{}, fmt.Errorf("metrics-server: %w", errNoSource)
		}
		var list []metricsource.PodUsage
		err := p.loop.breakers.metricsServer.do(ctx, func(ctx context.Context) (err error) {
			list, err = src.PodUsage(ctx, p.loop.o.Namespace, labels.Everything())
			return err
		})
		if err != nil {
			return usageRead{}, fmt.Errorf("list pod usage in namespace %s: %w", p.loop.o.Namespace, err)
		}
		return usageRead{index: metricsource.IndexPodUsage(list), excluded: metricsource.ExcludedPods(list)}, nil
	})
}

// excludedNotes names the pods among pods whose metrics-server sample this
// pass refused (they count as missing); nothing when usage was not read.
func (p *pass) excludedNotes(pods []*corev1.Pod) []report.Condition {
	u, ok := p.usage.peek("")
	if !ok {
		return nil
	}
	var out []report.Condition
	for _, pod := range pods {
		if why, ok := u.excluded[pod.Name]; ok {
			out = append(out, report.Condition{Reason: "PodMetricsExcluded",
				Message: fmt.Sprintf("pod %s: %s; counted as missing", pod.Name, why)})
		}
	}
	return out
}

func (p *pass) queryPodValues(ctx context.Context, q string) (metricsource.PodValues, error) {
	return p.podValues.do(ctx, q, func() (v metricsource.PodValues, err error) {
		if p.cfg.PodValues == nil {
			return nil, fmt.Errorf("prometheus: %w", errNoSource)
		}
		err = p.loop.breakers.prometheus.do(ctx, func(ctx context.Context) (err error) {
			v, err = p.cfg.PodValues.PodValues(ctx, q, p.now)
			return err
		})
		return v, err
	})
}

func (p *pass) queryScalar(ctx context.Context, q string) (float64, error) {
	return p.scalars.do(ctx, q, func() (v float64, err error) {
		if p.cfg.Scalars == nil {
			return 0, fmt.Errorf("prometheus: %w", errNoSource)
		}
		err = p.loop.breakers.prometheus.do(ctx, func(ctx context.Context) (err error) {
			v, err = p.cfg.Scalars.Scalar(ctx, q, p.now)
			return err
		})
		return v, err
	})
}

// hpaConflict returns the name of an HPA of the namespace that targets t,
// or "". The HPA list is read once per pass.
func (p *pass) hpaConflict(ctx context.Context, t Target, gk schema.GroupKind) (string, error) {
	h, err := p.hpaFor(ctx, t, gk)
	if h == nil || err != nil {
		return "", err
	}
	return h.Name, nil
}

// hpaFor returns an HPA of the namespace that targets t (the one a shadow
// shadows), or nil. The HPA list is read once per pass.
func (p *pass) hpaFor(ctx context.Context, t Target, gk schema.GroupKind) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	if p.loop.o.HPAs == nil {
		return nil, nil
	}
	targets, err := p.hpaTargets.do(ctx, "", func() (map[string]*autoscalingv2.HorizontalPodAutoscaler, error) {
		hpas, err := p.loop.o.HPAs.HorizontalPodAutoscalers(p.loop.o.Namespace).List(labels.Everything())
		if err != nil {
			return nil, fmt.Errorf("list horizontalpodautoscalers: %w", err)
		}
		out := make(map[string]*autoscalingv2.HorizontalPodAutoscaler, len(hpas))
		for _, h := range hpas {
			ref := h.Spec.ScaleTargetRef
			gv, err := schema.ParseGroupVersion(ref.APIVersion)
			if err != nil {
				continue // the API server rejects such HPAs; nothing to match
			}
			out[gv.Group+"/"+ref.Kind+"/"+ref.Name] = h
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	if t.ShadowOf != "" { // its own HPA, even when another one targets the same workload
		if h, err := p.loop.o.HPAs.HorizontalPodAutoscalers(p.loop.o.Namespace).Get(t.ShadowOf); err == nil {
			return h, nil
		}
	}
	return targets[gk.Group+"/"+gk.Kind+"/"+t.Ref.Name], nil
}

// hpaStatus is the status of the HPA that targets t, nil when none (or
// when the HPAs cannot be read: the gate reports that).
func (p *pass) hpaStatus(ctx context.Context, t Target) *report.HPA {
	gk, _, err := t.GroupKind()
	if err != nil {
		return nil
	}
	h, err := p.hpaFor(ctx, t, gk)
	if err != nil || h == nil {
		return nil
	}
	return hpaStatus(h)
}

// observeMetrics fetches every metric of t for the pods in pods.
func (p *pass) observeMetrics(ctx context.Context, t Target, vars metricsource.QueryVars, pods []horizontal.Pod) []horizontal.MetricValues {
	out := make([]horizontal.MetricValues, len(t.Spec.Metrics))
	for i, ms := range t.Spec.Metrics {
		if r, ok := apiRequest(t, i, vars.Selector); ok {
			out[i] = p.observeAPIMetric(ctx, r, pods)
			continue
		}
		out[i] = p.observeMetric(ctx, t, ms, vars, pods)
	}
	return out
}

// query renders the PromQL template of metric ms for t.
func query(t Target, ms horizontal.MetricSpec, vars metricsource.QueryVars) (string, error) {
	tmpl, ok := t.Queries[ms.Name]
	if !ok {
		return "", fmt.Errorf("metric %s: no query in the policy's queries", ms)
	}
	q, err := metricsource.RenderQuery(tmpl, vars)
	if err != nil {
		return "", fmt.Errorf("metric %s: %w", ms, err)
	}
	return q, nil
}

func (p *pass) observeMetric(ctx context.Context, t Target, ms horizontal.MetricSpec, vars metricsource.QueryVars, pods []horizontal.Pod) horizontal.MetricValues {
	var mv horizontal.MetricValues
	switch ms.Type {
	case horizontal.ResourceMetric, horizontal.ContainerResourceMetric:
		usage, err := p.podUsage(ctx)
		if err == nil {
			mv.PodValues, err = resourceSamples(usage, pods, ms.Name, ms.Container)
		}
		mv.Err = err
	case horizontal.PodsMetric:
		q, err := query(t, ms, vars)
		if err != nil {
			mv.Err = err
			break
		}
		v, err := p.queryPodValues(ctx, q)
		if err == nil {
			mv.PodValues, err = podValueSamples(v, pods, p.now)
		}
		mv.Err = wrapQuery(q, err)
	case horizontal.ObjectMetric, horizontal.ExternalMetric:
		q, err := query(t, ms, vars)
		if err != nil {
			mv.Err = err
			break
		}
		f, err := p.queryScalar(ctx, q)
		if err == nil {
			mv.Value, err = toMilli(f)
		}
		mv.Err = wrapQuery(q, err)
	default:
		mv.Err = fmt.Errorf("metric %s: unknown type %q", ms, ms.Type)
	}
	return mv
}

func wrapQuery(q string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("query %q: %w", q, err)
}
