package vertical

import (
	"fmt"
	"time"
)

// Workload is the vertical state of one workload (a scale target): one
// Aggregate per container name and one Container tracker per running pod
// container. It is the convenience the control loop holds per target. Not
// safe for concurrent use.
type Workload struct {
	cfg        *Config
	aggregates map[string]*Aggregate
	trackers   map[instance]*Container
}

type instance struct{ pod, container string }

// NewWorkload returns an empty workload state.
func NewWorkload(cfg *Config) *Workload {
	return &Workload{cfg: cfg, aggregates: map[string]*Aggregate{}, trackers: map[instance]*Container{}}
}

// RestoreWorkload decodes a checkpoint written by Workload.Encode (or
// Encode) into a workload state, returning the time it was saved.
func RestoreWorkload(cfg *Config, data []byte) (*Workload, time.Time, error) {
	savedAt, states, err := Decode(cfg, data)
	if err != nil {
		return nil, time.Time{}, err
	}
	w := NewWorkload(cfg)
	w.aggregates = states
	return w, savedAt, nil
}

func (w *Workload) tracker(pod, container string, now time.Time) *Container {
	k := instance{pod, container}
	if c, ok := w.trackers[k]; ok {
		return c
	}
	a, ok := w.aggregates[container]
	if !ok {
		a = NewAggregate(w.cfg, now)
		w.aggregates[container] = a
	}
	c := a.NewContainer()
	w.trackers[k] = c
	return c
}

// AddCPU adds a CPU sample of one pod's container (see Container.AddCPU).
func (w *Workload) AddCPU(pod, container string, t time.Time, millicores int64) (bool, error) {
	added, err := w.tracker(pod, container, t).AddCPU(t, millicores)
	if err != nil {
		return false, fmt.Errorf("pod %s container %s: %w", pod, container, err)
	}
	return added, nil
}

// AddMemory adds a memory sample of one pod's container (see
// Container.AddMemory).
func (w *Workload) AddMemory(pod, container string, t time.Time, bytes int64) (bool, error) {
	added, err := w.tracker(pod, container, t).AddMemory(t, bytes)
	if err != nil {
		return false, fmt.Errorf("pod %s container %s: %w", pod, container, err)
	}
	return added, nil
}

// RecordOOM records an OOM kill of one pod's container (see
// Container.RecordOOM; errors.Is(err, ErrStaleOOM) for an old one).
func (w *Workload) RecordOOM(pod, container string, t time.Time, requestBytes int64) error {
	if err := w.tracker(pod, container, t).RecordOOM(t, requestBytes); err != nil {
		return fmt.Errorf("pod %s container %s: %w", pod, container, err)
	}
	return nil
}

// KeepPods drops the trackers of pods not in live (deleted pods); their
// samples stay in the aggregates.
func (w *Workload) KeepPods(live map[string]bool) {
	for k := range w.trackers {
		if !live[k.pod] {
			delete(w.trackers, k)
		}
	}
}

// Prune drops the aggregates expired at now (Aggregate.Expired) and returns
// their container names.
func (w *Workload) Prune(now time.Time) []string {
	var gone []string
	for name, a := range w.aggregates {
		if a.Expired(now) {
			gone = append(gone, name)
			delete(w.aggregates, name)
		}
	}
	for k, c := range w.trackers {
		if _, ok := w.aggregates[k.container]; !ok || c.agg != w.aggregates[k.container] {
			delete(w.trackers, k)
		}
	}
	return gone
}

// Recommend is Recommend over the workload's aggregates.
func (w *Workload) Recommend(p Policy, now time.Time) ([]ContainerRecommendation, error) {
	return Recommend(w.aggregates, p, now)
}

// Encode is Encode over the workload's aggregates.
func (w *Workload) Encode(savedAt time.Time) ([]byte, error) { return Encode(savedAt, w.aggregates) }

// Size is the bytes held by the aggregates (trackers excluded).
func (w *Workload) Size() int {
	n := 0
	for _, a := range w.aggregates {
		n += a.Size()
	}
	return n
}
