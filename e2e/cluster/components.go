package cluster

import (
	"fmt"
	"net"
	"path/filepath"
	"time"
)

// Ports are the 127.0.0.1 ports of one cluster, picked free at start.
type Ports struct {
	EtcdClient    int `json:"etcdClient"`
	EtcdPeer      int `json:"etcdPeer"`
	EtcdMetrics   int `json:"etcdMetrics"`
	APIServer     int `json:"apiServer"`
	KCM           int `json:"kcm"`
	Scheduler     int `json:"scheduler"`
	Kwok          int `json:"kwok"`
	MetricsServer int `json:"metricsServer"`
	Prometheus    int `json:"prometheus"`
	HPAController int `json:"hpaController,omitempty"` // set by StartHPAController
	Adapter       int `json:"adapter,omitempty"`       // set by StartAdapter
}

// freePorts asks the kernel for n distinct free ports on 127.0.0.1. The
// listeners are held until all are picked, so the ports are distinct; a
// process started later could still race for one (the start then fails with
// "address already in use" in its log, which the readiness error shows).
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func pickPorts() (Ports, error) {
	p, err := freePorts(9)
	if err != nil {
		return Ports{}, err
	}
	return Ports{EtcdClient: p[0], EtcdPeer: p[1], EtcdMetrics: p[2], APIServer: p[3], KCM: p[4],
		Scheduler: p[5], Kwok: p[6], MetricsServer: p[7], Prometheus: p[8]}, nil
}

// component is one process to start: its binary and flags.
type component struct {
	name string
	bin  string
	args []string
}

func (c *Cluster) etcdComponent() component {
	u := func(p int) string { return fmt.Sprintf("http://127.0.0.1:%d", p) }
	pp := c.State.Ports
	return component{"etcd", filepath.Join(c.opts.BinDir, "etcd"), []string{
		"--name", "e2e", "--data-dir", filepath.Join(c.Dir, "etcd-data"),
		"--listen-client-urls", u(pp.EtcdClient), "--advertise-client-urls", u(pp.EtcdClient),
		"--listen-peer-urls", u(pp.EtcdPeer), "--initial-advertise-peer-urls", u(pp.EtcdPeer),
		"--initial-cluster", "e2e=" + u(pp.EtcdPeer), "--listen-metrics-urls", u(pp.EtcdMetrics),
		"--unsafe-no-fsync", "--quota-backend-bytes", "2147483648", "--log-level", "warn",
	}}
}

func (c *Cluster) apiserverComponent() component {
	k := c.pki.Path
	args := []string{
		"--etcd-servers", fmt.Sprintf("http://127.0.0.1:%d", c.State.Ports.EtcdClient),
		"--bind-address", "127.0.0.1", "--secure-port", itoa(c.State.Ports.APIServer),
		"--advertise-address", "127.0.0.1", "--endpoint-reconciler-type", "none",
		"--tls-cert-file", k("apiserver.crt"), "--tls-private-key-file", k("apiserver.key"),
		"--client-ca-file", k("ca.crt"), "--token-auth-file", k("tokens.csv"),
		"--service-account-key-file", k("sa.pub"), "--service-account-signing-key-file", k("sa.key"),
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--authorization-mode", "RBAC",
		"--requestheader-client-ca-file", k("front-proxy-ca.crt"), "--requestheader-allowed-names", "front-proxy-client",
		"--requestheader-username-headers", "X-Remote-User", "--requestheader-group-headers", "X-Remote-Group",
		"--requestheader-extra-headers-prefix", "X-Remote-Extra-",
		"--proxy-client-cert-file", k("front-proxy-client.crt"), "--proxy-client-key-file", k("front-proxy-client.key"),
	}
	if c.opts.AuditPolicy != "" {
		args = append(args, "--audit-policy-file", filepath.Join(c.Dir, "audit-policy.yaml"),
			"--audit-log-path", c.AuditLogPath(), "--audit-log-format", "json", "--audit-log-maxsize", "0")
	}
	return component{"kube-apiserver", filepath.Join(c.opts.BinDir, "kube-apiserver"), args}
}

func (c *Cluster) kcmComponent() component {
	kc, k := c.kubeconfigPath("kcm"), c.pki.Path
	controllers := "*,-horizontal-pod-autoscaler-controller"
	if c.opts.EnableHPAController {
		controllers = "*"
	}
	args := []string{
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--bind-address", "127.0.0.1", "--secure-port", itoa(c.State.Ports.KCM),
		"--use-service-account-credentials=true",
		"--service-account-private-key-file", k("sa.key"), "--root-ca-file", k("ca.crt"),
		"--cluster-signing-cert-file", k("ca.crt"), "--cluster-signing-key-file", k("ca.key"),
		"--leader-elect=false", "--horizontal-pod-autoscaler-sync-period", "5s",
		"--controllers", controllers,
	}
	if c.opts.ControllerQPS > 0 {
		args = append(args, "--kube-api-qps", fmt.Sprint(c.opts.ControllerQPS))
	}
	if c.opts.ControllerBurst > 0 {
		args = append(args, "--kube-api-burst", itoa(c.opts.ControllerBurst))
	}
	return component{"kube-controller-manager", filepath.Join(c.opts.BinDir, "kube-controller-manager"), args}
}

func (c *Cluster) schedulerComponent() component {
	kc := c.kubeconfigPath("scheduler")
	return component{"kube-scheduler", filepath.Join(c.opts.BinDir, "kube-scheduler"), []string{
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--bind-address", "127.0.0.1", "--secure-port", itoa(c.State.Ports.Scheduler), "--leader-elect=false",
	}}
}

func (c *Cluster) kwokComponent() component {
	k := c.pki.Path
	return component{"kwok", filepath.Join(c.opts.BinDir, "kwok"), []string{
		"--kubeconfig", c.AdminKubeconfig(), "--config", filepath.Join(c.Dir, "kwok.yaml"),
		"--manage-all-nodes=false", "--manage-nodes-with-annotation-selector", "kwok.x-k8s.io/node=fake",
		"--node-ip", "127.0.0.1", "--node-port", itoa(c.State.Ports.Kwok),
		"--server-address", fmt.Sprintf("127.0.0.1:%d", c.State.Ports.Kwok),
		"--tls-cert-file", k("serving.crt"), "--tls-private-key-file", k("serving.key"),
		"--node-lease-duration-seconds", "40",
	}}
}

func (c *Cluster) metricsServerComponent() component {
	kc, k := c.AdminKubeconfig(), c.pki.Path
	return component{"metrics-server", filepath.Join(c.opts.BinDir, "metrics-server"), []string{
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--bind-address", "127.0.0.1", "--secure-port", itoa(c.State.Ports.MetricsServer),
		"--tls-cert-file", k("serving.crt"), "--tls-private-key-file", k("serving.key"),
		"--kubelet-preferred-address-types", "InternalIP", "--kubelet-use-node-status-port", "--kubelet-insecure-tls",
		"--metric-resolution", c.metricResolution().String(), "--kubelet-request-timeout", "5s",
	}}
}

func (c *Cluster) prometheusComponent() component {
	return component{"prometheus", c.opts.PrometheusBin, []string{
		"--config.file", filepath.Join(c.Dir, "prometheus.yml"),
		"--storage.tsdb.path", filepath.Join(c.Dir, "prom-data"),
		"--web.listen-address", fmt.Sprintf("127.0.0.1:%d", c.State.Ports.Prometheus),
		"--storage.tsdb.retention.time", "2h",
	}}
}

// metricResolution is metrics-server's resolution (10s unless set).
func (c *Cluster) metricResolution() time.Duration {
	if c.opts.MetricResolution == 0 {
		return 10 * time.Second
	}
	return c.opts.MetricResolution
}
