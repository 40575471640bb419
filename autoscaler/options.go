package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	autoscalingv2listers "k8s.io/client-go/listers/autoscaling/v2"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/record"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
)

// UsageSource lists metrics-server usage of the pods of a namespace.
type UsageSource interface {
	PodUsage(ctx context.Context, namespace string, sel labels.Selector) ([]metricsource.PodUsage, error)
}

// PodValuesSource evaluates a PromQL query that returns one value per pod.
type PodValuesSource interface {
	PodValues(ctx context.Context, promQL string, at time.Time) (metricsource.PodValues, error)
}

// ScalarSource evaluates a PromQL query that returns one value.
type ScalarSource interface {
	Scalar(ctx context.Context, promQL string, at time.Time) (float64, error)
}

// Actuator sets the replicas of a target by updating sc, the Scale this
// pass read: its resourceVersion guards the write, so a write based on a
// stale read fails with a Conflict instead of overwriting another writer.
type Actuator interface {
	Scale(ctx context.Context, t Target, sc *autoscalingv1.Scale, replicas int32) error
}

// WorkloadScales reads the Scale of built-in workloads from informer
// caches (no request). served is false for kinds it does not cover; the
// loop then GETs the scale subresource. WorkloadCache implements it.
type WorkloadScales interface {
	Scale(gk schema.GroupKind, namespace, name string) (sc *autoscalingv1.Scale, gvr schema.GroupVersionResource, served bool, err error)
}

// StatusRecorder keeps the leader's recent reports (*StatusHistory).
type StatusRecorder interface {
	Record(rep report.Report)
	Reset()
}

// ConfigSource returns the policy currently in force (hot-reloaded by the
// caller); it is read once at the start of every pass.
type ConfigSource interface {
	Config() Config
}

// Config is what the loop needs of a compiled policy, and the Prometheus
// sources it configures (rebuilt by the caller when the policy's
// prometheus section changes; nil when it has none).
type Config struct {
	Targets    []Target
	SyncPeriod time.Duration
	PodValues  PodValuesSource
	Scalars    ScalarSource
	// Shadow, when set, shadows the namespace's HPAs that no target covers
	// (shadow.go); nil shadows none.
	Shadow Shadower
}

// ConfigFromPolicy returns the loop's Config for a compiled policy; the
// targets live in namespace.
func ConfigFromPolicy(c *policy.Compiled, namespace string) Config {
	if c == nil {
		return Config{}
	}
	cfg := Config{SyncPeriod: c.SyncPeriod, Targets: make([]Target, len(c.Targets))}
	if c.ShadowHPAs {
		cfg.Shadow = c
	}
	for i, t := range c.Targets {
		cfg.Targets[i] = Target{CompiledTarget: t, Namespace: namespace}
	}
	return cfg
}

// Target is one workload of the namespace the loop manages: a compiled
// policy target and where it lives.
type Target struct {
	policy.CompiledTarget
	Namespace string
	// Resource is the scale target's resource, resolved by the loop before
	// the Actuator is called.
	Resource schema.GroupVersionResource
	// ShadowOf names the HPA this target shadows (shadow.go): ebb decides
	// beside it and never acts, emits no Event.
	ShadowOf string
}

// String is the target as "Kind/name".
func (t Target) String() string { return t.Key() }

// GroupKind is the target's API group and kind, and the version.
func (t Target) GroupKind() (schema.GroupKind, string, error) {
	gv, err := schema.ParseGroupVersion(t.Ref.APIVersion)
	if err != nil {
		return schema.GroupKind{}, "", fmt.Errorf("target %s apiVersion %q: %w", t, t.Ref.APIVersion, err)
	}
	return schema.GroupKind{Group: gv.Group, Kind: t.Ref.Kind}, gv.Version, nil
}

// Options are everything a Loop needs; cmd wires concrete types into them.
type Options struct {
	Namespace string
	Logger    *slog.Logger
	// Registerer receives ebb's loop metrics (never the global default).
	Registerer prometheus.Registerer
	Config     ConfigSource
	// Workloads serves Deployments, StatefulSets and ReplicaSets from
	// informers; nil GETs the scale subresource of every target.
	Workloads WorkloadScales
	// Scales GETs the scale of kinds Workloads does not serve (custom
	// resources) and is what the default actuators update.
	Scales scale.ScalesGetter
	Mapper meta.RESTMapper
	Pods   corelisters.PodLister
	// HPAs lists the namespace's HorizontalPodAutoscalers; a target one of
	// them also drives is never actuated (dry-run instead). Nil: no check.
	HPAs autoscalingv2listers.HorizontalPodAutoscalerLister
	// VPAs finds VerticalPodAutoscalers (autoscaling.k8s.io) that change a
	// target's requests: the vertical side of an in-place or rollout target
	// one of them drives stays in dry-run. Nil: no VPA API, no check.
	VPAs  VPAChecker
	Usage UsageSource
	// MetricsAPIs serves the Pods, Object and External metrics that have no
	// query (custom.metrics.k8s.io, external.metrics.k8s.io).
	MetricsAPIs MetricsAPISource
	// Actuator applies mode "apply" targets; DryRunActuator serves mode
	// "dry-run" targets and HPA conflicts. When nil, New uses
	// ScaleActuators over Scales (counted in ebb_actuations_total).
	Actuator       Actuator
	DryRunActuator Actuator
	// DryRun treats every target as mode dry-run (ebb report); Actuator
	// may then be nil.
	DryRun bool
	// ReadOnly is the read-only install profile: ebb has no write verb on
	// workloads, so every target is computed as in dry-run and nothing is
	// sent to the API server, not even a server-side dry-run (which it
	// authorizes like a write); the report says so (condition ReadOnly).
	// New replaces Actuator and DryRunActuator by one that sends nothing.
	ReadOnly bool
	Recorder record.EventRecorder
	// Vertical, when set, runs the vertical side of each target that is
	// not off, with the pods and usage the pass read.
	Vertical VerticalReconciler
	// State checkpoints each target's horizontal state; nil keeps it in
	// memory only.
	State StateStore
	// LeaderState is state only the leader writes besides State (the
	// vertical checkpoints): reset on every newly acquired lease, saved
	// while leading, flushed on shutdown before the lease is released.
	LeaderState LeaderState
	// Status, when set, receives the report of every pass this replica runs
	// as leader (the /status history), and is reset when the lease is lost.
	Status StatusRecorder
	// SyncPeriod is used when the Config leaves it zero.
	SyncPeriod time.Duration
	// Workers reconcile targets concurrently within a pass.
	Workers int
	// TargetTimeout bounds each phase of one target's work (reads and
	// decision; actuation) in a pass.
	TargetTimeout time.Duration
	// PassTimeout bounds a whole pass; 0 means one sync period.
	PassTimeout time.Duration
	// StallPeriods: a leader that completed no pass for this many sync
	// periods fails Healthy (/healthz) and gives up its lease.
	StallPeriods int
	// ShutdownTimeout bounds the final checkpoints on shutdown.
	ShutdownTimeout time.Duration
	// RemovedGrace is how long the checkpoint of a target removed from the
	// policy is kept (a policy that brings it back continues from it).
	RemovedGrace time.Duration
	// Breaker configures the per-source circuit breakers.
	Breaker BreakerOptions
	// Forecast are the proactive mode's settings (forecast.go).
	Forecast ForecastOptions
}

// DefaultOptions returns Options with the defaults filled in; the caller
// adds the clients, sources and actuators. 32 workers finish 2,000 targets
// whose sources answer in 100 ms in about 6 s, well under the 15 s period.
func DefaultOptions() Options {
	return Options{
		Logger:          slog.New(slog.DiscardHandler),
		Recorder:        &record.FakeRecorder{},
		SyncPeriod:      15 * time.Second,
		Workers:         32,
		TargetTimeout:   10 * time.Second,
		StallPeriods:    4,
		ShutdownTimeout: 10 * time.Second,
		RemovedGrace:    time.Hour,
		Breaker:         DefaultBreakerOptions(),
		Forecast:        DefaultForecastOptions(),
	}
}

// Validate returns every problem of o at once.
func (o Options) Validate() error {
	var errs []error
	need := func(name string, missing bool) {
		if missing {
			errs = append(errs, fmt.Errorf("options %s: must be set", name))
		}
	}
	need("Namespace", o.Namespace == "")
	need("Logger", o.Logger == nil)
	need("Registerer", o.Registerer == nil)
	need("Config", o.Config == nil)
	need("Scales", o.Scales == nil)
	need("Mapper", o.Mapper == nil)
	need("Pods", o.Pods == nil)
	need("Recorder", o.Recorder == nil)
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("options %s %v: must be positive", name, d))
		}
	}
	positive("SyncPeriod", o.SyncPeriod)
	positive("TargetTimeout", o.TargetTimeout)
	positive("ShutdownTimeout", o.ShutdownTimeout)
	positive("RemovedGrace", o.RemovedGrace)
	if o.PassTimeout < 0 {
		errs = append(errs, fmt.Errorf("options PassTimeout %v: must not be negative", o.PassTimeout))
	}
	if o.Workers < 1 {
		errs = append(errs, fmt.Errorf("options Workers %d: must be at least 1", o.Workers))
	}
	if o.StallPeriods < 2 {
		errs = append(errs, fmt.Errorf("options StallPeriods %d: must be at least 2", o.StallPeriods))
	}
	errs = append(errs, o.Breaker.Validate(), o.Forecast.Validate())
	return errors.Join(errs...)
}
