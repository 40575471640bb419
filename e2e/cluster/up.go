package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// readyTimeout bounds each component's readiness wait.
const readyTimeout = 60 * time.Second

// Up starts a cluster in opts.Dir (which must not hold a running one) and
// returns once every component is healthy, the kwok nodes are Ready and the
// metrics.k8s.io APIService is Available. On error the processes started so
// far keep running and are recorded in state.json: call Down.
func Up(ctx context.Context, opts Options) (*Cluster, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("invalid cluster options: %w", err)
	}
	c := &Cluster{Dir: opts.Dir, opts: opts, log: opts.Logger}
	if err := c.prepare(); err != nil {
		return c, err
	}
	start := time.Now()
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "prometheus"} {
		if (name == "kube-scheduler" && opts.NoScheduler) || (name == "prometheus" && opts.NoPrometheus) {
			continue
		}
		if err := c.StartComponent(ctx, name); err != nil {
			return c, err
		}
		if name == "kube-apiserver" {
			if err := c.createClusterObjects(ctx); err != nil {
				return c, err
			}
		}
	}
	if err := c.waitNodesReady(ctx); err != nil {
		return c, err
	}
	if err := c.StartComponent(ctx, "metrics-server"); err != nil {
		return c, err
	}
	if err := c.waitAPIServiceAvailable(ctx); err != nil {
		return c, err
	}
	c.log.Info("cluster up", "dir", c.Dir, "apiserver", c.Server(), "took", time.Since(start).Round(time.Millisecond))
	return c, nil
}

// prepare creates the run directory, ports, PKI, kubeconfigs and configs.
func (c *Cluster) prepare() error {
	if _, err := os.Stat(statePath(c.Dir)); err == nil {
		return fmt.Errorf("run dir %s already holds a cluster (state.json): run `ebb-cluster down --dir %s` first", c.Dir, c.Dir)
	}
	for _, d := range []string{"etcd-data", "prom-data", "prometheus-sd"} {
		if err := os.RemoveAll(filepath.Join(c.Dir, d)); err != nil {
			return fmt.Errorf("clean %s: %w", d, err)
		}
	}
	for _, d := range []string{"logs", "prometheus-sd"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o755); err != nil {
			return fmt.Errorf("create run dir: %w", err)
		}
	}
	ports, err := pickPorts()
	if err != nil {
		return err
	}
	c.State.Ports = ports
	for i := range c.opts.Nodes {
		c.State.Nodes = append(c.State.Nodes, fmt.Sprintf("kwok-node-%d", i))
	}
	if c.pki, err = GeneratePKI(filepath.Join(c.Dir, "pki")); err != nil {
		return err
	}
	c.State.AdminToken = c.pki.AdminToken
	k := c.pki.Path
	users := map[string]kubeUser{
		"admin":          {name: "e2e-admin", certFile: k("admin.crt"), keyFile: k("admin.key")},
		"kcm":            {name: "kcm", certFile: k("kube-controller-manager.crt"), keyFile: k("kube-controller-manager.key")},
		"scheduler":      {name: "scheduler", certFile: k("kube-scheduler.crt"), keyFile: k("kube-scheduler.key")},
		"hpa-controller": {name: HPAControllerUser, certFile: k("hpa-controller.crt"), keyFile: k("hpa-controller.key")},
	}
	for name, u := range users {
		if err := writeKubeconfig(c.kubeconfigPath(name), c.Server(), k("ca.crt"), u, ""); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "kwok.yaml"), kwokConfig, 0o644); err != nil {
		return fmt.Errorf("write kwok.yaml: %w", err)
	}
	if c.opts.AuditPolicy != "" {
		if err := os.WriteFile(filepath.Join(c.Dir, "audit-policy.yaml"), []byte(c.opts.AuditPolicy), 0o644); err != nil {
			return fmt.Errorf("write audit policy: %w", err)
		}
	}
	promCfg := prometheusConfig(c.sdDir(), ports, c.State.Nodes, c.pki.AdminToken)
	if err := os.WriteFile(filepath.Join(c.Dir, "prometheus.yml"), []byte(promCfg), 0o644); err != nil {
		return fmt.Errorf("write prometheus.yml: %w", err)
	}
	return c.saveState()
}

// components maps a component name to its command line and health check.
func (c *Cluster) component(name string) (component, func(context.Context) error, error) {
	p := c.State.Ports
	switch name {
	case "etcd":
		return c.etcdComponent(), c.checkEtcd, nil
	case "kube-apiserver":
		return c.apiserverComponent(), c.checkAPIServer, nil
	case "kube-controller-manager":
		return c.kcmComponent(), c.checkHTTPS(p.KCM, "/healthz"), nil
	case "kube-scheduler":
		return c.schedulerComponent(), c.checkHTTPS(p.Scheduler, "/healthz"), nil
	case "kwok":
		return c.kwokComponent(), c.checkHTTP(p.Kwok, "/healthz"), nil
	case "metrics-server":
		return c.metricsServerComponent(), c.checkHTTPS(p.MetricsServer, "/livez"), nil
	case "prometheus":
		return c.prometheusComponent(), c.checkHTTP(p.Prometheus, "/-/ready"), nil
	case HPAControllerName:
		return c.hpaControllerComponent(), c.checkHTTPS(p.HPAController, "/healthz"), nil
	case AdapterName:
		return c.adapterComponent(), c.checkHTTPS(p.Adapter, "/livez"), nil
	}
	return component{}, nil, fmt.Errorf("unknown component %q", name)
}

// StartComponent starts (or restarts, after StopComponent) one component and
// waits until its health endpoint answers. A restart, or the start of the
// HPA controller, is first allowed by the fault guard (SetFaultGuard).
func (c *Cluster) StartComponent(ctx context.Context, name string) error {
	comp, check, err := c.component(name)
	if err != nil {
		return err
	}
	old, err := c.Process(name)
	if err == nil && old.Alive() {
		return fmt.Errorf("start %s: already running as pid %d", name, old.PID)
	}
	if err == nil || name == HPAControllerName {
		if err := c.allowFault("start " + name); err != nil {
			return err
		}
	}
	t0 := time.Now()
	p, err := StartProcess(comp.name, comp.bin, comp.args, filepath.Join(c.Dir, "logs"), c.opts.DieWithParent)
	if err != nil {
		return err
	}
	c.replaceProcess(p)
	if err := c.saveState(); err != nil {
		return err
	}
	if err := poll(ctx, name+" ready", readyTimeout, p, check); err != nil {
		return err
	}
	c.log.Info("component ready", "name", name, "pid", p.PID, "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// StopComponent stops one component (fault injection), once the fault
// guard (SetFaultGuard) allows it; StartComponent brings it back.
func (c *Cluster) StopComponent(name string) error {
	p, err := c.Process(name)
	if err != nil {
		return err
	}
	if err := c.allowFault("stop " + name); err != nil {
		return err
	}
	return p.Stop(10 * time.Second)
}

// SetFaultGuard installs a check asked before any component is stopped or
// restarted and before the HPA controller starts; its error refuses the
// action. The e2e suite uses it to refuse faults outside its serial phase,
// where they would break the tests running in parallel. nil allows all.
func (c *Cluster) SetFaultGuard(guard func(action string) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.guard = guard
}

func (c *Cluster) allowFault(action string) error {
	c.mu.Lock()
	guard := c.guard
	c.mu.Unlock()
	if guard == nil {
		return nil
	}
	if err := guard(action); err != nil {
		return fmt.Errorf("%s refused: %w", action, err)
	}
	return nil
}

func (c *Cluster) replaceProcess(p *Process) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, old := range c.State.Processes {
		if old.Name == p.Name {
			c.State.Processes[i] = p
			return
		}
	}
	c.State.Processes = append(c.State.Processes, p)
}

func (c *Cluster) checkEtcd(ctx context.Context) error {
	return httpOK(ctx, http.DefaultTransport, fmt.Sprintf("http://127.0.0.1:%d/health", c.State.Ports.EtcdClient), "")
}

func (c *Cluster) checkAPIServer(ctx context.Context) error {
	pem, err := os.ReadFile(c.CAFile())
	if err != nil {
		return fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return errors.New("CA file holds no certificate")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}
	return httpOK(ctx, tr, c.Server()+"/readyz", c.State.AdminToken)
}

func (c *Cluster) checkHTTPS(port int, path string) func(context.Context) error {
	return func(ctx context.Context) error {
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}
		return httpOK(ctx, tr, fmt.Sprintf("https://127.0.0.1:%d%s", port, path), "")
	}
}

func (c *Cluster) checkHTTP(port int, path string) func(context.Context) error {
	return func(ctx context.Context) error {
		tr := &http.Transport{DisableKeepAlives: true}
		return httpOK(ctx, tr, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), "")
	}
}

// httpOK GETs url and fails unless the status is 200.
func httpOK(ctx context.Context, rt http.RoundTripper, url, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
