package horizontal

import (
	"fmt"
	"time"
)

// podClass is the class of a pod for a per-pod metric (algorithms.md A.3).
type podClass uint8

const (
	podReady podClass = iota
	podUnready
	podMissing
	podIgnored
)

// readiness holds the controller settings the CPU readiness rules need.
type readiness struct {
	now                   time.Time
	cpuInitPeriod         time.Duration
	initialReadinessDelay time.Duration
}

// classify puts one pod in exactly one class (upstream groupPods). sample and
// found are the pod's metric, if any; resource is the resource name ("" for
// Pods metrics): only "cpu" gets the readiness rules.
func (r readiness) classify(p *Pod, sample Sample, found bool, resource string) podClass {
	if p.Deleting || p.Phase == PodFailed {
		return podIgnored
	}
	if p.Phase == PodPending {
		return podUnready
	}
	if !found {
		return podMissing
	}
	if resource == "cpu" && r.cpuUnready(p, sample) {
		return podUnready
	}
	return podReady
}

// cpuUnready applies the CPU initialization period and initial readiness
// delay rules of A.3 step 4.
func (r readiness) cpuUnready(p *Pod, sample Sample) bool {
	if !p.HasReadyCondition || p.StartTime.IsZero() {
		return true
	}
	if p.StartTime.Add(r.cpuInitPeriod).After(r.now) {
		// Within the initialization period: ignore the sample when the pod
		// is unready or one metric window has not passed since it became
		// ready.
		return !p.Ready || sample.Timestamp.Before(p.ReadyTransition.Add(sample.Window))
	}
	// Past it: ignore the sample only when the pod is unready and has never
	// been ready.
	return !p.Ready && p.StartTime.Add(r.initialReadinessDelay).After(p.ReadyTransition)
}

// podRequest is the request of resource for one pod in milli-units
// (upstream calculateRequests): the named container's request when container
// is set; otherwise the pod-level request when the pod sets pod-level
// requests (feature PodLevelResources, on by default), else the sum over its
// containers, each of which must declare the resource.
func podRequest(p *Pod, container, resource string) (int64, error) {
	if container == "" && podLevelRequestsSet(p.PodRequests) {
		return podLevelRequest(p, resource)
	}
	var sum int64
	for i := range p.Containers {
		c := &p.Containers[i]
		if container != "" && c.Name != container {
			continue
		}
		v, ok := c.Requests[resource]
		if !ok {
			return 0, fmt.Errorf("missing request for %s in container %s of Pod %s", resource, c.Name, p.Name)
		}
		sum += v
		if container != "" {
			return sum, nil
		}
	}
	if container != "" {
		return 0, fmt.Errorf("container %s not found in Pod %s", container, p.Name)
	}
	return sum, nil
}

// podLevelRequestsSet mirrors IsPodLevelRequestsSet: some pod-level request
// names a resource supported at pod level (cpu, memory, hugepages-*).
func podLevelRequestsSet(reqs map[string]int64) bool {
	for name := range reqs {
		if name == "cpu" || name == "memory" || len(name) > 10 && name[:10] == "hugepages-" {
			return true
		}
	}
	return false
}

// podLevelRequest mirrors calculatePodLevelRequests: the pod-level request,
// or, for a resource not set at pod level, the sum of the containers that
// request it (upstream aggregates container requests there; ebb does not
// model pod overhead or the init-container maximum).
func podLevelRequest(p *Pod, resource string) (int64, error) {
	if v, ok := p.PodRequests[resource]; ok {
		return v, nil
	}
	var sum int64
	found := false
	for i := range p.Containers {
		if v, ok := p.Containers[i].Requests[resource]; ok {
			sum += v
			found = true
		}
	}
	if !found {
		return 0, fmt.Errorf("missing pod-level request for %s in Pod %s", resource, p.Name)
	}
	return sum, nil
}
