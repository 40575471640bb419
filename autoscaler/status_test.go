package autoscaler

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// statusTarget is a report target at pass i: desired = i, one CPU metric,
// one container.
func statusTarget(name string, i int32, applied *int32) report.Target {
	return report.Target{Kind: "Deployment", Name: name, Mode: "apply", Reason: fmt.Sprintf("R%d", i%2),
		Current: report.Int32(2), Recommended: report.Int32(i + 1), Desired: report.Int32(i), Applied: applied,
		Metrics: []report.Metric{{Name: "Resource/cpu", TargetType: "Utilization", Target: 50, Unit: report.UnitCores,
			Utilization: report.Int32(10 * i), Value: report.Int64(int64(100 * i))}},
		Vertical: []report.Container{{Name: "app",
			Target:     report.Resources{CPUMilli: report.Int64(250), MemoryBytes: report.Int64(256 << 20)},
			LowerBound: report.Resources{CPUMilli: report.Int64(200), MemoryBytes: report.Int64(200<<20 + 1)},
			UpperBound: report.Resources{CPUMilli: report.Int64(report.Unbounded), MemoryBytes: report.Int64(report.Unbounded)},
			Request:    report.Resources{CPUMilli: report.Int64(500)},
			Usage:      report.Resources{CPUMilli: report.Int64(int64(30 * i)), MemoryBytes: report.Int64(100 << 20)}}},
	}
}

func passAt(at time.Time, targets ...report.Target) report.Report {
	return report.Report{GeneratedAt: at, Namespace: testNS, Targets: targets}
}

func desiredOf(ss []report.Sample) []string {
	var out []string
	for _, s := range ss {
		out = append(out, fmt.Sprintf("%s d=%d a=%s", s.Time.Format("15:04:05"), *s.Desired, replicasOrDash(s.Applied)))
	}
	return out
}

func replicasOrDash(p *int32) string {
	if p == nil {
		return "-"
	}
	return strconv.Itoa(int(*p))
}

// TestStatusHistoryRing: one sample per resolution step (the last pass of
// the step, an earlier write kept), at most window/resolution samples, the
// oldest evicted.
func TestStatusHistoryRing(t *testing.T) {
	s := NewStatusHistory(3*time.Minute, time.Minute)
	for i := range int32(12) { // every 15 s for 3 minutes
		var applied *int32
		if i == 4 {
			applied = report.Int32(4)
		}
		s.Record(passAt(t0.Add(time.Duration(i)*15*time.Second), statusTarget("web", i, applied)))
	}
	got := s.Status(StatusQuery{History: -1})
	if len(got.Targets) != 1 {
		t.Fatalf("%d targets, want 1", len(got.Targets))
	}
	want := []string{"12:00:45 d=3 a=-", "12:01:45 d=7 a=4", "12:02:45 d=11 a=-"}
	if diff := cmp.Diff(want, desiredOf(got.Targets[0].History)); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
	for i := range int32(4) { // 12:03:00 .. 12:03:45: the oldest step goes
		s.Record(passAt(t0.Add(3*time.Minute+time.Duration(i)*15*time.Second), statusTarget("web", 20+i, nil)))
	}
	want = []string{"12:01:45 d=7 a=4", "12:02:45 d=11 a=-", "12:03:45 d=23 a=-"}
	if diff := cmp.Diff(want, desiredOf(s.Status(StatusQuery{History: -1}).Targets[0].History)); diff != "" {
		t.Errorf("samples after a full window (-want +got):\n%s", diff)
	}
	if got := desiredOf(s.Status(StatusQuery{History: 90 * time.Second}).Targets[0].History); len(got) != 2 {
		t.Errorf("history 90s: samples %v, want the last two", got)
	}
	if got := s.Status(StatusQuery{History: 0}).Targets[0].History; got != nil {
		t.Errorf("history 0: samples %v, want none", got)
	}
}

// TestStatusHistoryValues: a sample reads back what was recorded: nil stays
// nil, metrics and containers (memory to the KiB above, unbounded as
// report.Unbounded), the HPA's desired, reasons.
func TestStatusHistoryValues(t *testing.T) {
	s := NewStatusHistory(time.Hour, time.Minute)
	tg := statusTarget("web", 3, report.Int32(3))
	tg.Recommended = nil
	tg.HPA = &report.HPA{Name: "web", Desired: report.Int32(5)}
	s.Record(passAt(t0, tg))
	got := s.Status(StatusQuery{History: -1}).Targets[0]
	lower := int64(200<<20 + 1024)
	want := report.Sample{Time: t0, Current: report.Int32(2), Desired: report.Int32(3), Applied: report.Int32(3),
		HPADesired: report.Int32(5), Reason: "R1",
		Metrics: []report.Metric{{Name: "Resource/cpu", TargetType: "Utilization", Target: 50, Unit: report.UnitCores,
			Utilization: report.Int32(30), Value: report.Int64(300)}},
		Vertical: []report.Container{{Name: "app",
			Target:     report.Resources{CPUMilli: report.Int64(250), MemoryBytes: report.Int64(256 << 20)},
			LowerBound: report.Resources{CPUMilli: report.Int64(200), MemoryBytes: &lower},
			UpperBound: report.Resources{CPUMilli: report.Int64(report.Unbounded), MemoryBytes: report.Int64(report.Unbounded)},
			Request:    report.Resources{CPUMilli: report.Int64(500)},
			Usage:      report.Resources{CPUMilli: report.Int64(90), MemoryBytes: report.Int64(100 << 20)}}},
	}
	if diff := cmp.Diff([]report.Sample{want}, got.History); diff != "" {
		t.Errorf("sample (-want +got):\n%s", diff)
	}
	if got.Desired == nil || *got.Desired != 3 || got.HPA == nil {
		t.Errorf("the last pass's target = %+v, want it as recorded", got)
	}
}

// TestStatusHistoryTargets: a target that leaves the report is forgotten,
// one whose metrics change starts afresh, a query selects targets, Reset
// forgets everything.
func TestStatusHistoryTargets(t *testing.T) {
	s := NewStatusHistory(time.Hour, time.Minute)
	s.Record(passAt(t0, statusTarget("web", 1, nil), statusTarget("api", 1, nil)))
	other := statusTarget("web", 2, nil)
	other.Metrics[0].Name = "Pods/rps"
	s.Record(passAt(t0.Add(time.Minute), other))
	got := s.Status(StatusQuery{History: -1})
	if len(got.Targets) != 1 || got.Targets[0].Name != "web" || len(got.Targets[0].History) != 1 {
		t.Fatalf("after api left and web's metrics changed: %+v, want web alone with one sample", got.Targets)
	}
	s.Record(passAt(t0.Add(2*time.Minute), statusTarget("web", 1, nil), statusTarget("api", 1, nil)))
	if got := s.Status(StatusQuery{Targets: []string{"Deployment/api"}, History: -1}); len(got.Targets) != 1 || got.Targets[0].Name != "api" {
		t.Errorf("query target=Deployment/api: %+v", got.Targets)
	}
	s.Reset()
	if got := s.Status(StatusQuery{History: -1}); len(got.Targets) != 0 || !got.GeneratedAt.IsZero() {
		t.Errorf("after Reset: %+v, want nothing", got)
	}
}

func getStatus(t *testing.T, h http.Handler, target string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result(), rec.Body.Bytes()
}

func TestStatusHandler(t *testing.T) {
	s := NewStatusHistory(time.Hour, time.Minute)
	s.Record(passAt(t0, statusTarget("web", 1, nil)))
	s.Record(passAt(t0.Add(time.Minute), statusTarget("web", 2, nil)))
	leading := true
	forwarded := 0
	fwd := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { forwarded++; _, _ = w.Write([]byte("{}")) })
	h := StatusHandler(s, func() bool { return leading }, fwd)

	resp, body := getStatus(t, h, "/status", nil)
	var rep report.Report
	if err := json.Unmarshal(body, &rep); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /status: %d %v: %s", resp.StatusCode, err, body)
	}
	if len(rep.Targets) != 1 || len(rep.Targets[0].History) != 2 || *rep.Targets[0].History[1].Desired != 2 {
		t.Errorf("GET /status = %+v, want web with two samples", rep.Targets)
	}

	resp, body = getStatus(t, h, "/status?history=0", http.Header{"Accept-Encoding": {"gzip"}})
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	rep = report.Report{}
	if err := json.Unmarshal(plain, &rep); err != nil || len(rep.Targets) != 1 || rep.Targets[0].History != nil {
		t.Errorf("history=0 gzipped: %v %+v, want web without samples", err, rep.Targets)
	}

	if resp, _ := getStatus(t, h, "/status?history=soon", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("history=soon: %d, want 400", resp.StatusCode)
	}

	leading = false
	if resp, _ := getStatus(t, h, "/status", nil); resp.StatusCode != 200 || forwarded != 1 {
		t.Errorf("standby: %d, forwarded %d; want the request relayed to the leader", resp.StatusCode, forwarded)
	}
	if resp, _ := getStatus(t, h, "/status", http.Header{forwardedHeader: {"1"}}); resp.StatusCode != http.StatusServiceUnavailable || forwarded != 1 {
		t.Errorf("relayed request on a standby: %d, forwarded %d; want 503, not relayed again", resp.StatusCode, forwarded)
	}
	if resp, _ := getStatus(t, StatusHandler(s, func() bool { return false }, nil), "/status", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("standby without a forwarder: %d, want 503", resp.StatusCode)
	}
}

// TestLeaderForwarder: a standby relays /status (with its query) to the pod
// named by the Lease's holder.
func TestLeaderForwarder(t *testing.T) {
	var got *http.Request
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		_, _ = w.Write([]byte(`{"namespace":"shop"}`))
	}))
	defer leader.Close()
	host, port, _ := net.SplitHostPort(leader.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	holder := "ebb-0"
	kube := fake.NewClientset(
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "ebb", Namespace: testNS}, Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "ebb-0", Namespace: testNS}, Status: corev1.PodStatus{PodIP: host}},
	)
	f := &LeaderForwarder{Leases: kube.CoordinationV1(), Pods: kube.CoreV1(), Namespace: testNS, LeaseName: "ebb", Port: p}
	resp, body := getStatus(t, f, "/status?target=Deployment/web&history=1h", nil)
	if resp.StatusCode != 200 || string(body) != `{"namespace":"shop"}` {
		t.Fatalf("relayed: %d %s", resp.StatusCode, body)
	}
	if got.URL.Path != "/status" || got.URL.Query().Get("history") != "1h" || got.Header.Get(forwardedHeader) == "" {
		t.Errorf("the leader got %s with %s=%q, want /status?...history=1h marked as relayed", got.URL, forwardedHeader, got.Header.Get(forwardedHeader))
	}

	f.LeaseName = "missing"
	if resp, body := getStatus(t, f, "/status", nil); resp.StatusCode != http.StatusServiceUnavailable || !bytes.Contains(body, []byte("lease missing")) {
		t.Errorf("no lease: %d %s, want 503 naming it", resp.StatusCode, body)
	}
}

// TestLoopRecordsStatus: the leader's passes are recorded; losing the lease
// forgets them.
func TestLoopRecordsStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newCluster(t)
		c.addWorkload(t, "web", 2, 50, time.Now().Add(-time.Hour))
		s := NewStatusHistory(time.Hour, 15*time.Second)
		l, _ := c.newLoop(t, loopConfig{targets: []Target{cpuTarget("web", policy.ModeApply, nil)}, status: s})
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- l.RunLeader(ctx) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		if !l.Leading() {
			t.Error("Leading() = false while running passes")
		}
		got := s.Status(StatusQuery{History: -1})
		if len(got.Targets) != 1 || len(got.Targets[0].History) != 5 {
			t.Errorf("after a minute of passes: %d targets, samples %v; want web with 5", len(got.Targets), got.Targets)
		}
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if l.Leading() {
			t.Error("Leading() = true after stopping")
		}
		l.dropLeaderState()
		if got := s.Status(StatusQuery{History: -1}); len(got.Targets) != 0 {
			t.Errorf("after losing the lease: %d targets, want none", len(got.Targets))
		}
	})
}

// BenchmarkStatusHistory records 2,000 targets (one metric, one container
// each) for 6 h of 15 s passes at 1 min resolution, and reports the heap
// the history keeps per target and the time of one pass's Record.
func BenchmarkStatusHistory(b *testing.B) {
	const targets = 2000
	reps := make([]report.Report, 24) // 24 distinct passes (6 min), replayed
	for i := range reps {
		ts := make([]report.Target, targets)
		for k := range ts {
			ts[k] = statusTarget(fmt.Sprintf("w%04d", k), int32(i), nil)
		}
		reps[i] = passAt(t0, ts...)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := NewStatusHistory(6*time.Hour, time.Minute)
	at := t0
	for i := range 6 * 60 * 4 { // fill the window
		rep := reps[i%len(reps)]
		rep.GeneratedAt = at
		s.Record(rep)
		at = at.Add(15 * time.Second)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perTarget := float64(after.HeapAlloc-before.HeapAlloc) / targets
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		rep := reps[i%len(reps)]
		rep.GeneratedAt = at
		s.Record(rep)
		at = at.Add(15 * time.Second)
	}
	b.ReportMetric(perTarget, "heap-B/target")
	runtime.KeepAlive(s)
}
