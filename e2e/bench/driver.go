package bench

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Step is one level of the load schedule: from At (since the phase began)
// on, every target's total CPU demand is Factor × its demand at start.
type Step struct {
	At     time.Duration
	Factor float64
}

// Schedule returns the load of a phase of length d: at target for the
// first third, then 1.5× (the HPA algorithm then wants 15 pods where 10
// ran), the same in both phases.
func Schedule(d time.Duration) []Step {
	return []Step{{0, 1}, {d / 3, 1.5}}
}

// factorAt is the factor of the last step at or before t.
func factorAt(steps []Step, t time.Duration) float64 {
	f := 1.0
	for _, s := range steps {
		if s.At <= t {
			f = s.Factor
		}
	}
	return f
}

// driver keeps every target's emulated CPU use at its demand spread over
// its ready pods (closed loop: more pods, less each, as with real load) by
// patching the kwok usage annotation of the pods whose share changed. It
// reads pods from its own informer, so its reads cost the controllers
// nothing; its patches are the same in both phases.
type driver struct {
	kc      kubernetes.Interface
	ns      string
	base    float64 // demand of one target at factor 1, millicores
	log     *slog.Logger
	pods    cache.Indexer
	synced  cache.InformerSynced
	factory informers.SharedInformerFactory

	// applying serializes apply: with two applies at once, two patches of
	// one pod could reach the API server in one order and record their
	// values in set in the other, and set would then skip a pod that
	// carries a stale value for good.
	applying sync.Mutex

	mu     sync.Mutex
	factor float64
	set    map[types.UID]string // last value patched per pod
	errs   int
}

func newDriver(kc kubernetes.Interface, ns string, podsPerTarget int, log *slog.Logger) (*driver, error) {
	f := informers.NewSharedInformerFactoryWithOptions(kc, 0, informers.WithNamespace(ns))
	inf := f.Core().V1().Pods().Informer()
	if err := inf.AddIndexers(cache.Indexers{appLabel: func(obj any) ([]string, error) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return nil, nil
		}
		return []string{p.Labels[appLabel]}, nil
	}}); err != nil {
		return nil, fmt.Errorf("pod index: %w", err)
	}
	return &driver{kc: kc, ns: ns, base: float64(podsPerTarget * usagePerPodMilli), log: log,
		pods: inf.GetIndexer(), synced: inf.HasSynced, factory: f, factor: 1, set: map[types.UID]string{}}, nil
}

// start runs the informer until ctx ends and waits for its first list.
func (d *driver) start(ctx context.Context) error {
	d.factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), d.synced) {
		return fmt.Errorf("pod informer of %s did not sync", d.ns)
	}
	return nil
}

func (d *driver) setFactor(f float64) {
	d.mu.Lock()
	d.factor = f
	d.mu.Unlock()
}

// run applies the demand every interval until ctx ends.
func (d *driver) run(ctx context.Context, n int, interval time.Duration) {
	for ctx.Err() == nil {
		if err := d.apply(ctx, n); err != nil && ctx.Err() == nil {
			d.log.Warn("load driver", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(interval):
		}
	}
}

// podShare is what one target's ready pods should each use.
type podShare struct {
	pod   *corev1.Pod
	value string
}

// apply patches every pod whose share differs from what it carries (one
// apply at a time).
func (d *driver) apply(ctx context.Context, n int) error {
	d.applying.Lock()
	defer d.applying.Unlock()
	d.mu.Lock()
	factor := d.factor
	d.mu.Unlock()
	var todo []podShare
	for i := range n {
		objs, err := d.pods.ByIndex(appLabel, targetName(i))
		if err != nil {
			return err
		}
		var ready []*corev1.Pod
		for _, o := range objs {
			if p := o.(*corev1.Pod); isReady(p) {
				ready = append(ready, p)
			}
		}
		if len(ready) == 0 {
			continue
		}
		v := fmt.Sprintf("%dm", int64(math.Round(d.base*factor/float64(len(ready)))))
		for _, p := range ready {
			d.mu.Lock()
			last, patched := d.set[p.UID]
			d.mu.Unlock()
			if (patched && last == v) || (!patched && p.Annotations[usageCPU] == v) {
				continue
			}
			todo = append(todo, podShare{p, v})
		}
	}
	return forEach(ctx, len(todo), 32, func(ctx context.Context, i int) error {
		s := todo[i]
		patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, usageCPU, s.value)
		_, err := d.kc.CoreV1().Pods(d.ns).Patch(ctx, s.pod.Name, types.MergePatchType, patch, metav1.PatchOptions{})
		d.mu.Lock()
		defer d.mu.Unlock()
		if err != nil {
			d.errs++
			return fmt.Errorf("set cpu of %s to %s: %w", s.pod.Name, s.value, err)
		}
		d.set[s.pod.UID] = s.value
		return nil
	})
}

// settled reports whether every target has want ready pods, each carrying
// its share at factor (and says what is still off when not).
func (d *driver) settled(n, want int) error {
	d.mu.Lock()
	factor := d.factor
	d.mu.Unlock()
	v := fmt.Sprintf("%dm", int64(math.Round(d.base*factor/float64(want))))
	off := 0
	var first []string // what is off, the first few
	note := func(format string, args ...any) {
		off++
		if len(first) < 3 {
			first = append(first, fmt.Sprintf(format, args...))
		}
	}
	for i := range n {
		objs, err := d.pods.ByIndex(appLabel, targetName(i))
		if err != nil {
			return err
		}
		ready := 0
		for _, o := range objs {
			p := o.(*corev1.Pod)
			if p.DeletionTimestamp != nil {
				note("pod %s terminating", p.Name)
				continue
			}
			if isReady(p) {
				ready++
				if got := p.Annotations[usageCPU]; got != v {
					note("pod %s uses %s", p.Name, got)
				}
			}
		}
		if ready != want {
			note("%s has %d ready pods", targetName(i), ready)
		}
	}
	if off > 0 {
		return fmt.Errorf("%d pods or targets not yet at %d ready pods of %s each (%s)", off, want, v, strings.Join(first, "; "))
	}
	return nil
}

func isReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
