// Command ebb-cluster starts, inspects and stops the local e2e cluster of
// package e2e/cluster, and runs `make demo`.
//
//	ebb-cluster up   [--dir DIR] [--bin-dir DIR] [--hpa-controller]   start (or reuse) a cluster
//	ebb-cluster env  [--dir DIR]                                      print KUBECONFIG=... and friends
//	ebb-cluster down [--dir DIR]                                      stop everything recorded in DIR
//	ebb-cluster demo [--dir DIR] [--ebb PATH] [--duration D]          the `make demo` scenario
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ebb-autoscaler/ebb/e2e/cluster"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: ebb-cluster up|down|env|demo [flags]")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fs := flag.NewFlagSet("ebb-cluster "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "e2e/.run/demo", "run directory of the cluster")
	binDir := fs.String("bin-dir", "", "cluster binaries (default: output of e2e/cluster/build.sh path)")
	hpa := fs.Bool("hpa-controller", false, "run kube-controller-manager's HPA controller")
	ebbBin := fs.String("ebb", "bin/ebb", "ebb binary (demo)")
	duration := fs.Duration("duration", 3*time.Minute, "how long the demo runs before it stops ebb and the load (demo)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "--dir %q: %v\n", *dir, err)
		return 2
	}
	switch args[0] {
	case "up":
		_, err = upOrReuse(ctx, log, abs, *binDir, *hpa)
		if err == nil {
			err = printEnv(stdout, abs)
		}
	case "env":
		err = printEnv(stdout, abs)
	case "down":
		err = down(abs)
	case "demo":
		err = demo(ctx, log, demoConfig{dir: abs, binDir: *binDir, ebbBin: *ebbBin, duration: *duration}, stdout)
	default:
		fmt.Fprintf(stderr, "ebb-cluster: unknown command %q\n", args[0])
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "ebb-cluster %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// upOrReuse returns the cluster running in dir, or starts one.
func upOrReuse(ctx context.Context, log *slog.Logger, dir, binDir string, hpa bool) (*cluster.Cluster, error) {
	if c, err := cluster.Load(dir); err == nil {
		if c.Running(ctx) {
			log.Info("reusing running cluster", "dir", dir)
			return c, nil
		}
		log.Info("stale cluster state, cleaning up", "dir", dir)
		if err := c.Down(); err != nil {
			return nil, fmt.Errorf("clean up stale cluster: %w", err)
		}
	}
	if binDir == "" {
		out, err := exec.CommandContext(ctx, "e2e/cluster/build.sh", "path").Output()
		if err != nil {
			return nil, fmt.Errorf("find cluster binaries (e2e/cluster/build.sh path): %w", err)
		}
		binDir = strings.TrimSpace(string(out))
	}
	o := cluster.DefaultOptions()
	o.Dir, o.BinDir, o.EnableHPAController, o.Logger = dir, binDir, hpa, log
	c, err := cluster.Up(ctx, o)
	if err != nil {
		if c != nil {
			err = errors.Join(err, c.Down())
		}
		return nil, err
	}
	return c, nil
}

func printEnv(w io.Writer, dir string) error {
	c, err := cluster.Load(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "export KUBECONFIG=%s\n", c.AdminKubeconfig())
	fmt.Fprintf(w, "export EBB_E2E_APISERVER=%s\n", c.Server())
	fmt.Fprintf(w, "export EBB_E2E_PROMETHEUS=%s\n", c.PrometheusURL())
	fmt.Fprintf(w, "# logs: %s\n", filepath.Join(dir, "logs"))
	return nil
}

func down(dir string) error {
	c, err := cluster.Load(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // nothing running
	}
	if err != nil {
		return err
	}
	return c.Down()
}
