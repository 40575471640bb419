package vertical

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-autoscaler/ebb/autoscaler/checkpoint"
	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/metricsource"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// Options wire a Runner: the vertical side of one namespace's loop.
type Options struct {
	Namespace string
	Logger    *slog.Logger
	// Registerer receives the ebb_vertical_* gauges (never the global one).
	Registerer prometheus.Registerer
	// Client is used for checkpoint ConfigMaps, pods/resize and pod
	// template patches.
	Client kubernetes.Interface
	// Config is the recommender's; nil means rv.DefaultConfig().
	Config *rv.Config
	// History, when set, seeds each target from Prometheus once at start.
	History   RangeQuerier
	Bootstrap BootstrapOptions
	// CheckpointInterval is how often the state is saved (10m).
	CheckpointInterval time.Duration
	// ReadOnly loads checkpoints and never writes them (ebb report).
	ReadOnly bool
	// Identity names this replica in the checkpoints it writes.
	Identity string
	// Fence, when set, is checked right before each checkpoint write (an
	// error refuses it: autoscaler.LeaseFence.Check).
	Fence    func() error
	Actuator ActuatorOptions
}

// DefaultOptions: 10m checkpoints, 8d/5m bootstrap, DefaultActuatorOptions.
func DefaultOptions() Options {
	return Options{CheckpointInterval: 10 * time.Minute, Bootstrap: DefaultBootstrapOptions(),
		Actuator: DefaultActuatorOptions()}
}

// Validate names every invalid field.
func (o Options) Validate() error {
	var errs []error
	if o.Namespace == "" {
		errs = append(errs, errors.New("vertical: namespace is empty"))
	}
	if o.Client == nil {
		errs = append(errs, errors.New("vertical: kubernetes client is nil"))
	}
	if o.CheckpointInterval <= 0 {
		errs = append(errs, fmt.Errorf("vertical checkpoint interval %s: must be positive", o.CheckpointInterval))
	}
	if o.History != nil {
		errs = append(errs, o.Bootstrap.Validate())
	}
	errs = append(errs, o.Actuator.Validate())
	return errors.Join(errs...)
}

// Runner is the vertical side of one namespace: it owns the Manager, the
// checkpoint store, the Actuator and the metrics. Its state is written
// only while it leads (Lead): a replica that never led, or lost its lease,
// writes no checkpoint.
type Runner struct {
	o        Options
	log      *slog.Logger
	manager  *Manager
	store    *checkpoint.Store
	actuator *Actuator
	metrics  *Metrics

	mu      sync.Mutex
	leading bool // a Lead term is live
	term    int  // counts Lead terms
}

// NewRunner validates o and builds a Runner.
func NewRunner(o Options) (*Runner, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("invalid vertical options: %w", err)
	}
	if o.Config == nil {
		o.Config = rv.DefaultConfig()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry() // metrics not exported
	}
	store, err := NewStore(o.Client.CoreV1(), o.Namespace, o.ReadOnly, o.Identity, o.Fence)
	if err != nil {
		return nil, fmt.Errorf("vertical checkpoint store: %w", err)
	}
	return &Runner{o: o, log: o.Logger,
		manager:  NewManager(o.Namespace, o.Config, o.Logger),
		store:    store,
		actuator: NewActuator(o.Client.CoreV1(), o.Client.AppsV1(), o.Actuator),
		metrics:  NewMetrics(o.Registerer)}, nil
}

// Manager is the Runner's state (for tests and the report).
func (r *Runner) Manager() *Manager { return r.manager }

// Reconcile runs one pass of the vertical side for target t at now: restore
// its checkpoint and bootstrap it from Prometheus (both once), observe pods
// and usage (the namespace's PodUsage list; nil when metrics-server failed),
// recommend under vp, act per mode, update the metrics, and return the
// report rows. Mode off forgets the target's metrics and returns nothing.
// Errors are joined; rows are returned whenever a recommendation exists.
func (r *Runner) Reconcile(ctx context.Context, now time.Time, t Target, mode policy.VerticalMode, vp rv.Policy,
	pods []*corev1.Pod, usage []metricsource.PodUsage) ([]report.Container, error) {
	key := t.Key()
	if mode == policy.VerticalOff {
		r.metrics.Forget(t.Namespace, key)
		return nil, nil
	}
	var errs []error
	restoreErr := r.manager.Restore(ctx, r.store, key)
	errs = append(errs, restoreErr)
	// Bootstrap only once the checkpoint is known absent or restored.
	if restoreErr == nil && r.o.History != nil && len(pods) > 0 {
		errs = append(errs, r.bootstrap(ctx, now, t, pods))
	}
	errs = append(errs, r.manager.Observe(now, key, pods, usage))
	recs, err := r.manager.Recommend(now, key, vp)
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	requests, last := r.manager.Requests(key), r.manager.Usage(key)
	r.metrics.Record(t.Namespace, key, recs, requests, last)
	acts := r.manager.Actuations(key)
	res, err := r.actuator.Apply(ctx, now, mode, t, recs, pods, &acts)
	errs = append(errs, err)
	if res.Held != "" {
		r.log.Debug("vertical actuation held", "namespace", t.Namespace, "target", key, "reason", res.Held)
	}
	if r.manager.SetActuations(key, acts) {
		// The rate-limit memory is saved at once: a failover right after a
		// rollout must not allow a second one.
		errs = append(errs, r.saveNow(ctx, now, key))
	}
	return ReportContainers(recs, requests, last), errors.Join(errs...)
}

func (r *Runner) bootstrap(ctx context.Context, now time.Time, t Target, pods []*corev1.Pod) error {
	names := make([]string, len(pods))
	for i, p := range pods {
		names[i] = p.Name
	}
	regex, err := HistoryPodRegex(t.Kind, t.Name, names)
	if err != nil {
		return fmt.Errorf("bootstrap %s: %w", t.Key(), err)
	}
	err = r.manager.Bootstrap(ctx, r.o.History, r.o.Bootstrap, now, t.Key(), regex)
	if errors.Is(err, metricsource.ErrNoData) {
		r.log.Info("no Prometheus history for the vertical bootstrap", "namespace", t.Namespace, "target", t.Key())
		return nil
	}
	return err
}

// Forget drops a target that left the policy: state and metrics (its
// checkpoint ConfigMap stays, for a policy that brings it back).
func (r *Runner) Forget(target string) {
	r.manager.Forget(target)
	r.metrics.Forget(r.o.Namespace, target)
}
