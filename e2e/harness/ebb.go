package harness

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ebb-autoscaler/ebb/e2e/cluster"
)

// EbbOptions is how a test runs ebb. The flags are the contract of
// `ebb run`: --kubeconfig, --namespace, --policy, --metrics-addr,
// --leader-elect.
type EbbOptions struct {
	Bin         string // path of the ebb binary (env EBB_BIN in the suite)
	Name        string // log file name, e.g. "ebb-scaleup"; must be unique per run dir
	Kubeconfig  string // the namespace-scoped kubeconfig
	Namespace   string
	Policy      string // policy file path
	LeaderElect bool
	ExtraArgs   []string
	LogDir      string
	// MetricsHost is the IP /metrics (and /status) listens on; default
	// 127.0.0.1. The API server's service proxy cannot reach a loopback
	// address (ExposeEbb), so a test that reads /status through it listens
	// on HostIP().
	MetricsHost string
}

// Validate names every missing field.
func (o EbbOptions) Validate() error {
	var errs []error
	for name, v := range map[string]string{"Bin": o.Bin, "Name": o.Name, "Kubeconfig": o.Kubeconfig,
		"Namespace": o.Namespace, "Policy": o.Policy, "LogDir": o.LogDir} {
		if v == "" {
			errs = append(errs, fmt.Errorf("EbbOptions.%s is empty", name))
		}
	}
	if o.Bin != "" {
		if _, err := os.Stat(o.Bin); err != nil {
			errs = append(errs, fmt.Errorf("EbbOptions.Bin %q: %w (run `make build`)", o.Bin, err))
		}
	}
	return errors.Join(errs...)
}

// Ebb is a running `ebb run` process.
type Ebb struct {
	*cluster.Process
	MetricsAddr string // 127.0.0.1:<port> of its /metrics

	unregister func() error // removes its Prometheus scrape target; nil when not registered
}

// StartEbb runs `ebb run` as a real process on a free metrics port and,
// when register is true, adds it to Prometheus' ebb job as its own target
// (registration o.Name, target label ebb_namespace=o.Namespace; instance is
// its metrics address) until Terminate; ebbs of tests running in parallel
// are scraped side by side.
func (e *Env) StartEbb(o EbbOptions, register bool) (*Ebb, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("invalid ebb options: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	host := o.MetricsHost
	if host == "" {
		host = "127.0.0.1"
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	args := []string{"run", "--kubeconfig", o.Kubeconfig, "--namespace", o.Namespace,
		"--policy", o.Policy, "--metrics-addr", addr}
	if o.LeaderElect {
		args = append(args, "--leader-elect")
	}
	args = append(args, o.ExtraArgs...)
	p, err := cluster.StartProcess(o.Name, o.Bin, args, o.LogDir, true)
	if err != nil {
		return nil, err
	}
	b := &Ebb{Process: p, MetricsAddr: addr}
	if register {
		id := ScrapeID(o.Name)
		if err := e.Cluster.AddScrapeTarget(cluster.JobEbb, id, addr, map[string]string{"ebb_namespace": o.Namespace}); err != nil {
			return nil, errors.Join(err, p.Kill())
		}
		b.unregister = func() error { return e.Cluster.RemoveScrapeTarget(cluster.JobEbb, id) }
	}
	return b, nil
}

// ScrapeID turns a name (a test name, say) into a scrape registration id:
// every character other than letters, digits, '.', '_' and '-' becomes '_'.
func ScrapeID(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, name)
}

// WaitMetrics waits until ebb's /metrics answers 200; on failure the error
// carries the tail of ebb's log.
func (b *Ebb) WaitMetrics(ctx context.Context, timeout time.Duration) error {
	err := Eventually(ctx, "ebb /metrics", timeout, 200*time.Millisecond, func(ctx context.Context) error {
		if !b.Alive() {
			return errors.New("ebb exited")
		}
		_, err := HTTPGet(ctx, "http://"+b.MetricsAddr+"/metrics")
		return err
	})
	if err != nil {
		return fmt.Errorf("%w\n--- last lines of %s:\n%s", err, b.Log, b.LogTail(30))
	}
	return nil
}

// Logs returns ebb's whole log so far.
func (b *Ebb) Logs() string {
	data, err := os.ReadFile(b.Log)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(data)
}

// Terminate stops ebb with SIGTERM (SIGKILL after grace) and removes its
// Prometheus scrape target.
func (b *Ebb) Terminate(grace time.Duration) error {
	err := b.Stop(grace)
	if b.unregister != nil {
		err = errors.Join(err, b.unregister())
	}
	return err
}

// EbbReportTimeout bounds `ebb report` when the caller's ctx has no deadline.
const EbbReportTimeout = 2 * time.Minute

// EbbReport runs `ebb report` once with the same identity and policy and
// returns its standard output (and standard error on failure). The process
// is SIGKILLed when ctx ends (default deadline EbbReportTimeout) or when the
// test process dies, so a hanging report never outlives the test.
func EbbReport(ctx context.Context, o EbbOptions, extra ...string) (string, error) {
	args := append([]string{"report", "--kubeconfig", o.Kubeconfig, "--namespace", o.Namespace, "--policy", o.Policy}, extra...)
	return ebbOnce(ctx, o.Bin, args)
}

// EbbStatus runs `ebb status` once with the same identity (the running
// leader's /status through the API server's service proxy; see ExposeEbb)
// and returns its standard output, as EbbReport does.
func EbbStatus(ctx context.Context, o EbbOptions, extra ...string) (string, error) {
	args := append([]string{"status", "--kubeconfig", o.Kubeconfig, "--namespace", o.Namespace}, extra...)
	return ebbOnce(ctx, o.Bin, args)
}

// ebbOnce runs bin with args, SIGKILLed when ctx ends (default deadline
// EbbReportTimeout) or the test process dies.
func ebbOnce(ctx context.Context, bin string, args []string) (string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, EbbReportTimeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second // stop waiting for output pipes after the kill
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return string(out), fmt.Errorf("ebb %s: %w: %s", args[0], err, ee.Stderr)
		}
		return string(out), fmt.Errorf("ebb %s: %w", args[0], err)
	}
	return string(out), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
