package bench

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stat    string
		want    float64
		wantErr bool
	}{
		{name: "plain command", want: 12.34,
			stat: "4242 (ebb) S 1 4242 4242 0 -1 4194560 1000 0 0 0 1000 234 0 0 20 0 12 0 100 1000000 5000 18446744073709551615"},
		{name: "command with spaces and parentheses", want: 1.5,
			stat: "7 (kube (x) y) R 1 7 7 0 -1 0 0 0 0 0 100 50 0 0 20 0 1 0 1 1 1 1"},
		{name: "truncated", stat: "7 (x) R 1 2 3", wantErr: true},
		{name: "no command", stat: "7 x R", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tc.stat))
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseStatCPU() error = %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("parseStatCPU() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tebb\nVmPeak:\t  900000 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   40000 kB\n"
	got, err := parseStatusKB([]byte(status), "VmHWM")
	if err != nil || got != 51234 {
		t.Errorf("parseStatusKB(VmHWM) = %d, %v; want 51234", got, err)
	}
	if _, err := parseStatusKB([]byte(status), "VmSwap"); err == nil {
		t.Error("parseStatusKB(VmSwap) = nil error, want one for a missing line")
	}
}

// TestCountAudit: one count per request (a watch logs ResponseStarted and
// ResponseComplete under one auditID), only the users asked for and the
// requests received in the window, keyed by user (service account prefix
// dropped), verb and group/resource/subresource.
func TestCountAudit(t *testing.T) {
	const at = `"requestReceivedTimestamp":"2026-01-02T10:00:30.000001Z"`
	lines := []string{
		`{"auditID":"1","stage":"ResponseComplete",` + at + `,"verb":"get","user":{"username":"system:serviceaccount:bench:ebb"},"objectRef":{"apiGroup":"apps","resource":"deployments","subresource":"scale"}}`,
		`{"auditID":"2","stage":"ResponseComplete",` + at + `,"verb":"list","user":{"username":"system:serviceaccount:bench:ebb"},"objectRef":{"apiGroup":"metrics.k8s.io","resource":"pods"}}`,
		`{"auditID":"3","stage":"ResponseStarted",` + at + `,"verb":"watch","user":{"username":"system:serviceaccount:bench:ebb"},"objectRef":{"resource":"pods"}}`,
		`{"auditID":"3","stage":"ResponseComplete",` + at + `,"verb":"watch","user":{"username":"system:serviceaccount:bench:ebb"},"objectRef":{"resource":"pods"}}`,
		`{"auditID":"4","stage":"ResponseComplete",` + at + `,"verb":"get","user":{"username":"system:serviceaccount:bench:ebb"},"objectRef":{"apiGroup":"apps","resource":"deployments","subresource":"scale"}}`,
		`{"auditID":"5","stage":"ResponseComplete",` + at + `,"verb":"get","user":{"username":"someone-else"},"objectRef":{"resource":"pods"}}`,
		``,
		`{"auditID":"6","stage":"ResponseComplete",` + at + `,"verb":"get","user":{"username":"system:serviceaccount:bench:ebb"},"requestURI":"/api"}`,
		// Before and at the end of the window: not counted.
		`{"auditID":"7","stage":"ResponseComplete","requestReceivedTimestamp":"2026-01-02T09:59:59.999999Z","verb":"get","user":{"username":"system:serviceaccount:bench:ebb"},"requestURI":"/api"}`,
		`{"auditID":"8","stage":"ResponseComplete","requestReceivedTimestamp":"2026-01-02T10:01:00Z","verb":"create","user":{"username":"system:serviceaccount:bench:ebb"},"objectRef":{"resource":"events"}}`,
	}
	from := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	to := from.Add(time.Minute)
	got, err := CountAudit(strings.NewReader(strings.Join(lines, "\n")), map[string]bool{"system:serviceaccount:bench:ebb": true}, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := map[RequestKey]int{
		{User: "bench:ebb", Verb: "get", Resource: "apps/deployments/scale"}: 2,
		{User: "bench:ebb", Verb: "list", Resource: "metrics.k8s.io/pods"}:   1,
		{User: "bench:ebb", Verb: "watch", Resource: "/pods"}:                1,
		{User: "bench:ebb", Verb: "get", Resource: "/api"}:                   1,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("CountAudit() (-want +got):\n%s", d)
	}
	if _, err := CountAudit(strings.NewReader("{not json"), nil, from, to); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("CountAudit(bad line) error = %v, want one naming line 1", err)
	}
}

const histogramText = `# TYPE ebb_pass_duration_seconds histogram
ebb_pass_duration_seconds_bucket{le="0.1"} 10
ebb_pass_duration_seconds_bucket{le="0.2"} 30
ebb_pass_duration_seconds_bucket{le="0.4"} 40
ebb_pass_duration_seconds_bucket{le="+Inf"} 40
ebb_pass_duration_seconds_sum 6
ebb_pass_duration_seconds_count 40
# TYPE apiserver_request_total counter
apiserver_request_total{group="metrics.k8s.io",resource="pods",verb="LIST",code="200"} 7
apiserver_request_total{group="metrics.k8s.io",resource="pods",verb="GET",code="200"} 3
apiserver_request_total{group="",resource="",verb="GET",code="200"} 100
`

func TestScrapeHistogramAndSum(t *testing.T) {
	s, err := ParseScrape([]byte(histogramText))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sum("apiserver_request_total", map[string]string{"group": "metrics.k8s.io"}); got != 10 {
		t.Errorf("Sum(metrics.k8s.io) = %v, want 10", got)
	}
	h, err := s.Histogram("ebb_pass_duration_seconds", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		q    float64
		want float64
	}{
		{name: "median inside the second bucket", q: 0.5, want: 0.15}, // rank 20: 10 below, 20 in (0.1, 0.2]
		{name: "first bucket from 0", q: 0.125, want: 0.05},
		{name: "p99 in the last finite bucket", q: 0.99, want: 0.2 + 0.2*(39.6-30)/10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.Quantile(tc.q); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Quantile(%v) = %v, want %v", tc.q, got, tc.want)
			}
		})
	}
	if got := h.Mean(); got != 0.15 {
		t.Errorf("Mean() = %v, want 0.15", got)
	}
	d := h.Minus(Histogram{Bounds: h.Bounds, Buckets: []float64{10, 10, 10, 10}, Count: 10, Sum: 0.5})
	if d.Count != 30 || d.Buckets[0] != 0 || d.Quantile(0.5) != 0.175 {
		t.Errorf("Minus() = %+v (median %v), want 30 observations, median 0.175", d, d.Quantile(0.5))
	}
	if _, err := s.Histogram("no_such_metric", nil); err == nil {
		t.Error("Histogram(missing) = nil error")
	}
	if !math.IsNaN((Histogram{}).Quantile(0.5)) {
		t.Error("Quantile of an empty histogram is not NaN")
	}
}

// TestPolicyYAML: the policy ebb runs in the benchmark is valid and holds
// the HPAs' spec for every target.
func TestPolicyYAML(t *testing.T) {
	c, err := policy.Load([]byte(policyYAML(3, "15s")))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Targets) != 3 || c.SyncPeriod != 15*time.Second {
		t.Fatalf("compiled %d targets, sync period %s; want 3, 15s", len(c.Targets), c.SyncPeriod)
	}
	for i, tg := range c.Targets {
		if tg.Key() != "Deployment/"+targetName(i) || tg.Mode != policy.ModeApply {
			t.Errorf("target %d = %s mode %s, want Deployment/%s apply", i, tg.Key(), tg.Mode, targetName(i))
		}
	}
	h := hpa("bench", 1)
	if h.Spec.ScaleTargetRef.Name != targetName(1) || *h.Spec.MinReplicas != minReplicas || h.Spec.MaxReplicas != maxReplicas ||
		*h.Spec.Metrics[0].Resource.Target.AverageUtilization != utilizationTarget {
		t.Errorf("hpa(1) = %+v, want the policy's spec", h.Spec)
	}
}

func TestFactorAt(t *testing.T) {
	steps := Schedule(3 * time.Minute)
	for _, tc := range []struct {
		at   time.Duration
		want float64
	}{{0, 1}, {59 * time.Second, 1}, {time.Minute, 1.5}, {3 * time.Minute, 1.5}} {
		if got := factorAt(steps, tc.at); got != tc.want {
			t.Errorf("factorAt(%s) = %v, want %v", tc.at, got, tc.want)
		}
	}
}

func TestReplaceSection(t *testing.T) {
	begin, end := markers(500)
	doc := "# Title\n"
	doc = replaceSection(doc, begin, end, begin+"\nfirst\n"+end)
	b2, e2 := markers(2000)
	doc = replaceSection(doc, b2, e2, b2+"\nlarge\n"+e2)
	doc = replaceSection(doc, begin, end, begin+"\nsecond\n"+end)
	want := "# Title\n\n" + begin + "\nsecond\n" + end + "\n\n" + b2 + "\nlarge\n" + e2 + "\n"
	if d := cmp.Diff(want, doc); d != "" {
		t.Errorf("replaceSection() (-want +got):\n%s", d)
	}
}

func TestGoal(t *testing.T) {
	phase := func(reqs map[RequestKey]int, ms float64, cpu float64, passes float64) Phase {
		start := time.Unix(0, 0)
		return Phase{Start: start, End: start.Add(150 * time.Second), Requests: reqs, MetricsServerRequests: ms,
			Controller: ProcStats{CPUSeconds: cpu}, Latency: Latency{Work: Histogram{Count: passes}}}
	}
	r := &Result{Options: Options{Targets: 500, SyncPeriod: 15 * time.Second}}
	r.HPA = phase(map[RequestKey]int{{Verb: "get", Resource: "apps/deployments/scale"}: 5000,
		{Verb: "list", Resource: "metrics.k8s.io/pods"}: 5000}, 5000, 20, 0)
	r.Ebb = phase(map[RequestKey]int{{Verb: "list", Resource: "metrics.k8s.io/pods"}: 10,
		{Verb: "watch", Resource: "/pods"}: 3}, 10, 5, 10)
	got := r.Goal()
	for i, prefix := range []string{"PASS", "PASS", "PASS"} {
		if !strings.HasPrefix(got[i], prefix) {
			t.Errorf("Goal()[%d] = %q, want %s", i, got[i], prefix)
		}
	}
	r.Ebb = phase(map[RequestKey]int{{Verb: "get", Resource: "apps/deployments/scale"}: 5000,
		{Verb: "list", Resource: "metrics.k8s.io/pods"}: 10}, 10, 30, 10)
	got = r.Goal()
	for i, prefix := range []string{"PASS", "FAIL", "FAIL"} {
		if !strings.HasPrefix(got[i], prefix) {
			t.Errorf("with per-target GETs, Goal()[%d] = %q, want %s", i, got[i], prefix)
		}
	}
}

func TestParseLoadAvg1(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    float64
		wantErr bool
	}{
		{name: "five fields", in: "1.21 4.10 11.20 1/198 10663\n", want: 1.21},
		{name: "empty", in: "", wantErr: true},
		{name: "not a number", in: "x 1 2 1/1 1", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLoadAvg1([]byte(tc.in))
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseLoadAvg1(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("parseLoadAvg1(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	if got, want := loadSummary([]float64{2, 1, 3}), "1.00 / 2.00 / 3.00"; got != want {
		t.Errorf("loadSummary() = %q, want %q", got, want)
	}
	if got := loadSummary(nil); got != "n/a" {
		t.Errorf("loadSummary(nil) = %q, want n/a", got)
	}
}

// TestMarkdownSteadyRow: the steady-load row divides the requests of the
// first part (watches left out) by its length in sync periods.
func TestMarkdownSteadyRow(t *testing.T) {
	start := time.Unix(0, 0)
	phase := func(steady map[RequestKey]int) Phase {
		return Phase{Start: start, End: start.Add(4 * time.Minute), SteadyEnd: start.Add(80 * time.Second), Steady: steady}
	}
	r := &Result{Options: Options{Targets: 500, SyncPeriod: 15 * time.Second, Phase: 4 * time.Minute}}
	r.HPA = phase(map[RequestKey]int{{Verb: "get", Resource: "apps/deployments/scale"}: 2000,
		{Verb: "list", Resource: "metrics.k8s.io/pods"}: 2000, {Verb: "watch", Resource: "/pods"}: 1})
	r.Ebb = phase(map[RequestKey]int{{Verb: "list", Resource: "metrics.k8s.io/pods"}: 6, {Verb: "watch", Resource: "/pods"}: 1})
	var b strings.Builder
	r.Markdown(&b)
	// 80 s = 5.33 sync periods: 4000/5.33 = 750, 6/5.33 = 1.125.
	want := "| API requests (all but watch) per sync period while the load is steady (first third of the phase) | 750.0 | 1.1 | 666.7× |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("Markdown() has no line %q:\n%s", want, b.String())
	}
}

// TestDeleteHPAs: every target's HPA goes, one already gone is no error,
// another namespace's HPA stays.
func TestDeleteHPAs(t *testing.T) {
	ctx := context.Background()
	kc := fake.NewClientset(hpa("bench", 0), hpa("bench", 2), hpa("other", 1))
	if err := deleteHPAs(ctx, kc, "bench", 3); err != nil {
		t.Fatalf("deleteHPAs() = %v", err)
	}
	for _, ns := range []string{"bench", "other"} {
		list, err := kc.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, h := range list.Items {
			got = append(got, h.Name)
		}
		want := map[string][]string{"bench": nil, "other": {targetName(1)}}[ns]
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("HPAs left in %s (-want +got):\n%s", ns, d)
		}
	}
}
