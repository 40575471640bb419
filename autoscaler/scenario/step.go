package scenario

import (
	"errors"
	"fmt"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
)

var errNoValue = errors.New("no value in the scenario for this metric")

func convertStep(st step, at time.Duration, spec horizontal.Spec, path string) (simulate.Step, error) {
	now := simulate.Epoch().Add(at)
	if st.CurrentReplicas == nil {
		return simulate.Step{}, fmt.Errorf("%s.currentReplicas: required field is missing", path)
	}
	o := horizontal.Observation{Now: now, CurrentReplicas: *st.CurrentReplicas, StatusReplicas: *st.CurrentReplicas}
	if st.StatusReplicas != nil {
		o.StatusReplicas = *st.StatusReplicas
	}
	if o.CurrentReplicas < 0 || o.StatusReplicas < 0 {
		return simulate.Step{}, fmt.Errorf("%s.currentReplicas: invalid value %d (status %d): must be >= 0", path, o.CurrentReplicas, o.StatusReplicas)
	}
	names := map[string]bool{}
	for i, p := range st.Pods {
		hp, err := convertPod(p, now, fmt.Sprintf("%s.pods[%d]", path, i))
		if err != nil {
			return simulate.Step{}, err
		}
		if names[hp.Name] {
			return simulate.Step{}, fmt.Errorf("%s.pods[%d].name: duplicate pod name %q", path, i, hp.Name)
		}
		names[hp.Name] = true
		o.Pods = append(o.Pods, hp)
	}
	for _, m := range spec.Metrics {
		mv, err := metricValues(st, m, now, path)
		if err != nil {
			return simulate.Step{}, err
		}
		o.Metrics = append(o.Metrics, mv)
	}
	for _, k := range sortedKeys(st.Errors) {
		if !namesMetric(spec, k) {
			return simulate.Step{}, fmt.Errorf("%s.errors.%s: no metric of the spec has this name", path, k)
		}
	}
	out := simulate.Step{At: at, Observation: o}
	if st.Expect != nil {
		out.Expect, out.ExpectReason = st.Expect.DesiredReplicas, st.Expect.Reason
	}
	return out, nil
}

// parsePhase returns the pod phase named s; empty means Running.
func parsePhase(s string) (horizontal.PodPhase, bool) {
	switch p := horizontal.PodPhase(s); p {
	case "":
		return horizontal.PodRunning, true
	case horizontal.PodPending, horizontal.PodRunning, horizontal.PodSucceeded, horizontal.PodFailed, horizontal.PodUnknown:
		return p, true
	}
	return "", false
}

func convertPod(p pod, now time.Time, path string) (horizontal.Pod, error) {
	if p.Name == "" {
		return horizontal.Pod{}, fmt.Errorf("%s.name: required field is missing", path)
	}
	phase, ok := parsePhase(p.Phase)
	if !ok {
		return horizontal.Pod{}, fmt.Errorf("%s.phase: invalid value %q: want Pending, Running, Succeeded, Failed or Unknown", path, p.Phase)
	}
	hp := horizontal.Pod{Name: p.Name, Phase: phase, Deleting: p.Deleting, HasReadyCondition: true, Ready: true}
	if p.Ready != nil {
		hp.Ready = *p.Ready
	}
	if p.StartTime != nil {
		d, err := dur(*p.StartTime, path+".startTime")
		if err != nil {
			return hp, err
		}
		hp.StartTime = now.Add(d)
	}
	if p.ReadyTransitionTime != nil {
		d, err := dur(*p.ReadyTransitionTime, path+".readyTransitionTime")
		if err != nil {
			return hp, err
		}
		hp.ReadyTransition = now.Add(d)
	}
	var err error
	if hp.PodRequests, err = requests(p.Requests, path+".requests"); err != nil {
		return hp, err
	}
	for i, c := range p.Containers {
		cp := fmt.Sprintf("%s.containers[%d]", path, i)
		if c.Name == "" {
			return hp, fmt.Errorf("%s.name: required field is missing", cp)
		}
		r, err := requests(c.Requests, cp+".requests")
		if err != nil {
			return hp, err
		}
		hp.Containers = append(hp.Containers, horizontal.Container{Name: c.Name, Requests: r})
	}
	return hp, nil
}

func requests(in map[string]*quantity, path string) (map[string]int64, error) {
	if in == nil {
		return nil, nil
	}
	out := make(map[string]int64, len(in))
	for _, k := range sortedKeys(in) {
		v, err := in[k].milli(path + "." + k)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// namesMetric reports whether key names a metric of spec, by name or by its
// full "Type/name[/container]" form.
func namesMetric(spec horizontal.Spec, key string) bool {
	for _, m := range spec.Metrics {
		if key == m.Name || key == m.String() {
			return true
		}
	}
	return false
}

func stepError(st step, m horizontal.MetricSpec) (string, bool) {
	if e, ok := st.Errors[m.String()]; ok {
		return e, true
	}
	e, ok := st.Errors[m.Name]
	return e, ok
}

// metricValues builds the values the recommender sees for metric m. A
// metric with no values in the file has none (never a zero): per-pod
// metrics have no pod entries, Object and External metrics fail.
func metricValues(st step, m horizontal.MetricSpec, now time.Time, path string) (horizontal.MetricValues, error) {
	if e, ok := stepError(st, m); ok {
		return horizontal.MetricValues{Err: errors.New(e)}, nil
	}
	var ms metrics
	if st.Metrics != nil {
		ms = *st.Metrics
	}
	path += ".metrics"
	switch m.Type {
	case horizontal.ResourceMetric:
		r, ok := ms.Resource[m.Name]
		if !ok {
			return horizontal.MetricValues{PodValues: map[string]horizontal.Sample{}}, nil
		}
		return samples(r.Pods, r.Window, r.Timestamp, now, fmt.Sprintf("%s.resource.%s", path, m.Name))
	case horizontal.ContainerResourceMetric:
		r, ok := ms.ContainerResource[m.Name]
		if !ok {
			return horizontal.MetricValues{PodValues: map[string]horizontal.Sample{}}, nil
		}
		p := fmt.Sprintf("%s.containerResource.%s", path, m.Name)
		return samples(r.Containers[m.Container], r.Window, r.Timestamp, now, p+".containers."+m.Container)
	case horizontal.PodsMetric:
		return samples(ms.Pods[m.Name], nil, nil, now, fmt.Sprintf("%s.pods.%s", path, m.Name))
	case horizontal.ObjectMetric:
		q, ok := ms.Object[m.Name]
		if !ok {
			return horizontal.MetricValues{Err: errNoValue}, nil
		}
		v, err := q.milli(fmt.Sprintf("%s.object.%s", path, m.Name))
		return horizontal.MetricValues{Value: v}, err
	case horizontal.ExternalMetric:
		qs, ok := ms.External[m.Name]
		if !ok || len(qs) == 0 {
			return horizontal.MetricValues{Err: errNoValue}, nil
		}
		var sum int64
		for i, q := range qs {
			v, err := q.milli(fmt.Sprintf("%s.external.%s[%d]", path, m.Name, i))
			if err != nil {
				return horizontal.MetricValues{}, err
			}
			sum += v
		}
		return horizontal.MetricValues{Value: sum}, nil
	}
	return horizontal.MetricValues{}, fmt.Errorf("%s: unsupported metric type %q", path, m.Type)
}

func samples(in map[string]*quantity, window, timestamp *string, now time.Time, path string) (horizontal.MetricValues, error) {
	w, err := optDur(window, defaultWindow, path+".window")
	if err != nil {
		return horizontal.MetricValues{}, err
	}
	ts, err := optDur(timestamp, 0, path+".timestamp")
	if err != nil {
		return horizontal.MetricValues{}, err
	}
	out := horizontal.MetricValues{PodValues: make(map[string]horizontal.Sample, len(in))}
	for _, name := range sortedKeys(in) {
		v, err := in[name].milli(path + "." + name)
		if err != nil {
			return horizontal.MetricValues{}, err
		}
		out.PodValues[name] = horizontal.Sample{Value: v, Timestamp: now.Add(ts), Window: w}
	}
	return out, nil
}
