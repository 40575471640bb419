package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	autoscalingv2listers "k8s.io/client-go/listers/autoscaling/v2"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/record"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
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

// Actuator sets the replicas of a target.
type Actuator interface {
	Scale(ctx context.Context, t Target, replicas int32) error
}

// StateStore keeps the per-target stabilization history across restarts.
type StateStore interface {
	Load(ctx context.Context) (map[string]horizontal.History, error)
	Save(ctx context.Context, state map[string]horizontal.History) error
}

// ConfigSource returns the policy currently in force (hot-reloaded by the
// caller); it is read once at the start of every pass.
type ConfigSource interface {
	Config() Config
}

// Config is what the loop needs of a compiled policy.
type Config struct {
	Targets    []Target
	SyncPeriod time.Duration
}

// ConfigFromPolicy returns the loop's Config for a compiled policy; the
// targets live in namespace.
func ConfigFromPolicy(c *policy.Compiled, namespace string) Config {
	if c == nil {
		return Config{}
	}
	cfg := Config{SyncPeriod: c.SyncPeriod, Targets: make([]Target, len(c.Targets))}
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
	// Resource is the scale target's resource, resolved by the loop with
	// the RESTMapper before the Actuator is called.
	Resource schema.GroupVersionResource
	// scaleReason is the reason given in the rescale Event.
	scaleReason string
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
	Scales     scale.ScalesGetter
	Mapper     meta.RESTMapper
	Pods       corelisters.PodLister
	// HPAs lists the namespace's HorizontalPodAutoscalers; a target one of
	// them also drives is never actuated (dry-run instead). Nil: no check.
	HPAs      autoscalingv2listers.HorizontalPodAutoscalerLister
	Usage     UsageSource
	PodValues PodValuesSource
	Scalars   ScalarSource
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
	DryRun   bool
	Recorder record.EventRecorder
	// Vertical, when set, runs the vertical side of each target that is
	// not off, with the pods and usage the pass read.
	Vertical VerticalReconciler
	// State checkpoints the stabilization history; nil keeps it in memory.
	State StateStore
	// LeaderState is state only the leader writes besides State (the
	// vertical checkpoints): reset on every newly acquired lease, saved
	// while leading, flushed on shutdown before the lease is released.
	LeaderState LeaderState
	// ShutdownTimeout bounds the final checkpoints on shutdown.
	ShutdownTimeout time.Duration
	// SyncPeriod is used when the Config leaves it zero.
	SyncPeriod time.Duration
}

// DefaultOptions returns Options with the defaults filled in; the caller
// adds the clients, sources and actuators.
func DefaultOptions() Options {
	return Options{
		Logger:          slog.New(slog.DiscardHandler),
		Recorder:        &record.FakeRecorder{},
		SyncPeriod:      15 * time.Second,
		ShutdownTimeout: 10 * time.Second,
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
	if o.SyncPeriod <= 0 {
		errs = append(errs, fmt.Errorf("options SyncPeriod %v: must be positive", o.SyncPeriod))
	}
	if o.LeaderState != nil && o.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("options ShutdownTimeout %v: must be positive", o.ShutdownTimeout))
	}
	return errors.Join(errs...)
}
