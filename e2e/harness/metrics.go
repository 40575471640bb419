package harness

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// PodCPU lists the CPU usage (millicores, summed over containers) that
// metrics.k8s.io serves for the pods matching sel.
func (e *Env) PodCPU(ctx context.Context, ns string, sel labels.Selector) (map[string]int64, error) {
	list, err := e.Metrics.MetricsV1beta1().PodMetricses(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list pod metrics %s in %s: %w", sel, ns, err)
	}
	out := make(map[string]int64, len(list.Items))
	for _, pm := range list.Items {
		var m int64
		for _, c := range pm.Containers {
			m += c.Usage.Cpu().MilliValue()
		}
		out[pm.Name] = m
	}
	return out, nil
}

// WaitPodCPU primes kwok (recipe §8) and waits until metrics.k8s.io lists
// every pod in pods and ok accepts each pod's CPU millicores. It returns the
// last values read.
func (e *Env) WaitPodCPU(ctx context.Context, ns string, sel labels.Selector, pods []string, ok func(milli int64) bool, timeout time.Duration) (map[string]int64, error) {
	if err := e.Cluster.PrimeKwok(ctx); err != nil {
		return nil, err
	}
	var got map[string]int64
	err := Eventually(ctx, fmt.Sprintf("metrics.k8s.io CPU of %v", pods), timeout, 500*time.Millisecond, func(ctx context.Context) error {
		var err error
		if got, err = e.PodCPU(ctx, ns, sel); err != nil {
			return err
		}
		for _, p := range pods {
			m, found := got[p]
			if !found {
				return fmt.Errorf("pod %s not listed (got %v)", p, got)
			}
			if !ok(m) {
				return fmt.Errorf("pod %s CPU %dm not accepted (got %v)", p, m, got)
			}
		}
		return nil
	})
	return got, err
}

// Within returns a predicate accepting values within tol of want.
func Within(want, tol int64) func(int64) bool {
	return func(v int64) bool { return v >= want-tol && v <= want+tol }
}

// Prometheus returns a client of the cluster's Prometheus.
func (e *Env) Prometheus() (promv1.API, error) {
	c, err := api.NewClient(api.Config{Address: e.Cluster.PrometheusURL()})
	if err != nil {
		return nil, fmt.Errorf("prometheus client: %w", err)
	}
	return promv1.NewAPI(c), nil
}

// QueryByLabel runs an instant vector query and returns sample values keyed
// by the value of label (e.g. "pod"). NaN samples are kept as NaN.
func (e *Env) QueryByLabel(ctx context.Context, q, label string) (map[string]float64, error) {
	p, err := e.Prometheus()
	if err != nil {
		return nil, err
	}
	v, _, _, err := p.Query(ctx, q, time.Now())
	if err != nil {
		return nil, fmt.Errorf("query %q: %w", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("query %q: got %s, want a vector", q, v.Type())
	}
	out := make(map[string]float64, len(vec))
	for _, s := range vec {
		out[string(s.Metric[model.LabelName(label)])] = float64(s.Value)
	}
	return out, nil
}

// sortedKeys returns m's keys sorted (stable error messages).
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
