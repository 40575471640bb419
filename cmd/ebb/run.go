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
}

func newRunOptions() *runOptions {
	return &runOptions{cluster: newClusterOptions(), metricsAddr: ":8080", leaseName: "ebb",
		policyInterval: policy.DefaultWatchInterval}
}

func (o *runOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.policy, "policy", "", "policy file (YAML); hot-reloaded")
	fs.StringVar(&o.metricsAddr, "metrics-addr", o.metricsAddr, "address of /metrics, /healthz and /readyz")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader on a Lease so only one replica actuates")
	fs.StringVar(&o.leaseName, "lease-name", o.leaseName, "name of the leader-election Lease")
	fs.StringVar(&o.identity, "identity", "", "leader-election identity, unique per replica (default: the hostname, i.e. the pod name)")
	fs.StringVar(&o.policyConfigMap, "policy-configmap", "", "ConfigMap holding the policy; rejected reloads get an Event on it")
	fs.DurationVar(&o.policyInterval, "policy-interval", o.policyInterval, "how often the policy file is checked for changes")
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

// sources builds the metric sources; Prometheus only when the policy
// configures it (its connection is read at start, not hot-reloaded).
func sources(c *clients, p *policy.Compiled, sm *metricsource.SourceMetrics, log *slog.Logger) (*metricsource.MetricsServer, *metricsource.Prometheus, error) {
	opts := []metricsource.Option{metricsource.WithLogger(log), metricsource.WithMetrics(sm)}
	ms := metricsource.NewMetricsServer(c.metrics.MetricsV1beta1(), opts...)
	if p.Prometheus == nil {
		return ms, nil, nil
	}
	httpCfg, err := metricsource.DecodeHTTPConfig(p.Prometheus.HTTPConfig)
	if err != nil {
		return nil, nil, fmt.Errorf("policy prometheus.httpConfig: %w", err)
	}
	prom, err := metricsource.NewPrometheusClient(p.Prometheus.URL, httpCfg, p.Prometheus.Timeout, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("policy prometheus: %w", err)
	}
	return ms, prom, nil
}

// loopParts is what run and report pass to newLoop.
type loopParts struct {
	c         *clients
	namespace string
	holder    *autoscaler.PolicyHolder
	compiled  *policy.Compiled
	reg       prometheus.Registerer
	recorder  record.EventRecorder
	log       *slog.Logger
	dryRun    bool
	state     autoscaler.StateStore
	// checkpointVertical makes the loop's leader write the vertical
	// checkpoints (ebb run only; ebb report never writes).
	checkpointVertical bool
	// reportOnly is ebb report: vertical in-place and rollout only recommend.
	reportOnly bool
}

// newLoop starts namespace-limited pod and HPA informers, waits for their
// caches and returns the Loop.
func newLoop(ctx context.Context, p loopParts) (*autoscaler.Loop, error) {
	sm := metricsource.NewSourceMetrics(p.reg)
	usage, prom, err := sources(p.c, p.compiled, sm, p.log)
	if err != nil {
		return nil, err
	}
	f := informers.NewSharedInformerFactoryWithOptions(p.c.kube, 10*time.Minute, informers.WithNamespace(p.namespace))
	pods := f.Core().V1().Pods().Lister()
	hpas := f.Autoscaling().V2().HorizontalPodAutoscalers().Lister()
	if err := syncInformers(ctx, f, f.Core().V1().Pods().Informer(), f.Autoscaling().V2().HorizontalPodAutoscalers().Informer()); err != nil {
		return nil, err
	}
	o := autoscaler.DefaultOptions()
	o.Namespace, o.Logger, o.Registerer, o.Config = p.namespace, p.log, p.reg, p.holder
	o.Scales, o.Mapper, o.Pods, o.HPAs = p.c.scales, p.c.mapper, pods, hpas
	o.Usage, o.Recorder, o.DryRun, o.State = usage, p.recorder, p.dryRun, p.state
	if prom != nil {
		o.PodValues, o.Scalars = prom, prom
	}
	o.MetricsAPIs = metricsapi.New(p.c.custom, p.c.external, sm)
	var history vertical.RangeQuerier
	if prom != nil {
		history = prom // seeds the vertical histograms from Prometheus history once per target
	}
	v, err := newVertical(p, history)
	if err != nil {
		return nil, err
	}
	o.Vertical = v
	if p.checkpointVertical {
		o.LeaderState = v
	}
	return autoscaler.New(o)
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
	srv, err := startServer(f.metricsAddr, autoscaler.Handler(reg, ready), log)
	if err != nil {
		return err
	}
	defer shutdown(srv)
	recorder, stopEvents := eventRecorder(c.kube, ns)
	defer stopEvents()
	w, loop, err := startPolicy(ctx, f, ns, c, reg, recorder, log)
	if err != nil {
		return err
	}
	go func() { _ = w.Run(ctx) }()
	// As kube-controller-manager (every HPA sync period, 15s by default):
	// forget the custom metrics API version, so an adapter installed or
	// upgraded later is seen.
	go customclient.PeriodicallyInvalidate(c.customVersions, policy.DefaultSyncPeriod, ctx.Done())
	ready.Set(true)
	log.Info("ebb running", "namespace", ns, "policy", f.policy, "leaderElect", f.leaderElect)
	if !f.leaderElect {
		return loop.RunLeader(ctx)
	}
	eo := autoscaler.DefaultElectionOptions()
	eo.Leases, eo.Namespace, eo.LeaseName, eo.Identity = c.kube.CoordinationV1(), ns, f.leaseName, f.identity
	return loop.RunElected(ctx, eo)
}

// startPolicy loads the policy (a bad file stops ebb: there is no last good
// one yet), builds the loop and a watcher that hot-reloads the file.
func startPolicy(ctx context.Context, f *runOptions, ns string, c *clients, reg prometheus.Registerer, recorder record.EventRecorder, log *slog.Logger) (*policy.Watcher, *autoscaler.Loop, error) {
	var loop *autoscaler.Loop
	var holder *autoscaler.PolicyHolder
	w, err := policy.NewWatcher(policy.WatcherOptions{
		Path:     f.policy,
		Interval: f.policyInterval,
		OnReload: func(p *policy.Compiled) {
			holder.Set(p)
			loop.PolicyReloaded("success")
			log.Info("policy reloaded", "policy", f.policy, "targets", len(p.Targets))
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
	compiled, err := w.Load()
	if err != nil {
		return nil, nil, err
	}
	holder = autoscaler.NewPolicyHolder(ns, compiled)
	loop, err = newLoop(ctx, loopParts{c: c, namespace: ns, holder: holder, compiled: compiled, reg: reg,
		recorder: recorder, log: log, checkpointVertical: true,
		state: autoscaler.NewConfigMapStore(c.kube.CoreV1(), ns, autoscaler.DefaultStateName, false, log)})
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
// vertical patch dry-run. With reportOnly (ebb report) in-place and rollout
// fall back to recommend: a report never actuates, not even in dry-run.
type verticalAdapter struct {
	r          *vertical.Runner
	reportOnly bool
}

func (v verticalAdapter) ReconcileVertical(ctx context.Context, now time.Time, t autoscaler.Target, current int32, dryRun bool,
	pods []*corev1.Pod, usage []metricsource.PodUsage) ([]report.Container, error) {
	cv := t.Vertical
	mode := cv.Mode
	if mode == "" || (v.reportOnly && mode != policy.VerticalOff) {
		mode = policy.VerticalRecommend
	}
	vt := vertical.Target{Namespace: t.Namespace, APIVersion: t.Ref.APIVersion, Kind: t.Ref.Kind, Name: t.Ref.Name,
		Replicas: current, MinReplicas: t.Spec.MinReplicas, DryRun: dryRun,
		ResizePods: cv.ResizePods, ResizePeriod: cv.ResizePeriod, RolloutPeriod: cv.RolloutPeriod}
	return v.r.Reconcile(ctx, now, vt, mode, cv.Policy, pods, usage)
}

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
	o.Actuator.Recorder = p.recorder
	r, err := vertical.NewRunner(o)
	if err != nil {
		return verticalAdapter{}, err
	}
	return verticalAdapter{r: r, reportOnly: p.reportOnly}, nil
}
