//go:build e2e

package e2e

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/e2e/cluster"
	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// suite is the cluster shared by every test of the package. A package-level
// variable is the only way TestMain can hand state to tests.
var suite *Suite

// Suite is the shared cluster plus what tests need to run ebb.
type Suite struct {
	Env      *harness.Env
	RunDir   string
	RepoRoot string
	EbbBin   string // "" when EBB_BIN is unset: tests needing ebb skip

	removeRunDir bool // set when every test passed: logs are not needed
	phases       *harness.Phases
	timings      *timings

	// own is set on the Suite of a test on a cluster of its own
	// (setupOwnCluster): it is alone there from its first step.
	own bool
	// clusterOpts are the shared cluster's options: an own cluster is
	// started with the same (in its own directory).
	clusterOpts cluster.Options
	// bringUps holds a token per own cluster being brought up: a few at a
	// time, so that their starts do not all compete for the CPU at once.
	bringUps chan struct{}

	adapterOnce sync.Once // prometheus-adapter, started on first use (requireAdapter)
	adapterErr  error
}

// timings are the suite's durations, printed at the end (shared by the
// Suites of tests on their own clusters).
type timings struct {
	mu   sync.Mutex
	list []timing
}

type timing struct {
	name string
	took time.Duration
}

func (s *Suite) record(name string, d time.Duration) {
	s.timings.mu.Lock()
	defer s.timings.mu.Unlock()
	s.timings.list = append(s.timings.list, timing{name, d})
}

// RolePath is ebb's Role as shipped in deploy/.
func (s *Suite) RolePath() string {
	return filepath.Join(s.RepoRoot, "deploy", "kustomize", "role.yaml")
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	parallel, err := parallelFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if err := liftGoTestParallel(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	s := &Suite{RepoRoot: root, EbbBin: os.Getenv("EBB_BIN"), phases: harness.NewPhases(parallel), timings: &timings{},
		bringUps: make(chan struct{}, 2)}
	if v := os.Getenv("EBB_E2E_BUILD_SECONDS"); v != "" {
		if d, err := time.ParseDuration(v + "s"); err == nil {
			s.record("build ebb (make build)", d)
		}
	}
	t0 := time.Now()
	binDir, err := clusterBinaries(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	s.record("cluster binaries (build.sh)", time.Since(t0))

	s.RunDir = filepath.Join(root, "e2e", ".run", fmt.Sprintf("test-%d", os.Getpid()))
	o := cluster.DefaultOptions()
	o.Dir, o.BinDir, o.DieWithParent = s.RunDir, binDir, true
	o.AuditPolicy = readOnlyAuditPolicy() // the read-only identities' requests (ebb_cli_test.go)
	o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s.clusterOpts = o
	t0 = time.Now()
	c, err := cluster.Up(context.Background(), o)
	if c != nil {
		defer teardown(s, c)
		stopOnSignalOrTimeout(c)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: cluster up:", err)
		return 1
	}
	s.record("cluster bring-up", time.Since(t0))
	c.SetFaultGuard(s.phases.Guard)
	if s.Env, err = harness.NewEnv(c); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	suite = s
	code := m.Run()
	par, faults := s.phases.Timings(time.Now())
	s.record(fmt.Sprintf("parallel phase (E2E_PARALLEL=%d)", parallel), par)
	s.record("alone phase (tests after exclusive)", faults)
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: failed; component logs kept in %s\n", filepath.Join(s.RunDir, "logs"))
	} else {
		s.removeRunDir = true
	}
	return code
}

// clusterBinaries runs build.sh (a no-op in seconds when cached) and returns
// the binary directory.
func clusterBinaries(root string) (string, error) {
	cmd := exec.Command(filepath.Join(root, "e2e", "cluster", "build.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("e2e/cluster/build.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}

func teardown(s *Suite, c *cluster.Cluster) {
	t0 := time.Now()
	if err := c.Down(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: teardown:", err)
	}
	s.record("cluster teardown", time.Since(t0))
	s.printTimings()
	if s.removeRunDir {
		_ = os.RemoveAll(s.RunDir)
	}
}

func (s *Suite) printTimings() {
	s.timings.mu.Lock()
	defer s.timings.mu.Unlock()
	fmt.Println("\n=== e2e timing summary")
	for _, t := range s.timings.list {
		fmt.Printf("  %-45s %8.1fs\n", t.name, t.took.Seconds())
	}
}

// stopOnSignalOrTimeout stops the cluster before the process dies on
// SIGINT/SIGTERM or on the `go test -timeout` panic (which skips deferred
// calls), so no component outlives the test binary.
func stopOnSignalOrTimeout(c *cluster.Cluster) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	var timeout <-chan time.Time
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > time.Minute {
			timeout = time.After(d - 30*time.Second)
		}
	}
	go func() {
		select {
		case sig := <-ch:
			fmt.Fprintf(os.Stderr, "e2e: %v: stopping the cluster\n", sig)
		case <-timeout:
			fmt.Fprintln(os.Stderr, "e2e: test timeout near: stopping the cluster")
		}
		_ = c.Down()
		os.Exit(1)
	}()
}

// requireEbb skips tests that run ebb when EBB_BIN is unset (go test
// without make); `make e2e` always sets it.
func (s *Suite) requireEbb(t *testing.T) string {
	t.Helper()
	if s.EbbBin == "" {
		t.Skip("EBB_BIN is not set: run `make e2e`")
	}
	return s.EbbBin
}
