package horizontal

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The upstream tests (k8s.io/kubernetes v1.36.3
// pkg/controller/podautoscaler/*_test.go) run with these settings, not the
// production defaults.
const (
	defaultTestingTolerance                     = 0.1
	defaultTestingCPUInitializationPeriod       = 2 * time.Minute
	defaultTestingDelayOfInitialReadinessStatus = 10 * time.Second
	podNamePrefix                               = "test-pod"
	numContainersPerPod                         = 2
)

// testNow is the injected clock of every test.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// longAgo stands for upstream's zero (but set) pod start time: far past the
// CPU initialization period.
var longAgo = testNow.Add(-24 * time.Hour)

// Tolerances lets upstream's positional {scaleDown, scaleUp} literals compile.
type Tolerances = tolerances

func hotCPUCreationTime() time.Time  { return testNow }
func coolCPUCreationTime() time.Time { return testNow.Add(-3 * time.Minute) }

// testOptions are the options of the upstream tests.
func testOptions() Options {
	return Options{
		Tolerance:               defaultTestingTolerance,
		CPUInitializationPeriod: defaultTestingCPUInitializationPeriod,
		InitialReadinessDelay:   defaultTestingDelayOfInitialReadinessStatus,
		DownscaleStabilization:  5 * time.Minute,
	}
}

// q parses the decimal quantities the upstream tables use ("1.0", "0.9",
// "100m") into milli-units.
func q(s string) int64 {
	if m, ok := strings.CutSuffix(s, "m"); ok {
		v, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			panic(err)
		}
		return v
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	return int64(math.Round(f * 1000))
}

// condStatus is a Ready condition status of a test pod.
type condStatus int

const (
	condTrue condStatus = iota
	condFalse
)

// objectRef and labelSelector only mark which metric kind a case uses.
type objectRef struct{ Kind, APIVersion, Name string }
type labelSelector struct{ MatchLabels map[string]string }

// podOpt changes a pod built by newPod.
type podOpt func(*Pod)

// newPod builds a Running, Ready pod started long ago with
// numContainersPerPod containers requesting req of resource each.
func newPod(name, resource string, req int64, opts ...podOpt) Pod {
	p := Pod{Name: name, Phase: PodRunning, HasReadyCondition: true, Ready: true, StartTime: longAgo}
	for i := 1; i <= numContainersPerPod; i++ {
		p.Containers = append(p.Containers, Container{Name: fmt.Sprintf("container%d", i), Requests: map[string]int64{resource: req}})
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

func unready() podOpt                    { return func(p *Pod) { p.Ready = false } }
func phase(ph PodPhase) podOpt           { return func(p *Pod) { p.Phase = ph } }
func deleting() podOpt                   { return func(p *Pod) { p.Deleting = true } }
func startedAt(t time.Time) podOpt       { return func(p *Pod) { p.StartTime = t } }
func readySince(t time.Time) podOpt      { return func(p *Pod) { p.ReadyTransition = t } }
func noReadyCondition() podOpt           { return func(p *Pod) { p.HasReadyCondition = false } }
func podLevel(r map[string]int64) podOpt { return func(p *Pod) { p.PodRequests = r } }

// podNames returns test-pod-0 .. test-pod-(n-1).
func podName(i int) string { return fmt.Sprintf("%s-%d", podNamePrefix, i) }

func makePodMetricLevels(containerMetric ...int64) [][]int64 {
	out := make([][]int64, len(containerMetric))
	for i, m := range containerMetric {
		out[i] = make([]int64, numContainersPerPod)
		for j := range out[i] {
			out[i][j] = m
		}
	}
	return out
}

// saturatingSum adds values, capping at MaxInt64 as the external metrics
// source does.
func saturatingSum(vals []int64) int64 {
	var s int64
	for _, v := range vals {
		if v > 0 && s > math.MaxInt64-v {
			return math.MaxInt64
		}
		s += v
	}
	return s
}

// errContains fails t unless err's text contains want.
func errContains(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want one containing %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %q, want one containing %q", err, want)
	}
}

var errTest = errors.New("test: metric source failed")
