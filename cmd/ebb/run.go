package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"
	customclient "k8s.io/metrics/pkg/client/custom_metrics"

	"github.com/ebb-autoscaler/ebb/autoscaler"
	"github.com/ebb-autoscaler/ebb/autoscaler/checkpoint"
	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/autoscaler/vertical"
	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/metricsource/metricsapi"
)

// runOptions are the flags of `ebb run`.
type runOptions struct {
	cluster         *clusterOptions
	policy          string
	metricsAddr     string
	leaderElect     bool
	leaseName       string
	identity        string
	policyConfigMap string
	policyInterval  time.Duration
	loop            loopFlags
	readOnly        bool
	// statusHistory and statusResolution bound the leader's /status.
	statusHistory, statusResolution time.Duration
}

// loopFlags are the control-loop settings of ebb run.
type loopFlags struct {
	workers         int
	targetTimeout   time.Duration
	stallPeriods    int
	shutdownTimeout time.Duration
	// verticalCheckpoints is how often the leader saves changed vertical
	// state.
	verticalCheckpoints time.Duration
}

func newRunOptions() *runOptions {
	d := autoscaler.DefaultOptions()
	return &runOptions{cluster: newClusterOptions(), metricsAddr: ":8080", leaseName: "ebb",
		policyInterval: policy.DefaultWatchInterval, statusHistory: 6 * time.Hour, statusResolution: time.Minute,
		loop: loopFlags{workers: d.Workers, targetTimeout: d.TargetTimeout, stallPeriods: d.StallPeriods,
			shutdownTimeout: d.ShutdownTimeout, verticalCheckpoints: vertical.DefaultOptions().CheckpointInterval}}
}

// apply sets the flags on o.
func (f loopFlags) apply(o *autoscaler.Options) {
	o.Workers, o.TargetTimeout, o.StallPeriods, o.ShutdownTimeout = f.workers, f.targetTimeout, f.stallPeriods, f.shutdownTimeout
}

func (o *runOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.policy, "policy", "", "policy file (YAML); hot-reloaded")
	fs.StringVar(&o.metricsAddr, "metrics-addr", o.metricsAddr, "address of /metrics, /healthz and /readyz")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader on a Lease so only one replica actuates")
	fs.StringVar(&o.leaseName, "lease-name", o.leaseName, "name of the leader-election Lease")
	fs.StringVar(&o.identity, "identity", "", "leader-election identity, unique per replica (default: the hostname, i.e. the pod name)")
	fs.StringVar(&o.policyConfigMap, "policy-configmap", "", "ConfigMap holding the policy; rejected reloads get an Event on it")
	fs.DurationVar(&o.policyInterval, "policy-interval", o.policyInterval, "how often the policy file is checked for changes")
	fs.IntVar(&o.loop.workers, "workers", o.loop.workers, "targets reconciled concurrently within a pass")
	fs.DurationVar(&o.loop.targetTimeout, "target-timeout", o.loop.targetTimeout, "deadline of each target's reads and decision, and of its actuation, within a pass")
	fs.IntVar(&o.loop.stallPeriods, "stall-periods", o.loop.stallPeriods, "sync periods without a completed pass after which /healthz fails and the lease is given up")
	fs.DurationVar(&o.loop.shutdownTimeout, "shutdown-timeout", o.loop.shutdownTimeout, "bound on the final checkpoints on SIGTERM")
	fs.DurationVar(&o.loop.verticalCheckpoints, "vertical-checkpoint-interval", o.loop.verticalCheckpoints,
		"how often the leader saves the vertical state that changed (a crash loses at most this much usage history)")
	fs.BoolVar(&o.readOnly, "read-only", false, "the read-only install profile (deploy/; no write access to workloads): compute and report every decision, send none, not even a dry-run")
	fs.DurationVar(&o.statusHistory, "status-history", o.statusHistory, "how far back the leader's /status keeps each target's decisions (in memory)")
	fs.DurationVar(&o.statusResolution, "status-resolution", o.statusResolution, "one /status sample per target per this step (the step's last pass)")
}

// Validate checks the flags that need no cluster.
func (o *runOptions) Validate() error {
	if err := o.cluster.validate(); err != nil {
		return badInput(err)
	}
	if o.policy == "" {
		return usageError("--policy: required")
	}
	if o.policyInterval <= 0 {
		return badInput(fmt.Errorf("--policy-interval %v: must be greater than 0", o.policyInterval))
	}
	lo := autoscaler.DefaultOptions()
	o.loop.apply(&lo)
	var errs []error
	if lo.Workers < 1 {
		errs = append(errs, fmt.Errorf("--workers %d: must be at least 1", lo.Workers))
	}
	if lo.TargetTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--target-timeout %v: must be greater than 0", lo.TargetTimeout))
	}
	if lo.StallPeriods < 2 {
		errs = append(errs, fmt.Errorf("--stall-periods %d: must be at least 2", lo.StallPeriods))
	}
	if lo.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--shutdown-timeout %v: must be greater than 0", lo.ShutdownTimeout))
	}
	if o.statusHistory <= 0 || o.statusResolution <= 0 || o.statusResolution > o.statusHistory {
		errs = append(errs, fmt.Errorf("--status-history %v, --status-resolution %v: both must be greater than 0, the resolution at most the history",
			o.statusHistory, o.statusResolution))
	}
	if o.loop.verticalCheckpoints <= 0 {
		errs = append(errs, fmt.Errorf("--vertical-checkpoint-interval %v: must be greater than 0", o.loop.verticalCheckpoints))
	}
	if err := errors.Join(errs...); err != nil {
		return badInput(err)
	}
	if o.identity == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			return badInput(fmt.Errorf("--identity: not given and no hostname (%v)", err))
		}
		o.identity = host
	}
	return nil
}

// newRunCmd is `ebb run`: the autoscaler service in one namespace.
func newRunCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := newRunOptions()
	cmd := &cobra.Command{
		Use:   "run --policy policy.yaml [-n NAMESPACE]",
		Short: "Run the autoscaler service in one namespace",
		Long: `Run the autoscaler service: every sync period, one pass over the policy's targets in
the namespace (scale them, or only report in dry-run), serving /metrics, /healthz
and /readyz. With --leader-elect only the replica holding the Lease acts.`,
		Example: "  ebb run --policy /etc/ebb/policy.yaml --leader-elect\n  ebb run --policy policy.yaml --context dev -n shop",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			log, err := newLogger(streams.ErrOut, o.cluster.logLevel)
			if err != nil {
				return badInput(err)
			}
			cfg, ns, err := o.cluster.resolve()
			if err != nil {
				return badInput(err)
			}
			klog.SetSlogLogger(log)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			if err := serve(ctx, o, cfg, ns, log); err != nil {
				log.Error("ebb run failed", "err", err)
				return &exitError{code: exitFailure} // logged above
			}
			return nil
		},
	}
	o.cluster.addFlags(cmd)
	o.addFlags(cmd.Flags())
	return cmd
}

// newPrometheus builds the client of the policy's prometheus section, nil
// when it has none.
func newPrometheus(p *policy.Compiled, sm *metricsource.SourceMetrics, log *slog.Logger) (*metricsource.Prometheus, error) {
	if p.Prometheus == nil {
		return nil, nil
	}
	httpCfg, err := metricsource.DecodeHTTPConfig(p.Prometheus.HTTPConfig)
	if err != nil {
		return nil, fmt.Errorf("policy prometheus.httpConfig: %w", err)
	}
	prom, err := metricsource.NewPrometheusClient(p.Prometheus.URL, httpCfg, p.Prometheus.Timeout,
		metricsource.WithLogger(log), metricsource.WithMetrics(sm))
	if err != nil {
		return nil, fmt.Errorf("policy prometheus: %w", err)
	}
	return prom, nil
}

// promSource is prom as the loop's source: a nil interface for none.
func promSource(prom *metricsource.Prometheus) autoscaler.PromSource {
	if prom == nil {
		return nil
	}
	return prom
}

// vpaSyncTimeout bounds the wait for the first list of
// VerticalPodAutoscalers; until it succeeds their conflicts are unknown
// (vertical in-place and rollout stay in dry-run).
const vpaSyncTimeout = 5 * time.Second

// loopParts is what run and report pass to newLoop.
type loopParts struct {
	c         *clients
	namespace string
	holder    *autoscaler.PolicyHolder
	compiled  *policy.Compiled
	// prom is the policy's Prometheus (nil: none) and sm its metrics;
	// both are built by the caller, which also rebuilds prom on reload.
	prom     *metricsource.Prometheus
	sm       *metricsource.SourceMetrics
	reg      prometheus.Registerer
	recorder record.EventRecorder
	log      *slog.Logger
	dryRun   bool
	state    autoscaler.StateStore
	loop     loopFlags
	// checkpointVertical makes the loop's leader write the vertical
	// checkpoints (ebb run only; ebb report never writes).
	checkpointVertical bool
	// reportOnly is ebb report: vertical in-place and rollout only recommend.
	reportOnly bool
	// dryRunActuator, when set, replaces the loop's dry-run actuator.
	dryRunActuator autoscaler.Actuator
	// readOnly is the read-only profile: nothing is sent to workloads, not
	// even a dry-run (vertical in-place and rollout only recommend).
	readOnly bool
	// status, when set, records the leader's passes (ebb run's /status).
	status *autoscaler.StatusHistory
	// identity names this replica in the checkpoints it writes; fence,
	// when set, is checked before each checkpoint write.
	identity string
	fence    func() error
}

// newLoop starts namespace-limited informers (pods, HPAs, and the
// Deployments, StatefulSets and ReplicaSets whose scale the loop reads from
// the cache), waits for their caches and returns the Loop.
func newLoop(ctx context.Context, p loopParts) (*autoscaler.Loop, error) {
	watch := p.c.watch
	if watch == nil {
		watch = p.c.kube
	}
	f := informers.NewSharedInformerFactoryWithOptions(watch, 10*time.Minute, informers.WithNamespace(p.namespace))
	apps := f.Apps().V1()
	if err := syncInformers(ctx, f, f.Core().V1().Pods().Informer(), f.Autoscaling().V2().HorizontalPodAutoscalers().Informer(),
		apps.Deployments().Informer(), apps.StatefulSets().Informer(), apps.ReplicaSets().Informer()); err != nil {
		return nil, err
	}
	o := autoscaler.DefaultOptions()
	if p.loop.workers > 0 {
		p.loop.apply(&o)
	}
	o.Namespace, o.Logger, o.Registerer, o.Config = p.namespace, p.log, p.reg, p.holder
	o.Scales, o.Mapper, o.Pods, o.HPAs = p.c.scales, p.c.mapper, f.Core().V1().Pods().Lister(), f.Autoscaling().V2().HorizontalPodAutoscalers().Lister()
	o.Workloads = autoscaler.NewWorkloadCache(apps.Deployments().Lister(), apps.StatefulSets().Lister(), apps.ReplicaSets().Lister())
	o.Usage = metricsource.NewMetricsServer(p.c.metrics.MetricsV1beta1(), metricsource.WithLogger(p.log), metricsource.WithMetrics(p.sm))
	o.Recorder, o.DryRun, o.State, o.ReadOnly = p.recorder, p.dryRun, p.state, p.readOnly
	if p.dryRunActuator != nil {
		o.DryRunActuator = p.dryRunActuator
	}
	if p.status != nil {
		o.Status = p.status
	}
	o.MetricsAPIs = metricsapi.New(p.c.custom, p.c.external, p.sm)
	var history vertical.RangeQuerier
	if p.prom != nil {
		history = p.prom            // seeds the vertical histograms from Prometheus history once per target
		o.Forecast.History = p.prom // and the proactive mode's demand history
	}
	v, err := newVertical(p, history)
	if err != nil {
		return nil, err
	}
	o.Vertical = v
	if p.c.disc != nil {
		if vpas := vertical.DiscoverVPAs(ctx, p.c.disc, p.c.dynWatch, p.namespace, vpaSyncTimeout); vpas != nil {
			o.VPAs = vpas // a VPA in any mode but Off keeps an in-place or rollout target's vertical side in dry-run
		}
	}
	if p.checkpointVertical {
		o.LeaderState = v
	}
	return autoscaler.New(o)
}

// stateStore is the ConfigMap store of the horizontal state (ebb-state-*
// shards); ebb report's is read-only. writer names this replica in the
// ConfigMaps it writes (annotation ebb.io/writer).
func stateStore(c *clients, ns string, readOnly bool, writer string, fence func() error) (*checkpoint.Store, error) {
	return checkpoint.New(checkpoint.Options{Client: c.kube.CoreV1(), Namespace: ns, Name: autoscaler.StateStoreName,
		ReadOnly: readOnly, Writer: writer, Fence: fence})
}

// eventRecorder sends Events to the namespace only (a namespace-scoped
// sink, as the Role allows).
func eventRecorder(kube kubernetes.Interface, namespace string) (record.EventRecorder, func()) {
	b := record.NewBroadcaster()
	b.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: kube.CoreV1().Events(namespace)})
	return b.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "ebb"}), b.Shutdown
}

// serve is ebb run after flag parsing: it runs until ctx is done.
func serve(ctx context.Context, f *runOptions, cfg *rest.Config, ns string, log *slog.Logger) error {
	c, err := newClients(cfg)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ready := &autoscaler.Readiness{}
	health := &lateHealth{}
	status := autoscaler.NewStatusHistory(f.statusHistory, f.statusResolution)
	srv, err := startServer(f.metricsAddr, withStatus(autoscaler.Handler(reg, ready, health), status, health, f, c, ns), log)
	if err != nil {
		return err
	}
	defer shutdown(srv)
	recorder, stopEvents := eventRecorder(c.kube, ns)
	defer stopEvents()
	// The fence refuses state writes once this replica is not sure it
	// leads (armed only with --leader-elect).
	fence := autoscaler.NewLeaseFence()
	w, loop, err := startPolicy(ctx, f, ns, c, reg, recorder, log, status, fence)
	if err != nil {
		return err
	}
	go func() { _ = w.Run(ctx) }()
	// As kube-controller-manager (every HPA sync period, 15s by default):
	// forget the custom metrics API version, so an adapter installed or
	// upgraded later is seen.
	go customclient.PeriodicallyInvalidate(c.customVersions, policy.DefaultSyncPeriod, ctx.Done())
	health.loop.Store(loop)
	ready.Set(true)
	log.Info("ebb running", "namespace", ns, "policy", f.policy, "leaderElect", f.leaderElect, "readOnly", f.readOnly)
	if !f.leaderElect {
		return loop.RunLeader(ctx)
	}
	eo := autoscaler.DefaultElectionOptions()
	eo.Leases, eo.Namespace, eo.LeaseName, eo.Identity = c.kube.CoordinationV1(), ns, f.leaseName, f.identity
	eo.Fence = fence
	return loop.RunElected(ctx, eo)
}

// lateHealth is /healthz before the loop exists (healthy: starting) and
// the loop's Healthy after.
type lateHealth struct {
	loop atomic.Pointer[autoscaler.Loop]
}

func (h *lateHealth) Healthy(now time.Time) error {
	if l := h.loop.Load(); l != nil {
		return l.Healthy(now)
	}
	return nil
}

// leading says whether the loop (once it exists) runs passes.
func (h *lateHealth) leading() bool {
	l := h.loop.Load()
	return l != nil && l.Leading()
}

// withStatus adds GET /status (the leader's recent decisions) to h. With
// leader election a standby relays it to the leader's pod, since the
// API server's service proxy picks any replica behind the Service.
func withStatus(h http.Handler, status *autoscaler.StatusHistory, health *lateHealth, f *runOptions, c *clients, ns string) http.Handler {
	var fwd http.Handler
	if f.leaderElect {
		_, port, _ := net.SplitHostPort(f.metricsAddr)
		p, _ := strconv.Atoi(port) // checked by net.Listen before any request
		fwd = &autoscaler.LeaderForwarder{Leases: c.kube.CoordinationV1(), Pods: c.kube.CoreV1(), Namespace: ns, LeaseName: f.leaseName, Port: p}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /status", autoscaler.StatusHandler(status, health.leading, fwd))
	mux.Handle("/", h)
	return mux
}

// startPolicy loads the policy (a bad file stops ebb: there is no last good
// one yet), builds the loop and a watcher that hot-reloads the file. A
// reload puts the new policy in force with a Prometheus client rebuilt when
// its prometheus section changed; ebb_policy_reloads_total counts
// "success" only then, "invalid" for a rejected file and "error" for a
// valid one that could not be applied (the last good policy stays).
func startPolicy(ctx context.Context, f *runOptions, ns string, c *clients, reg prometheus.Registerer, recorder record.EventRecorder, log *slog.Logger,
	status *autoscaler.StatusHistory, fence *autoscaler.LeaseFence) (*policy.Watcher, *autoscaler.Loop, error) {
	var loop *autoscaler.Loop
	var holder *autoscaler.PolicyHolder
	var current *policy.Compiled
	var prom *metricsource.Prometheus
	sm := metricsource.NewSourceMetrics(reg)
	w, err := policy.NewWatcher(policy.WatcherOptions{
		Path:     f.policy,
		Interval: f.policyInterval,
		OnReload: func(p *policy.Compiled) {
			next, rebuilt := prom, !reflect.DeepEqual(p.Prometheus, current.Prometheus)
			if rebuilt {
				np, err := newPrometheus(p, sm, log)
				if err != nil {
					loop.PolicyReloaded("error")
					log.Error("policy not applied: its prometheus section does not build a client; the last good policy stays in force",
						"policy", f.policy, "err", err)
					return
				}
				next = np
			}
			holder.Set(p, promSource(next))
			current, prom = p, next
			loop.PolicyReloaded("success")
			log.Info("policy reloaded", "policy", f.policy, "targets", len(p.Targets), "prometheusRebuilt", rebuilt)
		},
		OnReject: func(err error) {
			loop.PolicyReloaded("invalid")
			log.Error("policy rejected, last good policy stays in force", "policy", f.policy, "err", err)
			if f.policyConfigMap != "" {
				recorder.Event(&corev1.ObjectReference{Kind: "ConfigMap", APIVersion: "v1", Namespace: ns, Name: f.policyConfigMap},
					corev1.EventTypeWarning, "PolicyRejected", err.Error())
			}
		},
	})
	if err != nil {
		return nil, nil, err
	}
	if current, err = w.Load(); err != nil {
		return nil, nil, err
	}
	if prom, err = newPrometheus(current, sm, log); err != nil {
		return nil, nil, err
	}
	state, err := stateStore(c, ns, false, f.identity, fence.Check)
	if err != nil {
		return nil, nil, err
	}
	holder = autoscaler.NewPolicyHolder(ns, current, promSource(prom))
	loop, err = newLoop(ctx, loopParts{c: c, namespace: ns, holder: holder, compiled: current, prom: prom, sm: sm, reg: reg,
		recorder: recorder, log: log, checkpointVertical: true, state: state, loop: f.loop, readOnly: f.readOnly, status: status,
		identity: f.identity, fence: fence.Check})
	if err != nil {
		return nil, nil, err
	}
	return w, loop, nil
}

// startServer listens on addr and serves h in the background.
func startServer(addr string, h http.Handler, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %q: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "addr", addr, "err", err)
		}
	}()
	log.Info("serving /metrics, /healthz, /readyz", "addr", ln.Addr().String())
	return srv, nil
}

func shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
}

// verticalAdapter adapts vertical.Runner to the loop: each target's
// vertical mode, container policies and rate limits come from the policy
// (t.Vertical; mode recommend when the file has no vertical section). The
// loop's dryRun (target mode dry-run, ebb report, HPA conflict) makes every
// vertical patch dry-run. With reportOnly (ebb report) or readOnly (the
// read-only profile) in-place and rollout fall back to recommend: nothing
// is sent, not even a dry-run.
type verticalAdapter struct {
	r          *vertical.Runner
	reportOnly bool
	readOnly   bool
}

func (v verticalAdapter) ReconcileVertical(ctx context.Context, now time.Time, t autoscaler.Target, current int32, dryRun bool,
	pods []*corev1.Pod, usage []metricsource.PodUsage) ([]report.Container, error) {
	cv := t.Vertical
	mode := cv.Mode
	if mode == "" || ((v.reportOnly || v.readOnly) && mode != policy.VerticalOff) {
		mode = policy.VerticalRecommend
	}
	vt := vertical.Target{Namespace: t.Namespace, APIVersion: t.Ref.APIVersion, Kind: t.Ref.Kind, Name: t.Ref.Name,
		Replicas: current, MinReplicas: t.Spec.MinReplicas, DryRun: dryRun,
		ResizePods: cv.ResizePods, ResizePeriod: cv.ResizePeriod, RolloutPeriod: cv.RolloutPeriod}
	return v.r.Reconcile(ctx, now, vt, mode, cv.Policy, pods, usage)
}

// ForgetVertical drops a target that left the policy
// (autoscaler.VerticalForgetter).
func (v verticalAdapter) ForgetVertical(target string) { v.r.Forget(target) }

// Lead and Flush make the vertical checkpoints the leader's
// (autoscaler.LeaderState).
func (v verticalAdapter) Lead(ctx context.Context) (wait func()) { return v.r.Lead(ctx) }

// Flush saves the final vertical checkpoints.
func (v verticalAdapter) Flush(ctx context.Context) error { return v.r.Flush(ctx) }

// newVertical builds the vertical side of the loop. A non-nil history (the
// policy's Prometheus) bootstraps each target's histograms from
// container_cpu_usage_seconds_total and container_memory_working_set_bytes
// when no checkpoint exists (retried with backoff when Prometheus fails).
func newVertical(p loopParts, history vertical.RangeQuerier) (verticalAdapter, error) {
	o := vertical.DefaultOptions()
	o.Namespace, o.Logger, o.Registerer, o.Client = p.namespace, p.log, p.reg, p.c.kube
	o.History = history
	o.ReadOnly = !p.checkpointVertical // ebb report reads the checkpoints, never writes them
	o.Identity, o.Fence = p.identity, p.fence
	if p.loop.verticalCheckpoints > 0 {
		o.CheckpointInterval = p.loop.verticalCheckpoints
	}
	o.Actuator.Recorder = p.recorder
	r, err := vertical.NewRunner(o)
	if err != nil {
		return verticalAdapter{}, err
	}
	return verticalAdapter{r: r, reportOnly: p.reportOnly, readOnly: p.readOnly}, nil
}
