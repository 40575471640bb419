package autoscaler

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// pass holds what one pass reads once and shares between its targets: the
// namespace's metrics-server usage (one list), PromQL results by query and
// metrics-API answers by request (each distinct one once), and the HPAs'
// targets.
type pass struct {
	now  time.Time
	cfg  Config
	loop *Loop

	usage     metricsource.UsageIndex
	excluded  map[string]string // pod name -> why metrics-server's sample was refused
	usageErr  error
	usageRead bool
	podValues map[string]queryResult[metricsource.PodValues]
	scalars   map[string]queryResult[float64]
	apiValues map[metricsource.MetricRequest]queryResult[[]metricsource.MetricValue]
	// hpaTargets maps "<group>/<Kind>/<name>" to the name of an HPA that
	// targets it.
	hpaTargets map[string]string
	pods       *podIndex
}

// queryResult is one PromQL result of this pass, kept with its error so a
// failed query is not retried within the pass.
type queryResult[T any] struct {
	v   T
	err error
}

// once returns cache[q] when q already ran in this pass, else runs fetch
// and keeps its result.
func once[K comparable, T any](cache map[K]queryResult[T], q K, fetch func() (T, error)) (T, error) {
	if r, ok := cache[q]; ok {
		return r.v, r.err
	}
	var r queryResult[T]
	r.v, r.err = fetch()
	cache[q] = r
	return r.v, r.err
}

func newPass(l *Loop, cfg Config, now time.Time) *pass {
	return &pass{
		now:       now,
		cfg:       cfg,
		loop:      l,
		podValues: map[string]queryResult[metricsource.PodValues]{},
		scalars:   map[string]queryResult[float64]{},
	}
}

// podUsage lists the namespace's pod usage on first use and returns the
// same result to every later caller of this pass.
func (p *pass) podUsage(ctx context.Context) (metricsource.UsageIndex, error) {
	if p.usageRead {
		return p.usage, p.usageErr
	}
	p.usageRead = true
	src := p.loop.o.Usage
	if src == nil {
		p.usageErr = fmt.Errorf("metrics-server: %w", errNoSource)
		return nil, p.usageErr
	}
	list, err := src.PodUsage(ctx, p.loop.o.Namespace, labels.Everything())
	if err != nil {
		p.usageErr = fmt.Errorf("list pod usage in namespace %s: %w", p.loop.o.Namespace, err)
		return nil, p.usageErr
	}
	p.usage = metricsource.IndexPodUsage(list)
	p.excluded = metricsource.ExcludedPods(list)
	return p.usage, nil
}

func (p *pass) queryPodValues(ctx context.Context, q string) (metricsource.PodValues, error) {
	return once(p.podValues, q, func() (metricsource.PodValues, error) {
		if p.loop.o.PodValues == nil {
			return nil, fmt.Errorf("prometheus: %w", errNoSource)
		}
		return p.loop.o.PodValues.PodValues(ctx, q, p.now)
	})
}

func (p *pass) queryScalar(ctx context.Context, q string) (float64, error) {
	return once(p.scalars, q, func() (float64, error) {
		if p.loop.o.Scalars == nil {
			return 0, fmt.Errorf("prometheus: %w", errNoSource)
		}
		return p.loop.o.Scalars.Scalar(ctx, q, p.now)
	})
}

// excludedNotes names the pods among pods whose metrics-server sample this
// pass refused (they count as missing); nothing when usage was not read.
func (p *pass) excludedNotes(pods []*corev1.Pod) []report.Condition {
	var out []report.Condition
	for _, pod := range pods {
		if why, ok := p.excluded[pod.Name]; ok {
			out = append(out, report.Condition{Reason: "PodMetricsExcluded",
				Message: fmt.Sprintf("pod %s: %s; counted as missing", pod.Name, why)})
		}
	}
	return out
}

// hpaConflict returns the name of an HPA of the namespace that targets t,
// or "". The HPA list is read once per pass.
func (p *pass) hpaConflict(t Target, gk schema.GroupKind) (string, error) {
	if p.loop.o.HPAs == nil {
		return "", nil
	}
	if p.hpaTargets == nil {
		hpas, err := p.loop.o.HPAs.HorizontalPodAutoscalers(p.loop.o.Namespace).List(labels.Everything())
		if err != nil {
			return "", fmt.Errorf("list horizontalpodautoscalers: %w", err)
		}
		p.hpaTargets = make(map[string]string, len(hpas))
		for _, h := range hpas {
			ref := h.Spec.ScaleTargetRef
			gv, err := schema.ParseGroupVersion(ref.APIVersion)
			if err != nil {
				continue // the API server rejects such HPAs; nothing to match
			}
			p.hpaTargets[gv.Group+"/"+ref.Kind+"/"+ref.Name] = h.Name
		}
	}
	return p.hpaTargets[gk.Group+"/"+gk.Kind+"/"+t.Ref.Name], nil
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
