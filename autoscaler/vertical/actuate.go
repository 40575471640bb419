package vertical

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1client "k8s.io/client-go/kubernetes/typed/apps/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// ActuatorOptions configure an Actuator.
type ActuatorOptions struct {
	// DryRun sends every patch with DryRun=[All]: validated, persisted nowhere.
	DryRun bool
	// ResizePods pods at most are resized in place per ResizePeriod per target.
	ResizePods   int
	ResizePeriod time.Duration
	// RolloutPeriod is the least time between two rollouts of one target.
	RolloutPeriod time.Duration
	// Recorder receives Events on the target; nil drops them.
	Recorder record.EventRecorder
}

// DefaultActuatorOptions: 1 pod per minute in place, 1 rollout per hour.
func DefaultActuatorOptions() ActuatorOptions {
	return ActuatorOptions{ResizePods: 1, ResizePeriod: time.Minute, RolloutPeriod: time.Hour}
}

// Validate names every invalid field.
func (o ActuatorOptions) Validate() error {
	var errs []error
	if o.ResizePods < 1 {
		errs = append(errs, fmt.Errorf("vertical resize pods %d: must be at least 1", o.ResizePods))
	}
	if o.ResizePeriod <= 0 {
		errs = append(errs, fmt.Errorf("vertical resize period %s: must be positive", o.ResizePeriod))
	}
	if o.RolloutPeriod <= 0 {
		errs = append(errs, fmt.Errorf("vertical rollout period %s: must be positive", o.RolloutPeriod))
	}
	return errors.Join(errs...)
}

// Target is the scale target the recommendation is for.
type Target struct {
	Namespace, APIVersion, Kind, Name string
	// Replicas is the current replica count, MinReplicas the horizontal
	// minimum: at most Replicas-MinReplicas pods are resized at once.
	Replicas, MinReplicas int32
	// DryRun makes this target's patches dry-run even when the Actuator's
	// option is off (the loop's per-target dry-run and HPA conflicts).
	DryRun bool
	// ResizePods, ResizePeriod and RolloutPeriod override the Actuator's
	// options of the same names for this target (the policy's
	// vertical.inPlace and vertical.rollout); zero keeps the Actuator's.
	ResizePods                  int
	ResizePeriod, RolloutPeriod time.Duration
}

// limits returns the rate limits for t: its overrides, else o's.
func (o ActuatorOptions) limits(t Target) (pods int, resizePeriod, rolloutPeriod time.Duration) {
	pods, resizePeriod, rolloutPeriod = o.ResizePods, o.ResizePeriod, o.RolloutPeriod
	if t.ResizePods > 0 {
		pods = t.ResizePods
	}
	if t.ResizePeriod > 0 {
		resizePeriod = t.ResizePeriod
	}
	if t.RolloutPeriod > 0 {
		rolloutPeriod = t.RolloutPeriod
	}
	return pods, resizePeriod, rolloutPeriod
}

// Key is the target as "Kind/name", the key of Manager and metrics.
func (t Target) Key() string { return t.Kind + "/" + t.Name }

func (t Target) ref() *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: t.APIVersion, Kind: t.Kind, Namespace: t.Namespace, Name: t.Name}
}

// Actuations is a target's rate-limit memory: when ebb last rolled out new
// requests and when it resized pods in place. It is checkpointed with the
// target's histograms, so a restarted or newly elected ebb keeps honouring
// the limits the previous one started.
type Actuations struct {
	LastRollout time.Time   `json:"lastRollout,omitzero"`
	Resizes     []time.Time `json:"resizes,omitempty"` // within the last resize period
}

// Equal reports whether a and b hold the same times.
func (a Actuations) Equal(b Actuations) bool {
	return a.LastRollout.Equal(b.LastRollout) &&
		slices.EqualFunc(a.Resizes, b.Resizes, func(x, y time.Time) bool { return x.Equal(y) })
}

// Actuator applies vertical recommendations. The rate-limit memory of each
// target is the caller's (Actuations, checkpointed by the Manager); the
// Actuator keeps only which recommendation Events it sent. Safe for
// concurrent use.
type Actuator struct {
	pods corev1client.PodsGetter
	apps appsv1client.AppsV1Interface
	o    ActuatorOptions

	mu        sync.Mutex
	announced map[string]rv.Amounts // per target/container: the recommendation last announced
}

// NewActuator returns an Actuator; o must be valid.
func NewActuator(pods corev1client.PodsGetter, apps appsv1client.AppsV1Interface, o ActuatorOptions) *Actuator {
	if o.Recorder == nil {
		o.Recorder = &record.FakeRecorder{}
	}
	return &Actuator{pods: pods, apps: apps, o: o, announced: map[string]rv.Amounts{}}
}

// Result is what one Apply did.
type Result struct {
	Resized   []string // pods resized in place (or accepted in dry-run)
	RolledOut bool
	// Held says why nothing (more) was done, e.g. "RolloutRateLimited".
	Held string
}

// Apply acts on target's recommendation per mode at now. A container
// changes only when its current request is outside [Lower, Upper]; it is
// then set to Target (capped at its limit). pods are the target's pods;
// last is the target's rate-limit memory, updated in place.
func (a *Actuator) Apply(ctx context.Context, now time.Time, mode policy.VerticalMode, t Target, recs []rv.ContainerRecommendation,
	pods []*corev1.Pod, last *Actuations) (Result, error) {
	switch mode {
	case policy.VerticalOff:
		return Result{}, nil
	case policy.VerticalRecommend, "":
		a.announce(t, recs, pods)
		return Result{}, nil
	case policy.VerticalInPlace:
		return a.resize(ctx, now, t, recs, pods, last)
	case policy.VerticalRollout:
		return a.rollout(ctx, now, t, recs, last)
	}
	return Result{}, fmt.Errorf("target %s: unknown vertical mode %q", t.Key(), mode)
}

// change is the new requests of one container; zero means unchanged.
type change struct {
	name     string
	from, to rv.Amounts
}

func (c change) String() string {
	var parts []string
	if c.to.CPUMillis != 0 {
		parts = append(parts, fmt.Sprintf("cpu %s->%s", quantityCPU(c.from.CPUMillis), quantityCPU(c.to.CPUMillis)))
	}
	if c.to.MemoryBytes != 0 {
		parts = append(parts, fmt.Sprintf("memory %s->%s", quantityMemory(c.from.MemoryBytes), quantityMemory(c.to.MemoryBytes)))
	}
	return c.name + " " + strings.Join(parts, ", ")
}

// changes compares containers' requests and limits with recs (the VPA
// updater's rule: act only outside [lower, upper]).
func changes(containers []corev1.Container, recs []rv.ContainerRecommendation) []change {
	var out []change
	for _, c := range containers {
		i := slices.IndexFunc(recs, func(r rv.ContainerRecommendation) bool { return r.Name == c.Name })
		if i < 0 {
			continue
		}
		cur, limit := amounts(c.Resources.Requests), amounts(c.Resources.Limits)
		ch := change{name: c.Name, from: cur}
		ch.to.CPUMillis = newRequest(recs[i].CPU, cur.CPUMillis, limit.CPUMillis)
		ch.to.MemoryBytes = newRequest(recs[i].Memory, cur.MemoryBytes, limit.MemoryBytes)
		if ch.to != (rv.Amounts{}) {
			out = append(out, ch)
		}
	}
	return out
}

// newRequest is the request to set, 0 for no change.
func newRequest(b *rv.Bounds, cur, limit int64) int64 {
	if b == nil || (cur >= b.Lower && cur <= b.Upper) {
		return 0
	}
	v := b.Target
	if limit > 0 && v > limit {
		v = limit // requests above limits are invalid; limits are the user's
	}
	if v == cur || v <= 0 {
		return 0
	}
	return v
}

type containerPatch struct {
	Name      string `json:"name"`
	Resources struct {
		Requests map[corev1.ResourceName]string `json:"requests"`
	} `json:"resources"`
}

func containerPatches(chs []change) []containerPatch {
	out := make([]containerPatch, 0, len(chs))
	for _, c := range chs {
		p := containerPatch{Name: c.name}
		p.Resources.Requests = map[corev1.ResourceName]string{}
		if c.to.CPUMillis != 0 {
			p.Resources.Requests[corev1.ResourceCPU] = quantityCPU(c.to.CPUMillis)
		}
		if c.to.MemoryBytes != 0 {
			p.Resources.Requests[corev1.ResourceMemory] = quantityMemory(c.to.MemoryBytes)
		}
		out = append(out, p)
	}
	return out
}

func (a *Actuator) patchOptions(t Target) metav1.PatchOptions {
	o := metav1.PatchOptions{FieldManager: "ebb"}
	if a.o.DryRun || t.DryRun {
		o.DryRun = []string{metav1.DryRunAll}
	}
	return o
}

func (a *Actuator) suffix(t Target) string {
	if a.o.DryRun || t.DryRun {
		return " (DryRun)"
	}
	return ""
}

func describe(chs []change) string {
	s := make([]string, len(chs))
	for i, c := range chs {
		s[i] = c.String()
	}
	return strings.Join(s, "; ")
}

// announceStep is how far a recommendation must move from the one last
// announced (relative, CPU or memory) to be announced again: usage moves
// the histograms' percentiles a little at every pass, and an Event per
// pass per target would spend client-go's per-object Event budget (burst
// 25, then one per 5 min) on noise.
const announceStep = 0.10

// announce emits a VerticalRecommendation Event when a container's request
// falls outside the bounds, and again only when the recommendation moved
// by announceStep or more since the last one announced; a container back
// within its bounds is announced afresh when it leaves them again.
func (a *Actuator) announce(t Target, recs []rv.ContainerRecommendation, pods []*corev1.Pod) {
	if len(pods) == 0 {
		return
	}
	p := pods[0]
	chs := changes(p.Spec.Containers, recs)
	a.mu.Lock()
	for _, c := range p.Spec.Containers {
		if !slices.ContainsFunc(chs, func(ch change) bool { return ch.name == c.Name }) {
			delete(a.announced, t.Key()+"/"+c.Name)
		}
	}
	a.mu.Unlock()
	for _, ch := range chs {
		key := t.Key() + "/" + ch.name
		a.mu.Lock()
		last, seen := a.announced[key]
		moved := !seen || movedBy(last.CPUMillis, ch.to.CPUMillis) || movedBy(last.MemoryBytes, ch.to.MemoryBytes)
		if moved {
			a.announced[key] = ch.to
		}
		a.mu.Unlock()
		if moved {
			a.o.Recorder.Eventf(t.ref(), corev1.EventTypeNormal, "VerticalRecommendation",
				"requests outside the recommended bounds (pod %s): %s", p.Name, ch.String())
		}
	}
}

// movedBy reports whether to differs from from by announceStep or more
// (0 is "no change of this resource").
func movedBy(from, to int64) bool {
	if from == to {
		return false
	}
	if from == 0 || to == 0 {
		return true
	}
	d := float64(to-from) / float64(from)
	return d >= announceStep || d <= -announceStep
}

func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal patch: %w", err)
	}
	return b, nil
}
