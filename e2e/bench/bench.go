package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ebb-autoscaler/ebb/e2e/cluster"
	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// Namespace holds every target of the benchmark.
const Namespace = "bench"

// Users whose requests the phases count (the audit policy logs only them).
const (
	hpaServiceAccount = "system:serviceaccount:kube-system:horizontal-pod-autoscaler"
	ebbServiceAccount = "system:serviceaccount:" + Namespace + ":" + harness.EbbServiceAccount
)

// Options configure a benchmark run.
type Options struct {
	Targets       int           // Deployments (and HPAs, and policy targets)
	PodsPerTarget int           // replicas of each at the start
	Phase         time.Duration // length of each phase
	SyncPeriod    time.Duration // HPA sync period and ebb's syncPeriod
	ClientQPS     float32       // client QPS of both controllers (and kcm's, to create the pods)
	ClientBurst   int
	Nodes         int // kwok nodes the pods are spread over
	HPAWorkers    int // --concurrent-horizontal-pod-autoscaler-syncs

	Dir      string // run directory of the cluster
	BinDir   string // cluster binaries (build.sh path)
	EbbBin   string
	RolePath string // deploy/kustomize/role.yaml
	Logger   *slog.Logger
}

// DefaultOptions is the 500-target run of `make bench-cluster`. The HPA
// controller gets 20 workers, not kcm's default 5: on this shared 2-core
// machine an API round trip takes 50-200 ms, and 5 workers then reconcile
// only about half of 500 HPAs per sync period (measured: 230 per 15 s),
// which would understate what the HPA controller costs when it keeps up.
func DefaultOptions() Options {
	return Options{Targets: 500, PodsPerTarget: 10, Phase: 4 * time.Minute, SyncPeriod: 15 * time.Second,
		ClientQPS: 500, ClientBurst: 1000, Nodes: 10, HPAWorkers: 20, Logger: slog.Default()}
}

// settleTimeout bounds the wait for every pod to run at its share: 10
// minutes, or 60 ms a pod when that is longer (20,000 pods: 20 minutes; on
// this shared 2-core machine 5,000 pods took 1.5-3 minutes).
func (o Options) settleTimeout() time.Duration {
	return max(10*time.Minute, time.Duration(o.Targets*o.PodsPerTarget)*60*time.Millisecond)
}

// Validate names every bad option.
func (o Options) Validate() error {
	var errs []error
	if o.Targets < 1 {
		errs = append(errs, fmt.Errorf("Targets %d: must be at least 1", o.Targets))
	}
	if o.PodsPerTarget < minReplicas || o.PodsPerTarget > maxReplicas {
		errs = append(errs, fmt.Errorf("PodsPerTarget %d: must be in %d..%d (the HPAs' range)", o.PodsPerTarget, minReplicas, maxReplicas))
	}
	if o.SyncPeriod < time.Second {
		errs = append(errs, fmt.Errorf("SyncPeriod %s: must be at least 1s", o.SyncPeriod))
	}
	if o.Phase < 6*o.SyncPeriod {
		errs = append(errs, fmt.Errorf("Phase %s: must be at least 6 sync periods (%s)", o.Phase, 6*o.SyncPeriod))
	}
	if o.ClientQPS <= 0 || o.ClientBurst <= 0 {
		errs = append(errs, fmt.Errorf("ClientQPS %v, ClientBurst %d: must be positive", o.ClientQPS, o.ClientBurst))
	}
	if o.Nodes < 1 || o.Nodes > 20 {
		errs = append(errs, fmt.Errorf("Nodes %d: must be in 1..20", o.Nodes))
	}
	if o.HPAWorkers < 1 {
		errs = append(errs, fmt.Errorf("HPAWorkers %d: must be at least 1", o.HPAWorkers))
	}
	for name, v := range map[string]string{"Dir": o.Dir, "BinDir": o.BinDir, "EbbBin": o.EbbBin, "RolePath": o.RolePath} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is empty", name))
		}
	}
	if o.Logger == nil {
		errs = append(errs, errors.New("Logger is nil"))
	}
	return errors.Join(errs...)
}

// auditPolicy logs the requests of the controllers' users at Metadata
// level and nothing else (the load driver's patches and kwok's status
// updates would dwarf them).
func auditPolicy() string {
	return fmt.Sprintf(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: [%q, %q, %q]
- level: None
`, hpaServiceAccount, cluster.HPAControllerUser, ebbServiceAccount)
}

// Run starts a cluster in o.Dir, runs both phases and returns their
// results; the cluster is stopped before it returns.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("invalid bench options: %w", err)
	}
	log := o.Logger
	co := cluster.DefaultOptions()
	co.Dir, co.BinDir, co.DieWithParent, co.Logger = o.Dir, o.BinDir, true, log
	co.Nodes, co.NodePods = o.Nodes, o.Targets*maxReplicas/o.Nodes+maxReplicas
	co.NoScheduler, co.NoPrometheus = true, true
	co.ControllerQPS, co.ControllerBurst = 1000, 2000 // the ReplicaSet controller creates every pod
	co.AuditPolicy = auditPolicy()
	t0 := time.Now()
	c, err := cluster.Up(ctx, co)
	if c != nil {
		defer func() {
			if err := c.Down(); err != nil {
				log.Warn("cluster down", "err", err)
			}
		}()
	}
	if err != nil {
		return nil, fmt.Errorf("cluster up: %w", err)
	}
	env, err := harness.NewEnv(c)
	if err != nil {
		return nil, err
	}
	r := &Result{Options: o, Machine: readMachine()}
	r.Setup.ClusterUp = time.Since(t0)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := env.CreateNamespace(ctx, Namespace); err != nil {
		return nil, err
	}
	drv, err := newDriver(env.Kube, Namespace, o.PodsPerTarget, log)
	if err != nil {
		return nil, err
	}
	if err := drv.start(ctx); err != nil {
		return nil, err
	}
	t0 = time.Now()
	if err := createTargets(ctx, env.Kube, Namespace, o.Targets, o.PodsPerTarget, c.State.Nodes); err != nil {
		return nil, err
	}
	if err := waitSettled(ctx, drv, o, o.settleTimeout()); err != nil {
		return nil, err
	}
	r.Setup.PodsRunning = time.Since(t0)
	log.Info("targets running", "targets", o.Targets, "pods", o.Targets*o.PodsPerTarget, "took", r.Setup.PodsRunning.Round(time.Second))
	if err := waitMetrics(ctx, env, c, o); err != nil {
		return nil, err
	}
	go drv.run(ctx, o.Targets, time.Second)

	r.HPA, err = runPhase(ctx, env, c, drv, o, hpaPhase{targets: o.Targets})
	if err != nil {
		return r, fmt.Errorf("HPA phase: %w", err)
	}
	t0 = time.Now()
	if err := reset(ctx, env, c, drv, o); err != nil {
		return r, fmt.Errorf("reset between phases: %w", err)
	}
	r.Setup.Reset = time.Since(t0)
	r.Ebb, err = runPhase(ctx, env, c, drv, o, &ebbPhase{})
	if err != nil {
		return r, fmt.Errorf("ebb phase: %w", err)
	}
	if err := countRequests(c.AuditLogPath(), r); err != nil {
		return r, err
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		r.Machine.LoadAvg = strings.Join(strings.Fields(string(data))[:3], " ")
	}
	return r, nil
}

// waitSettled waits until every target runs PodsPerTarget ready pods at
// the driver's current demand.
func waitSettled(ctx context.Context, drv *driver, o Options, timeout time.Duration) error {
	return harness.Eventually(ctx, "targets settled", timeout, 2*time.Second, func(ctx context.Context) error {
		if err := drv.apply(ctx, o.Targets); err != nil {
			return err
		}
		return drv.settled(o.Targets, o.PodsPerTarget)
	})
}

// waitMetrics waits until metrics.k8s.io serves CPU for every pod.
func waitMetrics(ctx context.Context, env *harness.Env, c *cluster.Cluster, o Options) error {
	want := o.Targets * o.PodsPerTarget
	return harness.Eventually(ctx, "metrics.k8s.io serves every pod", max(3*time.Minute, time.Duration(want)*10*time.Millisecond), 5*time.Second, func(ctx context.Context) error {
		if err := c.PrimeKwok(ctx); err != nil {
			return err
		}
		list, err := env.Metrics.MetricsV1beta1().PodMetricses(Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(list.Items) < want {
			return fmt.Errorf("%d of %d pods have metrics", len(list.Items), want)
		}
		return nil
	})
}

// reset brings every target back to its start (PodsPerTarget pods at
// factor 1) and waits one metrics resolution more, so the second phase
// starts where the first did.
func reset(ctx context.Context, env *harness.Env, c *cluster.Cluster, drv *driver, o Options) error {
	drv.setFactor(1)
	if err := scaleAll(ctx, env.Kube, Namespace, o.Targets, o.PodsPerTarget); err != nil {
		return err
	}
	if err := waitSettled(ctx, drv, o, o.settleTimeout()); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(2 * cluster.DefaultOptions().MetricResolution):
	}
	return nil
}

// controller is what differs between the phases: how the controller is
// started and stopped, which process and users it is, what its latency is.
type controller interface {
	name() string
	users() []string
	start(ctx context.Context, env *harness.Env, c *cluster.Cluster, o Options) (pid int, err error)
	latency(ctx context.Context, c *cluster.Cluster) (Latency, error)
	stop(ctx context.Context, env *harness.Env, c *cluster.Cluster) error
}

// runPhase runs one controller for o.Phase under the load schedule.
func runPhase(ctx context.Context, env *harness.Env, c *cluster.Cluster, drv *driver, o Options, ctl controller) (Phase, error) {
	log := o.Logger.With("phase", ctl.name())
	p := Phase{Name: ctl.name(), Users: ctl.users()}
	before, err := clusterCPU(c)
	if err != nil {
		return p, err
	}
	msBefore, err := metricsServerRequests(ctx, c)
	if err != nil {
		return p, err
	}
	p.Start = time.Now()
	pid, err := ctl.start(ctx, env, c, o)
	if err != nil {
		return p, err
	}
	log.Info("phase started", "pid", pid)
	loads := sampleLoad(ctx, 10*time.Second)
	steps := Schedule(o.Phase)
	for _, s := range steps {
		if d := time.Until(p.Start.Add(s.At)); d > 0 {
			select {
			case <-ctx.Done():
				return p, ctx.Err()
			case <-time.After(d):
			}
		}
		drv.setFactor(s.Factor)
		log.Info("load step", "factor", s.Factor)
	}
	select {
	case <-ctx.Done():
		return p, ctx.Err()
	case <-time.After(time.Until(p.Start.Add(o.Phase))):
	}
	cpu1, err := readProcStats(pid)
	if err != nil {
		return p, err
	}
	p.End = time.Now()
	// The process started in this phase: its CPU time so far is the phase's,
	// start-up (first lists, cache sync) included, as its requests are.
	p.Controller = cpu1
	p.Load = loads()
	if p.Latency, err = ctl.latency(ctx, c); err != nil {
		return p, err
	}
	msAfter, err := metricsServerRequests(ctx, c)
	if err != nil {
		return p, err
	}
	p.MetricsServerRequests = msAfter - msBefore
	after, err := clusterCPU(c)
	if err != nil {
		return p, err
	}
	p.APIServerCPU = after["kube-apiserver"] - before["kube-apiserver"]
	p.MetricsServerCPU = after["metrics-server"] - before["metrics-server"]
	if p.Replicas, err = replicaCounts(ctx, env.Kube, Namespace); err != nil {
		return p, err
	}
	if err := ctl.stop(ctx, env, c); err != nil {
		return p, err
	}
	log.Info("phase done", "controller cpu s", p.Controller.CPUSeconds, "metrics-server requests", p.MetricsServerRequests)
	return p, nil
}

// sampleLoad reads the 1-minute load average every interval until the
// returned function is called, which returns the samples.
func sampleLoad(ctx context.Context, interval time.Duration) func() []float64 {
	var (
		mu      sync.Mutex
		samples []float64
	)
	read := func() {
		if v, err := loadAvg1(); err == nil {
			mu.Lock()
			samples = append(samples, v)
			mu.Unlock()
		}
	}
	read()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() []float64 {
		cancel()
		<-done
		read()
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(samples)
	}
}

// loadAvg1 is the 1-minute load average from /proc/loadavg.
func loadAvg1() (float64, error) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, fmt.Errorf("read load average: %w", err)
	}
	return parseLoadAvg1(data)
}

// parseLoadAvg1 returns the first field of /proc/loadavg.
func parseLoadAvg1(data []byte) (float64, error) {
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return 0, errors.New("/proc/loadavg is empty")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/loadavg 1-minute field %q: %w", f[0], err)
	}
	return v, nil
}

// clusterCPU reads the CPU seconds of kube-apiserver and metrics-server.
func clusterCPU(c *cluster.Cluster) (map[string]float64, error) {
	out := map[string]float64{}
	for _, name := range []string{"kube-apiserver", "metrics-server"} {
		p, err := c.Process(name)
		if err != nil {
			return nil, err
		}
		s, err := readProcStats(p.PID)
		if err != nil {
			return nil, err
		}
		out[name] = s.CPUSeconds
	}
	return out, nil
}

// metricsServerRequests is the number of metrics.k8s.io requests
// metrics-server has served (its apiserver_request_total).
func metricsServerRequests(ctx context.Context, c *cluster.Cluster) (float64, error) {
	s, err := scrapeTLS(ctx, fmt.Sprintf("https://127.0.0.1:%d/metrics", c.State.Ports.MetricsServer), c.AdminToken())
	if err != nil {
		return 0, fmt.Errorf("metrics-server /metrics: %w", err)
	}
	return s.Sum("apiserver_request_total", map[string]string{"group": "metrics.k8s.io"}), nil
}

// scrapeTLS reads a component's /metrics (TLS, bearer token).
func scrapeTLS(ctx context.Context, url, token string) (Scrape, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	body, err := harness.HTTPGetInsecure(ctx, url, token)
	if err != nil {
		return nil, err
	}
	return ParseScrape(body)
}

// hpaPhase: N HPAs and a kube-controller-manager with only the HPA
// controller.
type hpaPhase struct{ targets int }

func (hpaPhase) name() string    { return "HPA controller" }
func (hpaPhase) users() []string { return []string{hpaServiceAccount, cluster.HPAControllerUser} }

func (hpaPhase) start(ctx context.Context, env *harness.Env, c *cluster.Cluster, o Options) (int, error) {
	if err := createHPAs(ctx, env.Kube, Namespace, o.Targets); err != nil {
		return 0, err
	}
	err := c.StartHPAController(ctx, cluster.HPAControllerOptions{SyncPeriod: o.SyncPeriod, Workers: o.HPAWorkers,
		QPS: o.ClientQPS, Burst: o.ClientBurst})
	if err != nil {
		return 0, err
	}
	p, err := c.Process(cluster.HPAControllerName)
	if err != nil {
		return 0, err
	}
	return p.PID, nil
}

func (hpaPhase) latency(ctx context.Context, c *cluster.Cluster) (Latency, error) {
	s, err := scrapeTLS(ctx, fmt.Sprintf("https://127.0.0.1:%d/metrics", c.State.Ports.HPAController), c.AdminToken())
	if err != nil {
		return Latency{}, fmt.Errorf("HPA controller /metrics: %w", err)
	}
	h, err := s.Histogram("horizontal_pod_autoscaler_controller_reconciliation_duration_seconds", nil)
	if err != nil {
		return Latency{}, err
	}
	l := Latency{What: "per-HPA reconcile", Work: h}
	// How long an HPA waited for a worker: shown when the queue reports it.
	if wait, err := s.Histogram("workqueue_queue_duration_seconds", map[string]string{"name": "horizontalpodautoscaler"}); err == nil {
		l.QueueWait = &wait
	}
	return l, nil
}

func (h hpaPhase) stop(ctx context.Context, env *harness.Env, c *cluster.Cluster) error {
	return errors.Join(c.StopComponent(cluster.HPAControllerName), deleteHPAs(ctx, env.Kube, Namespace, h.targets))
}

// ebbPhase: `ebb run` in apply mode with a namespace-scoped identity.
type ebbPhase struct{ ebb *harness.Ebb }

func (*ebbPhase) name() string    { return "ebb" }
func (*ebbPhase) users() []string { return []string{ebbServiceAccount} }

func (e *ebbPhase) start(ctx context.Context, env *harness.Env, c *cluster.Cluster, o Options) (int, error) {
	kubeconfig, err := env.ScopedKubeconfig(ctx, Namespace, o.RolePath, o.Dir)
	if err != nil {
		return 0, err
	}
	policy := filepath.Join(o.Dir, "bench-policy.yaml")
	if err := os.WriteFile(policy, []byte(policyYAML(o.Targets, o.SyncPeriod.String())), 0o644); err != nil {
		return 0, fmt.Errorf("write policy: %w", err)
	}
	e.ebb, err = env.StartEbb(harness.EbbOptions{Bin: o.EbbBin, Name: "ebb-bench", Kubeconfig: kubeconfig, Namespace: Namespace,
		Policy: policy, LogDir: filepath.Join(o.Dir, "logs"),
		ExtraArgs: []string{"--kube-api-qps", fmt.Sprint(o.ClientQPS), "--kube-api-burst", fmt.Sprint(o.ClientBurst)}}, false)
	if err != nil {
		return 0, err
	}
	if err := e.ebb.WaitMetrics(ctx, time.Minute); err != nil {
		return 0, err
	}
	return e.ebb.PID, nil
}

func (e *ebbPhase) latency(ctx context.Context, _ *cluster.Cluster) (Latency, error) {
	body, err := harness.HTTPGet(ctx, "http://"+e.ebb.MetricsAddr+"/metrics")
	if err != nil {
		return Latency{}, fmt.Errorf("ebb /metrics: %w", err)
	}
	s, err := ParseScrape(body)
	if err != nil {
		return Latency{}, err
	}
	h, err := s.Histogram("ebb_pass_duration_seconds", nil)
	if err != nil {
		return Latency{}, err
	}
	return Latency{What: "pass over all targets", Work: h}, nil
}

func (e *ebbPhase) stop(context.Context, *harness.Env, *cluster.Cluster) error {
	if e.ebb == nil {
		return nil
	}
	return e.ebb.Terminate(10 * time.Second)
}

// countRequests fills both phases' request counts from the audit log:
// the requests of the phase's users received between its start and end
// (not those of the controller's shutdown after the end).
func countRequests(path string, r *Result) error {
	for _, p := range []*Phase{&r.HPA, &r.Ebb} {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open audit log: %w", err)
		}
		users := map[string]bool{}
		for _, u := range p.Users {
			users[u] = true
		}
		p.Requests, err = CountAudit(f, users, p.Start, p.End)
		f.Close()
		if err != nil {
			return err
		}
		// The first third of the phase: the load is steady and at target
		// (Schedule), so no rescale; what a controller costs when nothing
		// changes.
		if f, err = os.Open(path); err != nil {
			return fmt.Errorf("open audit log: %w", err)
		}
		p.SteadyEnd = p.Start.Add(Schedule(r.Options.Phase)[1].At)
		p.Steady, err = CountAudit(f, users, p.Start, p.SteadyEnd)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// readMachine describes the machine for the report.
func readMachine() Machine {
	m := Machine{CPUs: cpuCount()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if kb, err := parseStatusKB(data, "MemTotal"); err == nil {
			m.MemoryBytes = kb * 1024
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	return m
}
