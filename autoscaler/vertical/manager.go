package vertical

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/ebb-autoscaler/ebb/metricsource"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// Manager holds the vertical state of every target of one namespace. It is
// safe for concurrent use (the checkpoint goroutine reads while the loop
// observes).
type Manager struct {
	namespace string
	cfg       *rv.Config
	log       *slog.Logger

	loadMu  sync.Mutex // serializes the store's Load
	mu      sync.Mutex
	loaded  bool // the store was loaded since the last Reset
	targets map[string]*targetState
}

// targetState is one target's workload state and what was last seen of it.
type targetState struct {
	w *rv.Workload
	// acts is the rate-limit memory of the target's actuations.
	acts Actuations
	// oomSince: OOM kills finished at or before it are already in the
	// histograms (the time of the checkpoint restored), so they are skipped.
	oomSince time.Time
	ooms     map[oomKey]bool // OOM kills already recorded
	requests map[string]rv.Amounts
	usage    map[string]rv.Amounts // last observed, max over pods
	restored bool                  // Restore ran (found a checkpoint or not)
	// fromCheckpoint: Restore found a checkpoint, which holds the history a
	// bootstrap would read.
	fromCheckpoint bool
	// dirty: the state changed since it was last saved (or restored).
	dirty bool
	// liveSince is the time of the first metrics-server sample observed.
	liveSince time.Time
	boot      bootState
}

type oomKey struct {
	pod, container string
	finishedAt     int64
}

// NewManager returns an empty Manager for namespace. cfg must be validated
// (rv.DefaultConfig is); a nil logger discards.
func NewManager(namespace string, cfg *rv.Config, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{namespace: namespace, cfg: cfg, log: log, targets: map[string]*targetState{}}
}

// Namespace is the namespace the Manager serves.
func (m *Manager) Namespace() string { return m.namespace }

// state returns target's state, creating it. m.mu must be held.
func (m *Manager) state(target string) *targetState {
	s, ok := m.targets[target]
	if !ok {
		s = &targetState{w: rv.NewWorkload(m.cfg), ooms: map[oomKey]bool{}}
		m.targets[target] = s
	}
	return s
}

// Forget drops a target's state (it left the policy).
func (m *Manager) Forget(target string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.targets, target)
}

// Reset drops every target's state: each is restored from its checkpoint
// again before its next decision (a newly acquired lease: the previous
// leader may have written since this replica last read).
func (m *Manager) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.targets = map[string]*targetState{}
	m.loaded = false
}

// Actuations returns target's rate-limit memory.
func (m *Manager) Actuations(target string) Actuations {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.state(target).acts
	a.Resizes = slices.Clone(a.Resizes)
	return a
}

// SetActuations replaces target's rate-limit memory and reports whether it
// changed (then the target's state needs saving).
func (m *Manager) SetActuations(target string, a Actuations) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.state(target)
	if s.acts.Equal(a) {
		return false
	}
	s.acts, s.dirty = a, true
	return true
}

// Observe feeds one pass of observations of target into its state: the CPU
// (millicores) and memory (bytes) of every container of the target's pods
// found in usage (timestamped with the PodUsage timestamp; repeated samples
// are dropped by the recommender), and the OOM kills in the pods' status
// (lastState.terminated.reason OOMKilled, at its finishedAt, with the
// container's memory request), each counted once. usage may hold pods of
// other targets: only pods in pods count. Trackers of pods gone are dropped
// and expired aggregates pruned. Invalid samples are skipped and returned
// joined in the error; valid ones are still recorded.
func (m *Manager) Observe(now time.Time, target string, pods []*corev1.Pod, usage []metricsource.PodUsage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.state(target)
	live := make(map[string]bool, len(pods))
	for _, p := range pods {
		live[p.Name] = true
	}
	var errs []error
	s.usage = map[string]rv.Amounts{}
	for _, u := range usage {
		if !live[u.Name] {
			continue
		}
		for _, c := range u.Containers {
			errs = append(errs, s.addUsage(u.Name, u.Timestamp, c))
		}
	}
	for _, p := range pods {
		errs = append(errs, s.recordOOMs(p))
	}
	s.requests = podRequests(pods)
	s.w.KeepPods(live)
	if gone := s.w.Prune(now); len(gone) > 0 {
		s.dirty = true
	}
	for k := range s.ooms {
		if !live[k.pod] {
			delete(s.ooms, k)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("observe %s/%s: %w", m.namespace, target, err)
	}
	return nil
}

func (s *targetState) addUsage(pod string, ts time.Time, c metricsource.ContainerUsage) error {
	cpu, err := s.w.AddCPU(pod, c.Name, ts, c.CPUMilli)
	if err != nil {
		return err
	}
	mem, err := s.w.AddMemory(pod, c.Name, ts, c.MemoryBytes)
	if err != nil {
		return err
	}
	if cpu || mem {
		s.dirty = true
		if s.liveSince.IsZero() || ts.Before(s.liveSince) {
			s.liveSince = ts
		}
	}
	u := s.usage[c.Name]
	s.usage[c.Name] = rv.Amounts{CPUMillis: max(u.CPUMillis, c.CPUMilli), MemoryBytes: max(u.MemoryBytes, c.MemoryBytes)}
	return nil
}

// recordOOMs records the OOM kills of p not seen before.
func (s *targetState) recordOOMs(p *corev1.Pod) error {
	var errs []error
	for _, cs := range p.Status.ContainerStatuses {
		term := cs.LastTerminationState.Terminated
		if term == nil || term.Reason != "OOMKilled" || term.FinishedAt.IsZero() {
			continue
		}
		at := term.FinishedAt.Time
		k := oomKey{pod: p.Name, container: cs.Name, finishedAt: at.UnixNano()}
		if s.ooms[k] || !at.After(s.oomSince) {
			continue
		}
		s.ooms[k] = true
		req := containerRequests(p, cs.Name).MemoryBytes
		err := s.w.RecordOOM(p.Name, cs.Name, at, req)
		if err != nil && !errors.Is(err, rv.ErrStaleOOM) {
			errs = append(errs, err)
		}
		if err == nil {
			s.dirty = true
		}
	}
	return errors.Join(errs...)
}

// containerRequests returns the spec requests of container name in p.
func containerRequests(p *corev1.Pod, name string) rv.Amounts {
	for _, c := range p.Spec.Containers {
		if c.Name == name {
			return amounts(c.Resources.Requests)
		}
	}
	return rv.Amounts{}
}

func amounts(l corev1.ResourceList) rv.Amounts {
	var a rv.Amounts
	if q, ok := l[corev1.ResourceCPU]; ok {
		a.CPUMillis = q.MilliValue()
	}
	if q, ok := l[corev1.ResourceMemory]; ok {
		a.MemoryBytes = q.Value()
	}
	return a
}

// podRequests returns the current request of every container name: the
// largest among the pods (pods being resized may differ for a while).
func podRequests(pods []*corev1.Pod) map[string]rv.Amounts {
	out := map[string]rv.Amounts{}
	for _, p := range pods {
		for _, c := range p.Spec.Containers {
			a, cur := amounts(c.Resources.Requests), out[c.Name]
			out[c.Name] = rv.Amounts{CPUMillis: max(a.CPUMillis, cur.CPUMillis), MemoryBytes: max(a.MemoryBytes, cur.MemoryBytes)}
		}
	}
	return out
}

// Requests returns the current requests of target's containers by name as
// last observed (nil before the first Observe). Zero means no request.
func (m *Manager) Requests(target string) map[string]rv.Amounts {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.targets[target]; ok {
		return cloneAmounts(s.requests)
	}
	return nil
}

// Usage returns the last observed usage of target's containers (max over
// pods), nil before the first Observe.
func (m *Manager) Usage(target string) map[string]rv.Amounts {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.targets[target]; ok {
		return cloneAmounts(s.usage)
	}
	return nil
}

func cloneAmounts(in map[string]rv.Amounts) map[string]rv.Amounts {
	if in == nil {
		return nil
	}
	out := make(map[string]rv.Amounts, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

// Recommend returns target's recommendation at now under policy. When
// policy.CurrentRequests is nil, the observed requests are used (the joint
// rule with horizontal needs them).
func (m *Manager) Recommend(now time.Time, target string, policy rv.Policy) ([]rv.ContainerRecommendation, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.state(target)
	if policy.CurrentRequests == nil {
		policy.CurrentRequests = s.requests
	}
	recs, err := s.w.Recommend(policy, now)
	if err != nil {
		return nil, fmt.Errorf("recommend %s/%s: %w", m.namespace, target, err)
	}
	return recs, nil
}

// quantityCPU and quantityMemory format amounts for patches and Events.
func quantityCPU(millis int64) string {
	return resource.NewMilliQuantity(millis, resource.DecimalSI).String()
}
func quantityMemory(b int64) string { return resource.NewQuantity(b, resource.BinarySI).String() }
