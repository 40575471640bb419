package backtest

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/scale"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

// Cluster is what Targets reads: workloads, pods and HPAs through Kube,
// other kinds' selectors through the scale subresource (Mapper and Scales;
// without them such targets fail alone).
type Cluster struct {
	Kube      kubernetes.Interface
	Mapper    meta.RESTMapper
	Scales    scale.ScalesGetter
	Namespace string
}

// Targets prepares the backtest targets of a policy: its targets, and the
// HorizontalPodAutoscalers no target covers when it shadows HPAs (a nil
// policy: every HPA of the namespace, under the controller defaults). A
// target that cannot be read carries Err and is reported, not replayed.
func Targets(ctx context.Context, c Cluster, p *policy.Compiled) ([]Target, error) {
	if p == nil {
		var err error
		if p, err = policy.ShadowOnly(policy.Defaults{}); err != nil {
			return nil, err
		}
	}
	var out []Target
	for _, ct := range p.Targets {
		out = append(out, c.prepare(ctx, ct, p.SyncPeriod))
	}
	if !p.ShadowHPAs {
		return out, nil
	}
	hpas, err := c.Kube.AutoscalingV2().HorizontalPodAutoscalers(c.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list HorizontalPodAutoscalers in %s: %w", c.Namespace, err)
	}
	slices.SortFunc(hpas.Items, func(a, b autoscalingv2.HorizontalPodAutoscaler) int { return strings.Compare(a.Name, b.Name) })
	for i := range hpas.Items {
		h := &hpas.Items[i]
		if p.Covers(h.Spec.ScaleTargetRef) {
			continue
		}
		ct, err := p.CompileShadow(h)
		if err != nil {
			out = append(out, Target{Namespace: c.Namespace, Kind: h.Spec.ScaleTargetRef.Kind, Name: h.Spec.ScaleTargetRef.Name, Err: err})
			continue
		}
		out = append(out, c.prepare(ctx, ct, p.SyncPeriod))
	}
	return out, nil
}

// prepare reads one target's pods, selector and requests.
func (c Cluster) prepare(ctx context.Context, ct policy.CompiledTarget, sync time.Duration) Target {
	t := Target{Namespace: c.Namespace, Kind: ct.Ref.Kind, Name: ct.Ref.Name, Spec: ct.Spec, Options: ct.Options,
		SyncPeriod: sync, Queries: ct.Queries, Vertical: ct.Vertical.Policy}
	var tmpl *corev1.PodSpec
	var sel *metav1.LabelSelector
	switch ct.Ref.Kind {
	case "Deployment":
		d, err := c.Kube.AppsV1().Deployments(c.Namespace).Get(ctx, ct.Ref.Name, metav1.GetOptions{})
		if err != nil {
			t.Err = fmt.Errorf("get %s: %w", t.Key(), err)
			return t
		}
		tmpl, sel = &d.Spec.Template.Spec, d.Spec.Selector
	case "StatefulSet":
		s, err := c.Kube.AppsV1().StatefulSets(c.Namespace).Get(ctx, ct.Ref.Name, metav1.GetOptions{})
		if err != nil {
			t.Err = fmt.Errorf("get %s: %w", t.Key(), err)
			return t
		}
		tmpl, sel = &s.Spec.Template.Spec, s.Spec.Selector
	}
	selector, err := c.selector(ctx, ct, sel)
	if err != nil {
		t.Err = err
		return t
	}
	t.Selector = selector
	pods, err := c.Kube.CoreV1().Pods(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Err = fmt.Errorf("list pods of %s: %w", t.Key(), err)
		return t
	}
	for _, p := range pods.Items {
		t.Pods = append(t.Pods, p.Name)
	}
	if tmpl == nil && len(pods.Items) > 0 {
		tmpl = &pods.Items[0].Spec // other kinds: a current pod's requests
	}
	if tmpl != nil {
		for _, ctr := range tmpl.Containers {
			r := Request{Name: ctr.Name}
			if q, ok := ctr.Resources.Requests[corev1.ResourceCPU]; ok {
				r.CPUMillis = q.MilliValue()
			}
			if q, ok := ctr.Resources.Requests[corev1.ResourceMemory]; ok {
				r.MemoryBytes = q.Value()
			}
			t.Containers = append(t.Containers, r)
		}
	}
	t.PodPattern = PodPattern(t.Kind, t.Name, t.Pods)
	if t.PodPattern == "" {
		t.Err = fmt.Errorf("%s has no pods and its kind names no pattern for past ones", t.Key())
	}
	return t
}

// selector is the label selector of the target's pods: the workload's own,
// else the scale subresource's.
func (c Cluster) selector(ctx context.Context, ct policy.CompiledTarget, sel *metav1.LabelSelector) (string, error) {
	if sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			return "", fmt.Errorf("selector of %s/%s: %w", ct.Ref.Kind, ct.Ref.Name, err)
		}
		return s.String(), nil
	}
	if c.Mapper == nil || c.Scales == nil {
		return "", fmt.Errorf("%s/%s: no scale client to read its selector", ct.Ref.Kind, ct.Ref.Name)
	}
	gv, err := schema.ParseGroupVersion(ct.Ref.APIVersion)
	if err != nil {
		return "", fmt.Errorf("%s/%s: apiVersion %q: %w", ct.Ref.Kind, ct.Ref.Name, ct.Ref.APIVersion, err)
	}
	m, err := c.Mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: ct.Ref.Kind}, gv.Version)
	if err != nil {
		return "", fmt.Errorf("resolve %s/%s: %w", ct.Ref.Kind, ct.Ref.Name, err)
	}
	sc, err := c.Scales.Scales(c.Namespace).Get(ctx, m.Resource.GroupResource(), ct.Ref.Name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("get scale of %s/%s: %w", ct.Ref.Kind, ct.Ref.Name, err)
	}
	if sc.Status.Selector == "" {
		return "", fmt.Errorf("scale of %s/%s has no selector", ct.Ref.Kind, ct.Ref.Name)
	}
	return sc.Status.Selector, nil
}

// PodPattern is a regular expression (unescaped, unanchored: Prometheus
// anchors label regexes) for the pods a workload had in the past, not only
// the current ones: for a Deployment "<name>-<pod-template-hash>-<suffix>",
// for a StatefulSet "<name>-<ordinal>"; other kinds get exactly the given
// pods ("" when there are none).
func PodPattern(kind, name string, pods []string) string {
	switch kind {
	case "Deployment":
		return regexp.QuoteMeta(name) + `-[a-z0-9]{1,10}-[a-z0-9]{5}`
	case "StatefulSet":
		return regexp.QuoteMeta(name) + `-[0-9]+`
	}
	names := slices.Clone(pods)
	slices.Sort(names)
	names = slices.Compact(names)
	for i, n := range names {
		names[i] = regexp.QuoteMeta(n)
	}
	return strings.Join(names, "|")
}
