package cluster

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

//go:embed kwok/kwok.yaml
var kwokConfig []byte

// Options configure a cluster. Zero values are filled by DefaultOptions.
type Options struct {
	Dir                 string // run directory: PKI, kubeconfigs, logs, data, state.json
	BinDir              string // output of `build.sh path`
	PrometheusBin       string // default /usr/bin/prometheus
	Nodes               int    // kwok nodes, default 1
	EnableHPAController bool   // run kcm's HPA controller (off by default: it would fight ebb)
	NoScheduler         bool   // skip kube-scheduler (pods then need spec.nodeName)
	NoPrometheus        bool   // skip Prometheus (benchmarks: its kwok scrapes cost CPU)
	DieWithParent       bool   // components die with the process that started them (tests); false for `ebb-cluster up`
	Logger              *slog.Logger

	// Large clusters (make bench-cluster); zero values keep the defaults.
	NodePods         int           // pods capacity of each kwok node (default 110)
	ControllerQPS    float32       // kube-controller-manager --kube-api-qps (kcm's default 20)
	ControllerBurst  int           // kube-controller-manager --kube-api-burst (kcm's default 30)
	MetricResolution time.Duration // metrics-server --metric-resolution (default 10s, at least 10s)
	AuditPolicy      string        // an audit.k8s.io/v1 Policy (YAML): kube-apiserver logs to AuditLogPath
}

// DefaultOptions returns options with everything but Dir and BinDir set.
func DefaultOptions() Options {
	return Options{PrometheusBin: "/usr/bin/prometheus", Nodes: 1, Logger: slog.Default(),
		NodePods: 110, MetricResolution: 10 * time.Second}
}

// Validate reports every missing or bad option.
func (o Options) Validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("Dir is empty"))
	}
	for _, b := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "metrics-server"} {
		if _, err := os.Stat(filepath.Join(o.BinDir, b)); err != nil {
			errs = append(errs, fmt.Errorf("BinDir %q: %w (run `make cluster-binaries`)", o.BinDir, err))
			break
		}
	}
	if _, err := os.Stat(o.PrometheusBin); err != nil && !o.NoPrometheus {
		errs = append(errs, fmt.Errorf("PrometheusBin %q: %w (run `make prometheus`)", o.PrometheusBin, err))
	}
	if o.Nodes < 1 || o.Nodes > 20 {
		errs = append(errs, fmt.Errorf("Nodes %d: must be in 1..20", o.Nodes))
	}
	if o.Logger == nil {
		errs = append(errs, errors.New("Logger is nil"))
	}
	if o.NodePods < 1 {
		errs = append(errs, fmt.Errorf("NodePods %d: must be at least 1", o.NodePods))
	}
	if o.ControllerQPS < 0 || o.ControllerBurst < 0 {
		errs = append(errs, fmt.Errorf("ControllerQPS %v, ControllerBurst %d: must not be negative", o.ControllerQPS, o.ControllerBurst))
	}
	if o.MetricResolution < 10*time.Second {
		errs = append(errs, fmt.Errorf("MetricResolution %s: metrics-server needs at least 10s", o.MetricResolution))
	}
	return errors.Join(errs...)
}

// State is what state.json records: enough for another process to use or
// stop the cluster.
type State struct {
	Ports      Ports      `json:"ports"`
	Nodes      []string   `json:"nodes"`
	AdminToken string     `json:"adminToken"`
	Processes  []*Process `json:"processes"`
	Extra      []*Process `json:"extra,omitempty"` // processes started by users of the cluster (ebb in the demo)
}

// Cluster is a running (or partly started) local cluster.
type Cluster struct {
	Dir   string
	State State
	opts  Options
	pki   PKI
	log   *slog.Logger
	hpa   HPAControllerOptions // of the last StartHPAController

	mu    sync.Mutex // guards guard, State.Processes, State.Extra and the state file
	guard func(action string) error
}

// statePath is the state file of a run directory.
func statePath(dir string) string { return filepath.Join(dir, "state.json") }

// Load reads the state of a cluster started by another process in dir.
func Load(dir string) (*Cluster, error) {
	data, err := os.ReadFile(statePath(dir))
	if err != nil {
		return nil, fmt.Errorf("read cluster state: %w", err)
	}
	c := &Cluster{Dir: dir, log: slog.Default(), pki: PKI{Dir: filepath.Join(dir, "pki")}}
	if err := json.Unmarshal(data, &c.State); err != nil {
		return nil, fmt.Errorf("decode %s: %w", statePath(dir), err)
	}
	c.pki.AdminToken = c.State.AdminToken
	return c, nil
}

func (c *Cluster) saveState() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	data, err := json.MarshalIndent(c.State, "", "  ")
	if err != nil {
		return fmt.Errorf("encode cluster state: %w", err)
	}
	tmp := statePath(c.Dir) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write cluster state: %w", err)
	}
	return os.Rename(tmp, statePath(c.Dir))
}

// Server is the kube-apiserver URL.
func (c *Cluster) Server() string {
	return fmt.Sprintf("https://127.0.0.1:%d", c.State.Ports.APIServer)
}

// PrometheusURL is Prometheus' base URL.
func (c *Cluster) PrometheusURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d", c.State.Ports.Prometheus)
}

// AuditLogPath is where kube-apiserver writes audit events when
// Options.AuditPolicy is set (JSON lines).
func (c *Cluster) AuditLogPath() string { return filepath.Join(c.Dir, "logs", "audit.log") }

// AdminKubeconfig is the path of the system:masters kubeconfig.
func (c *Cluster) AdminKubeconfig() string { return c.kubeconfigPath("admin") }

// AdminToken is the static bearer token of the system:masters user.
func (c *Cluster) AdminToken() string { return c.State.AdminToken }

// CAFile is the cluster CA certificate.
func (c *Cluster) CAFile() string { return c.pki.Path("ca.crt") }

func (c *Cluster) kubeconfigPath(name string) string {
	return filepath.Join(c.Dir, name+".kubeconfig")
}

// KwokMetricsURL is kwok's resource-metrics path for node (what
// metrics-server scrapes).
func (c *Cluster) KwokMetricsURL(node string) string {
	return fmt.Sprintf("https://127.0.0.1:%d/metrics/nodes/%s/metrics/resource", c.State.Ports.Kwok, node)
}

// AddScrapeTarget makes Prometheus scrape addr (host:port) in job
// (JobLoadApp or JobEbb) under registration id, with extra target labels;
// each registration is its own file_sd file, so registrations of tests
// running in parallel do not replace each other. Prometheus picks a change
// up within about a second. Adding an id again replaces its target.
func (c *Cluster) AddScrapeTarget(job, id, addr string, labels map[string]string) error {
	return writeScrapeTarget(c.sdDir(), job, id, addr, labels)
}

// RemoveScrapeTarget undoes AddScrapeTarget; an unknown id is not an error.
func (c *Cluster) RemoveScrapeTarget(job, id string) error {
	return removeScrapeTarget(c.sdDir(), job, id)
}

func (c *Cluster) sdDir() string { return filepath.Join(c.Dir, "prometheus-sd") }

// Process returns the started process called name (e.g. "metrics-server").
func (c *Cluster) Process(name string) (*Process, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.State.Processes {
		if p.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no process %q in cluster %s", name, c.Dir)
}

// Track records a process started by a user of the cluster (e.g. ebb in the
// demo) so Down stops it first.
func (c *Cluster) Track(p *Process) error {
	c.mu.Lock()
	c.State.Extra = append(c.State.Extra, p)
	c.mu.Unlock()
	return c.saveState()
}

// Down stops every recorded process by PID: extra processes and clients
// first, then kube-apiserver, then etcd (recipe §9.6). It returns every error.
func (c *Cluster) Down() error {
	var errs []error
	order := func(name string) int {
		switch name {
		case "kube-apiserver":
			return 1
		case "etcd":
			return 2
		}
		return 0
	}
	c.mu.Lock()
	procs := append(append([]*Process{}, c.State.Extra...), c.State.Processes...)
	c.mu.Unlock()
	for stage := 0; stage <= 2; stage++ {
		for _, p := range procs {
			if order(p.Name) == stage {
				if err := p.Stop(10 * time.Second); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if len(errs) == 0 {
		_ = os.Remove(statePath(c.Dir))
	}
	return errors.Join(errs...)
}

// Running reports whether kube-apiserver of a loaded cluster is alive.
func (c *Cluster) Running(ctx context.Context) bool {
	p, err := c.Process("kube-apiserver")
	if err != nil || !p.Alive() {
		return false
	}
	return c.checkAPIServer(ctx) == nil
}
