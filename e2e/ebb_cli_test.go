//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	ebbreport "github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/autoscaler/report/reporttest"
	"github.com/ebb-autoscaler/ebb/e2e/cluster"
	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// The CLI as a platform engineer uses it from a laptop: `ebb report`,
// `ebb status` and `ebb import` with nothing but $KUBECONFIG, whose current
// context is a read-only identity of one namespace (the Role of
// deploy/rbac/report-role.yaml: reads, and get on services/proxy).

// readOnlySA is the ServiceAccount of the read-only identity.
const readOnlySA = "ebb-report"

// cliNamespaces are the namespaces of these tests; the audit log keeps
// every request of their read-only identities (readOnlyAuditPolicy).
var cliNamespaces = []string{"ebb-shadow", "ebb-status", "ebb-import"}

// readOnlyAuditPolicy is the suite cluster's audit policy: Metadata for
// the read-only identities of cliNamespaces, nothing else.
func readOnlyAuditPolicy() string {
	users := make([]string, len(cliNamespaces))
	for i, ns := range cliNamespaces {
		users[i] = fmt.Sprintf("%q", readOnlyUser(ns))
	}
	return `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: [` + strings.Join(users, ", ") + `]
- level: None
`
}

func readOnlyUser(ns string) string { return "system:serviceaccount:" + ns + ":" + readOnlySA }

// readOnlyKubeconfig gives ns the read-only identity (ServiceAccount
// ebb-report bound to deploy/rbac/report-role.yaml) and returns a
// kubeconfig whose current context is it, in namespace ns.
func readOnlyKubeconfig(t *testing.T, s *Suite, ns string) string {
	t.Helper()
	kc, err := s.Env.ScopedKubeconfigAs(context.Background(), ns, readOnlySA,
		filepath.Join(s.RepoRoot, "deploy", "rbac", "report-role.yaml"), s.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

// cliRun is one finished ebb command.
type cliRun struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r cliRun) String() string {
	return fmt.Sprintf("ebb %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// ebbCLI runs `ebb args...` as a user would from a laptop: the environment
// has KUBECONFIG=kubeconfig and a HOME of its own (no ~/.kube/config), no
// --kubeconfig flag.
func ebbCLI(t *testing.T, s *Suite, kubeconfig string, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.requireEbb(t), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "KUBECONFIG=") || strings.HasPrefix(kv, "HOME=")
	})
	cmd.Env = append(env, "KUBECONFIG="+kubeconfig, "HOME="+t.TempDir())
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliRun{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("ebb %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// decodeReport parses `ebb report|status -o json`.
func decodeReport(r cliRun) (ebbreport.Report, error) {
	var rep ebbreport.Report
	if r.code != 0 {
		return rep, errors.New(r.String())
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		return rep, fmt.Errorf("decode: %w\n%s", err, r)
	}
	return rep, nil
}

func findTarget(rep ebbreport.Report, ref string) (ebbreport.Target, bool) {
	for _, tg := range rep.Targets {
		if tg.Ref() == ref {
			return tg, true
		}
	}
	return ebbreport.Target{}, false
}

// auditEvent is the part of an audit.k8s.io/v1 Event the checks read.
type auditEvent struct {
	Verb       string `json:"verb"`
	RequestURI string `json:"requestURI"`
	User       struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
}

// auditOf returns the audit events of user so far.
func auditOf(t *testing.T, s *Suite, user string) []auditEvent {
	t.Helper()
	f, err := os.Open(s.Env.Cluster.AuditLogPath())
	if err != nil {
		t.Fatalf("audit log: %v", err)
	}
	defer f.Close()
	var out []auditEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<24)
	for sc.Scan() {
		var ev auditEvent
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.User.Username == user {
			out = append(out, ev)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read the audit log: %v", err)
	}
	return out
}

// requireReadsOnly fails t when the read-only identity of ns sent any
// request other than get, list or watch after its first since requests (a
// write, also a DryRun=All one, is audited with its verb: create, update,
// patch, delete), or sent nothing after them. It returns those requests.
func requireReadsOnly(t *testing.T, s *Suite, ns string, since int) []auditEvent {
	t.Helper()
	evs := auditOf(t, s, readOnlyUser(ns))[since:]
	if len(evs) == 0 {
		t.Fatalf("the audit log has no request of %s after its first %d: the audit policy does not cover it", readOnlyUser(ns), since)
	}
	for _, ev := range evs {
		if ev.Verb != "get" && ev.Verb != "list" && ev.Verb != "watch" {
			t.Errorf("%s sent %s %s: a read-only command must send reads only", readOnlyUser(ns), ev.Verb, ev.RequestURI)
		}
	}
	return evs
}

// requireCannotWrite asks the API server (SelfSubjectAccessReview, as the
// identity of kubeconfig) and fails t when the identity may write anything
// ebb writes: the scale, the workloads, the HPAs, state ConfigMaps, Events.
func requireCannotWrite(t *testing.T, kubeconfig, ns string) {
	t.Helper()
	cfg, err := cluster.RESTConfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	can := func(verb, group, resource, sub string) bool {
		r, err := kube.AuthorizationV1().SelfSubjectAccessReviews().Create(context.Background(), &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: ns, Verb: verb, Group: group, Resource: resource, Subresource: sub}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("can-i %s %s/%s: %v", verb, resource, sub, err)
		}
		return r.Status.Allowed
	}
	if !can("get", "apps", "deployments", "scale") || !can("list", "autoscaling", "horizontalpodautoscalers", "") {
		t.Fatal("the read-only identity cannot read scales or HPAs: the Role is not bound")
	}
	for _, verb := range []string{"create", "update", "patch", "delete"} {
		for _, r := range [][3]string{{"apps", "deployments", "scale"}, {"apps", "deployments", ""},
			{"autoscaling", "horizontalpodautoscalers", ""}, {"", "configmaps", ""}, {"", "events", ""}, {"events.k8s.io", "events", ""}} {
			if can(verb, r[0], r[1], r[2]) {
				t.Errorf("the read-only identity may %s %s/%s (group %q)", verb, r[1], r[2], r[0])
			}
		}
	}
}

// cliHPA is an autoscaling/v2 HPA on Deployment name: CPU utilization
// 50%, and a behavior without scale-down stabilization (the controller's
// default, 5 minutes, would hold an overshoot of a scale-up, made on
// metrics a scrape behind, for that long).
func cliHPA(ns, name string, minR, maxR int32) *autoscalingv2.HorizontalPodAutoscaler {
	util, zero := int32(50), int32(0)
	return &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    &minR, MaxReplicas: maxR,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: "cpu", Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &zero}},
		},
	}
}

// hpaScenario is two Deployments whose HPAs act on a steady CPU load:
// web 2 pods, 200m in total at a 50% target of 100m requests → 4 (one
// step; then 50% each); api 4 pods, 100m in total → 2 (its minimum, and
// its metric's number once at 2).
type hpaScenario struct {
	ns   string
	want map[string]int32 // HPA (= Deployment) name → steady replicas
}

// prepare creates the Deployments and the load and waits until
// metrics-server serves the loaded CPU, before the test runs alone.
func (h hpaScenario) prepare(t *testing.T, s *Suite) {
	t.Helper()
	ctx := context.Background()
	for _, w := range []struct {
		name  string
		n     int
		total float64
	}{{"web", 2, 200}, {"api", 4, 100}} {
		wl := cpuWorkload(t, s, h.ns, w.name, w.n)
		load := s.Env.CPULoad(ctx, h.ns, wl.Selector(), w.total)
		t.Cleanup(load.Stop)
		pods, err := s.Env.ReadyPods(ctx, h.ns, wl.Selector())
		if err != nil {
			t.Fatal(err)
		}
		per := int64(w.total) / int64(w.n)
		if _, err := s.Env.WaitPodCPU(ctx, h.ns, wl.Selector(), pods, harness.Within(per, 5), 60*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

// createHPAs creates the two HPAs (call after exclusive).
func (h hpaScenario) createHPAs(t *testing.T, s *Suite) {
	t.Helper()
	for _, hpa := range []*autoscalingv2.HorizontalPodAutoscaler{cliHPA(h.ns, "web", 2, 8), cliHPA(h.ns, "api", 2, 8)} {
		if _, err := s.Env.Kube.AutoscalingV2().HorizontalPodAutoscalers(h.ns).Create(context.Background(), hpa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitSteady waits until each HPA reports current = desired = its steady
// size with that many ready pods, for three reads 2 s apart (the HPA
// controller syncs every 2 s).
func (h hpaScenario) waitSteady(t *testing.T, s *Suite) {
	t.Helper()
	steady := 0
	err := harness.Eventually(context.Background(), fmt.Sprintf("HPAs steady at %v", h.want), 3*time.Minute, 2*time.Second, func(ctx context.Context) error {
		for name, want := range h.want {
			hpa, err := s.Env.Kube.AutoscalingV2().HorizontalPodAutoscalers(h.ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			st := hpa.Status
			sel := labels.SelectorFromSet(labels.Set{"app": name})
			pods, err := s.Env.ReadyPods(ctx, h.ns, sel)
			if err != nil {
				return err
			}
			if st.DesiredReplicas != want || st.CurrentReplicas != want || len(pods) != int(want) {
				steady = 0
				return fmt.Errorf("HPA %s: current %d desired %d, %d ready pods; want %d", name, st.CurrentReplicas, st.DesiredReplicas, len(pods), want)
			}
		}
		if steady++; steady < 3 {
			return fmt.Errorf("steady for %d reads", steady)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// hpaDesired reads the HPA's status.desiredReplicas now.
func hpaDesired(ctx context.Context, s *Suite, ns, name string) (int32, error) {
	hpa, err := s.Env.Kube.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return 0, err
	}
	return hpa.Status.DesiredReplicas, nil
}

// TestEbbReportShadowsHPAs: a namespace with two Deployments, each driven
// by a real HorizontalPodAutoscaler (kube-controller-manager's HPA
// controller runs for this test) on a steady CPU load. `ebb report -n NS`
// with only $KUBECONFIG (a read-only identity of the namespace) and no
// policy shadows both: each HPA's own decision beside ebb's, agreeing at
// steady state, in the table and in -o json. The identity has no write
// right and the report sends reads only (audit log); --server-dry-run,
// which sends each change as a DryRun=All update, fails with the API
// server's Forbidden for it.
func TestEbbReportShadowsHPAs(t *testing.T) {
	const ns = "ebb-shadow"
	s := setupOwnCluster(t, ns)
	sc := hpaScenario{ns: ns, want: map[string]int32{"web": 4, "api": 2}}
	kc := readOnlyKubeconfig(t, s, ns)
	requireCannotWrite(t, kc, ns) // SelfSubjectAccessReviews: creates, the test's own

	// --server-dry-run needs update on the scale. A policy target (no HPA)
	// below its minimum makes a change to send: without the flag the
	// report computes it and sends nothing; with it the API server refuses.
	cpuWorkload(t, s, ns, "batch", 1)
	mark := len(auditOf(t, s, readOnlyUser(ns)))
	policy := filepath.Join(s.RunDir, "policy-"+ns+"-batch.yaml")
	if err := os.WriteFile(policy, []byte(cpuPolicy("dry-run", "Deployment", "batch", 3, 5, 50, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	r := ebbCLI(t, s, kc, "report", "-n", ns, "--policy", policy, "--shadow-hpas=false", "-o", "json")
	rep, err := decodeReport(r)
	if err != nil {
		t.Fatal(err)
	}
	if tg, ok := findTarget(rep, "Deployment/batch"); !ok || tg.Desired == nil || *tg.Desired != 3 || tg.Current == nil || *tg.Current != 1 {
		t.Fatalf("report of batch (1 replica, minReplicas 3): want current 1, desired 3\n%s", r)
	}
	requireReadsOnly(t, s, ns, mark)
	dry := ebbCLI(t, s, kc, "report", "-n", ns, "--policy", policy, "--shadow-hpas=false", "--server-dry-run")
	if dry.code != 1 || !strings.Contains(dry.stderr, "--server-dry-run: the API server refused 1 change(s)") ||
		!strings.Contains(dry.stderr, "forbidden") || !strings.Contains(dry.stdout, "FailedRescale") {
		t.Errorf("--server-dry-run without update rights on the scale: want the report (FailedRescale), then exit 1 naming the refusal (forbidden)\n%s", dry)
	}
	// The refused DryRun=All update is audited as an update; the checks
	// below start after it (its audit event may be written just after the
	// response).
	err = harness.Eventually(context.Background(), "the refused update in the audit log", 10*time.Second, 200*time.Millisecond, func(context.Context) error {
		evs := auditOf(t, s, readOnlyUser(ns))
		if !slices.ContainsFunc(evs[mark:], func(ev auditEvent) bool { return ev.Verb == "update" }) {
			return errors.New("not yet")
		}
		mark = len(evs)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	sc.prepare(t, s)
	sc.createHPAs(t, s)
	s.StartHPAController(t, cluster.HPAControllerOptions{})
	sc.waitSteady(t, s)

	var table cliRun
	err = harness.Eventually(context.Background(), "ebb report -n "+ns+" shows both HPAs agreeing", time.Minute, 2*time.Second, func(ctx context.Context) error {
		r := ebbCLI(t, s, kc, "report", "-n", ns, "-o", "json")
		rep, err := decodeReport(r)
		if err != nil {
			return err
		}
		if len(rep.Targets) != 2 {
			return fmt.Errorf("want 2 targets (the HPAs; batch has none)\n%s", r)
		}
		for name, want := range sc.want {
			tg, ok := findTarget(rep, "Deployment/"+name)
			if !ok || tg.HPA == nil || tg.HPA.Desired == nil || tg.Desired == nil {
				return fmt.Errorf("Deployment/%s: no shadowed HPA with both numbers\n%s", name, r)
			}
			got, err := hpaDesired(ctx, s, ns, name)
			if err != nil {
				return err
			}
			if tg.HPA.Name != name || *tg.HPA.Desired != got || got != want {
				return fmt.Errorf("Deployment/%s: report's HPA %s desired %d, the HPA's status.desiredReplicas %d, want %d", name, tg.HPA.Name, *tg.HPA.Desired, got, want)
			}
			if *tg.Desired != want || tg.Agreement() != ebbreport.AgreementAgrees || tg.Mode != "dry-run" {
				return fmt.Errorf("Deployment/%s: ebb desired %d (%s, mode %s), HPA %d: want agreement at %d\n%s", name, *tg.Desired, tg.Agreement(), tg.Mode, got, want, r)
			}
			if len(tg.HPA.Metrics) == 0 || len(tg.Metrics) == 0 {
				return fmt.Errorf("Deployment/%s: want the metrics ebb and the HPA read\n%s", name, r)
			}
		}
		table = ebbCLI(t, s, kc, "report", "-n", ns)
		if table.code != 0 {
			return errors.New(table.String())
		}
		for name, want := range sc.want {
			line := fmt.Sprintf("HPA %s: desired %d, ebb desired %d: agrees", name, want, want)
			if !strings.Contains(table.stdout, "Deployment/"+name) || !strings.Contains(table.stdout, line) {
				return fmt.Errorf("table: want Deployment/%s and %q\n%s", name, line, table)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("KUBECONFIG=%s ebb report -n %s\n%s", kc, ns, table.stdout)
	if err := os.WriteFile(filepath.Join(s.RunDir, "report-"+ns+".txt"), []byte(table.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	requireReadsOnly(t, s, ns, mark)
}

// TestEbbStatusThroughProxy: `ebb run` (dry-run policy, --leader-elect)
// behind Service ebb-metrics, as the install puts it; `ebb status -n NS`
// with only $KUBECONFIG (the read-only identity) reads the leader's /status
// through the API server's service proxy: its last decision and its recent
// history, in the table, JSON and a self-contained HTML page with the
// target's charts. ebb runs as a local process here, so the Service's
// Endpoints name a stand-in pod carrying the machine's IP
// (harness.ExposeEbb: the proxy refuses loopback addresses).
func TestEbbStatusThroughProxy(t *testing.T) {
	const ns, name, leader = "ebb-status", "web", "ebb-0"
	s := setup(t, ns)
	ctx := context.Background()
	host, err := harness.HostIP()
	if err != nil {
		// Not ebb's failure: the API server cannot proxy to this machine
		// at all (a network namespace with loopback only).
		t.Skipf("SKIP: %v", err)
	}
	w := cpuWorkload(t, s, ns, name, 2)
	kc := readOnlyKubeconfig(t, s, ns)
	o := ebbSetup(t, s, ns, cpuPolicy("dry-run", "Deployment", name, 2, 8, 50, ""))
	o.LeaderElect, o.MetricsHost = true, host
	o.ExtraArgs = []string{"--identity", leader, "--status-resolution", "2s"}
	ebb := startEbb(t, s, o, "")
	if err := s.Env.ExposeEbb(ctx, ns, "ebb-metrics", leader, ebb.Ebb); err != nil {
		t.Fatal(err)
	}
	load := s.Env.CPULoad(ctx, ns, w.Selector(), 300)
	defer load.Stop()
	target := map[string]string{"namespace": ns, "target": "Deployment/" + name}
	ebb.waitMetric(t, "ebb_desired_replicas", target, "= 4 (legacy scale-up limit)", func(v float64) bool { return v == 4 }, 60*time.Second)

	// The leader's history: a few passes at desired 4 after the load.
	var st cliRun
	err = harness.Eventually(ctx, "ebb status -o json: the leader's decisions and history", time.Minute, 2*time.Second, func(ctx context.Context) error {
		st = ebbCLI(t, s, kc, "status", "-n", ns, "-o", "json")
		rep, err := decodeReport(st)
		if err != nil {
			return err
		}
		tg, ok := findTarget(rep, "Deployment/"+name)
		if !ok || tg.Current == nil || *tg.Current != 2 || tg.Recommended == nil || *tg.Recommended != 6 || tg.Desired == nil || *tg.Desired != 4 || tg.Mode != "dry-run" {
			return fmt.Errorf("want Deployment/%s current 2, recommended 6, desired 4, dry-run\n%s", name, st)
		}
		at4 := 0
		for _, smp := range tg.History {
			if smp.Desired != nil && *smp.Desired == 4 && len(smp.Metrics) > 0 {
				at4++
			}
		}
		if at4 < 3 {
			return fmt.Errorf("history has %d samples at desired 4 with metrics, want 3 or more\n%s", at4, st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	table := ebbCLI(t, s, kc, "status", "-n", ns)
	if table.code != 0 || !strings.Contains(table.stdout, "Deployment/"+name) {
		t.Errorf("ebb status (table): want Deployment/%s\n%s", name, table)
	}
	t.Logf("KUBECONFIG=%s ebb status -n %s\n%s", kc, ns, table.stdout)

	page := ebbCLI(t, s, kc, "status", "-n", ns, "-o", "html")
	if page.code != 0 || !strings.HasPrefix(strings.TrimSpace(page.stdout), "<!DOCTYPE html>") {
		t.Fatalf("ebb status -o html: want an HTML page\n%.2000s", page.String())
	}
	path := filepath.Join(s.RunDir, "status-"+ns+".html")
	if err := os.WriteFile(path, []byte(page.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	v := reporttest.Open(t, reporttest.Chromium(t), path)
	titles := reporttest.Check(t, v) // no console error, no request, every chart drawn
	if len(titles["Deployment/"+name]) == 0 {
		t.Errorf("status page %s: no charts for Deployment/%s (charts: %v)", path, name, titles)
	}
	if err := os.WriteFile(filepath.Join(s.RunDir, "status-"+ns+".png"), v.PNG, 0o644); err != nil {
		t.Fatal(err)
	}

	proxied := 0
	for _, ev := range requireReadsOnly(t, s, ns, 0) {
		if ev.ObjectRef != nil && ev.ObjectRef.Resource == "services" && ev.ObjectRef.Subresource == "proxy" {
			proxied++
		}
	}
	if proxied == 0 {
		t.Error("the audit log has no services/proxy get of the read-only identity")
	}
}

// TestEbbImportRoundTrip: `ebb import -n NS` turns the namespace's two HPAs
// into a policy, `ebb validate -f` accepts it, and `ebb run` with it
// (dry-run, beside the real HPA controller) decides what the HPAs decide:
// ebb_desired_replicas equals each HPA's status.desiredReplicas at steady
// state. `ebb report` with the policy and the shadow report without one
// give the same numbers.
func TestEbbImportRoundTrip(t *testing.T) {
	const ns = "ebb-import"
	s := setupOwnCluster(t, ns)
	sc := hpaScenario{ns: ns, want: map[string]int32{"web": 4, "api": 2}}
	kc := readOnlyKubeconfig(t, s, ns)
	sc.prepare(t, s)
	sc.createHPAs(t, s)

	imp := ebbCLI(t, s, kc, "import", "-n", ns)
	if imp.code != 0 {
		t.Fatal(imp)
	}
	for _, want := range []string{"name: web", "name: api", "mode: dry-run", "stabilizationWindowSeconds: 0"} {
		if !strings.Contains(imp.stdout, want) {
			t.Errorf("imported policy lacks %q:\n%s", want, imp.stdout)
		}
	}
	policy := filepath.Join(s.RunDir, "policy-"+ns+"-imported.yaml")
	if err := os.WriteFile(policy, []byte(imp.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	if v := ebbCLI(t, s, kc, "validate", "-f", policy); v.code != 0 {
		t.Fatalf("ebb validate rejects the imported policy:\n%s", v)
	}
	o := ebbSetup(t, s, ns, imp.stdout)
	ebb := startEbb(t, s, o, "")
	s.StartHPAController(t, cluster.HPAControllerOptions{})
	sc.waitSteady(t, s)

	for name, want := range sc.want {
		target := map[string]string{"namespace": ns, "target": "Deployment/" + name}
		ebb.waitMetric(t, "ebb_desired_replicas", target, fmt.Sprintf("= %d (the HPA's)", want), func(v float64) bool { return v == float64(want) }, 60*time.Second)
		got, err := hpaDesired(context.Background(), s, ns, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("HPA %s: status.desiredReplicas %d after ebb agreed at %d", name, got, want)
		}
		ebb.waitMetric(t, "ebb_current_replicas", target, fmt.Sprintf("= %d", want), func(v float64) bool { return v == float64(want) }, 10*time.Second)
	}

	withPolicy, err := decodeReport(ebbCLI(t, s, kc, "report", "-n", ns, "--policy", policy, "--shadow-hpas=false", "-o", "json"))
	if err != nil {
		t.Fatal(err)
	}
	shadow, err := decodeReport(ebbCLI(t, s, kc, "report", "-n", ns, "-o", "json"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range sc.want {
		p, ok1 := findTarget(withPolicy, "Deployment/"+name)
		sh, ok2 := findTarget(shadow, "Deployment/"+name)
		if !ok1 || !ok2 || p.Desired == nil || sh.Desired == nil || *p.Desired != want || *sh.Desired != want {
			t.Errorf("Deployment/%s: report with the imported policy %v, shadow report %v, want both %d", name, p.Desired, sh.Desired, want)
		}
	}
	requireReadsOnly(t, s, ns, 0)
}
