package horizontal

import (
	"testing"
	"time"
)

// controllerCase mirrors upstream horizontal_test.go's testCase: a target,
// the pods and metrics its fake clients report, and the expected decision
// and conditions of one reconcile (k8s.io/kubernetes v1.36.3).
type controllerCase struct {
	minReplicas    int32
	maxReplicas    int32
	specReplicas   int32
	statusReplicas int32
	scaleUpRules   *ScalingRules
	scaleDownRules *ScalingRules

	CPUTarget                    int32
	CPUCurrent                   int32
	verifyCPUCurrent             bool
	reportedLevels               []uint64
	reportedCPURequests          []int64
	reportedPodReadiness         []condStatus
	reportedPodStartTime         []time.Time
	reportedPodPhase             []PodPhase
	reportedPodDeletionTimestamp []bool
	metricsTarget                []MetricSpec
	// metricErr makes every metric of a type fail, as upstream's tests do by
	// prepending an erroring reactor to a fake metrics client.
	metricErr map[MetricType]error

	expectedDesiredReplicas int32
	expectedConditions      []cond
	recommendations         []timestampedRecommendation
	// scaledToZero is upstream's initial ScaledToZero=True condition
	// (History.ScaledToZero).
	scaledToZero bool
}

// cond is an expected HPA condition: type, status and reason.
type cond struct {
	Type   string
	Status bool
	Reason string
}

// statusOk is upstream's default expectation after a successful rescale.
var statusOk = []cond{
	{"AbleToScale", true, "SucceededRescale"},
	{"ScalingActive", true, "ValidMetricFound"},
	{"ScalingLimited", false, "DesiredWithinRange"},
}

func statusOkWithOverrides(overrides ...cond) []cond {
	out := append([]cond{}, statusOk...)
	for _, o := range overrides {
		replaced := false
		for i := range out {
			if out[i].Type == o.Type {
				out[i], replaced = o, true
			}
		}
		if !replaced {
			out = append(out, o)
		}
	}
	return out
}

// spec builds the HPA spec as the fake HPA lister does: the CPU target
// first, then metricsTarget, and API defaulting of the behavior.
func (tc *controllerCase) spec() Spec {
	s := Spec{MinReplicas: tc.minReplicas, MaxReplicas: tc.maxReplicas}
	if tc.CPUTarget > 0 {
		s.Metrics = append(s.Metrics, MetricSpec{Type: ResourceMetric, Name: "cpu", Target: Target{Type: UtilizationTarget, Utilization: tc.CPUTarget}})
	}
	s.Metrics = append(s.Metrics, tc.metricsTarget...)
	if len(s.Metrics) == 0 {
		s.Metrics = []MetricSpec{{Type: ResourceMetric, Name: "cpu"}} // defaulted spec without a target
	}
	if tc.scaleUpRules != nil || tc.scaleDownRules != nil {
		s.Behavior = &Behavior{
			ScaleUp:   orDefault(tc.scaleUpRules, DefaultScaleUpRules()),
			ScaleDown: orDefault(tc.scaleDownRules, DefaultScaleDownRules(5*time.Minute)),
		}
	}
	return s
}

// pods builds the pod list of the fake pod lister: one pod per reported
// request (else per status replica), two containers sharing the request.
func (tc *controllerCase) pods() []Pod {
	n := int(tc.statusReplicas)
	if tc.reportedCPURequests != nil {
		n = len(tc.reportedCPURequests)
	}
	pods := make([]Pod, n)
	for i := range pods {
		req := q("1.0")
		if tc.reportedCPURequests != nil {
			req = tc.reportedCPURequests[i]
		}
		p := Pod{Name: podName(i), Phase: PodRunning, HasReadyCondition: true, Ready: true, StartTime: longAgo, ReadyTransition: longAgo,
			Containers: []Container{{Name: "container1", Requests: map[string]int64{"cpu": req / 2}}, {Name: "container2", Requests: map[string]int64{"cpu": req / 2}}}}
		if tc.reportedPodReadiness != nil {
			p.Ready = tc.reportedPodReadiness[i] == condTrue
		}
		if tc.reportedPodStartTime != nil {
			p.StartTime, p.ReadyTransition = tc.reportedPodStartTime[i], tc.reportedPodStartTime[i]
		}
		if tc.reportedPodPhase != nil {
			p.Phase = tc.reportedPodPhase[i]
		}
		if tc.reportedPodDeletionTimestamp != nil {
			p.Deleting = tc.reportedPodDeletionTimestamp[i]
		}
		pods[i] = p
	}
	return pods
}

// values returns what the fake metrics clients report for m: per pod CPU
// split evenly over two containers (and 512Ki memory each), the levels as
// per-pod custom metrics, the first level for an object, their sum for an
// external metric.
func (tc *controllerCase) values(m MetricSpec) MetricValues {
	if err := tc.metricErr[m.Type]; err != nil {
		return MetricValues{Err: err}
	}
	switch m.Type {
	case ObjectMetric:
		return MetricValues{Value: int64(tc.reportedLevels[0])}
	case ExternalMetric:
		var sum uint64
		for _, l := range tc.reportedLevels {
			sum += l
		}
		return MetricValues{Value: int64(sum)}
	case ResourceMetric, ContainerResourceMetric, PodsMetric:
	default:
		return MetricValues{}
	}
	vals := make(map[string]Sample, len(tc.reportedLevels))
	for i, l := range tc.reportedLevels {
		v := int64(l)
		switch {
		case m.Type != PodsMetric && m.Name == "memory":
			v = 512 * 1024 * 1000 * 2 // milli-bytes, two containers
		case m.Type == ResourceMetric:
			v = 2 * int64(l/2)
		case m.Type == ContainerResourceMetric:
			v = int64(l / 2)
		}
		vals[podName(i)] = Sample{Value: v, Timestamp: testNow, Window: time.Minute}
	}
	if len(vals) == 0 {
		return MetricValues{Err: errNoResourceMetrics}
	}
	return MetricValues{PodValues: vals}
}

// cpuCurrent is upstream computeCPUCurrent: the utilization a test expects
// when it does not state one.
func (tc *controllerCase) cpuCurrent() int32 {
	if tc.CPUCurrent != 0 || len(tc.reportedLevels) != len(tc.reportedCPURequests) || len(tc.reportedLevels) == 0 {
		return tc.CPUCurrent
	}
	var reported, requested int64
	for i, l := range tc.reportedLevels {
		reported += int64(l)
		requested += tc.reportedCPURequests[i]
	}
	return int32(100 * reported / requested)
}

// run runs one reconcile through Decide with the upstream test settings and
// checks the desired replicas and the conditions.
func (tc *controllerCase) run(t *testing.T) {
	t.Helper()
	s := tc.spec()
	o := Observation{Now: testNow, CurrentReplicas: tc.specReplicas, StatusReplicas: tc.statusReplicas, Pods: tc.pods()}
	for _, m := range s.Metrics {
		o.Metrics = append(o.Metrics, tc.values(m))
	}
	h := &History{ScaledToZero: tc.scaledToZero}
	if tc.recommendations != nil {
		h.Recommendations, h.Seeded = toRecommendations(tc.recommendations), true
	}
	d := Decide(o, s, testOptions(), h)
	if d.Replicas != tc.expectedDesiredReplicas {
		t.Errorf("Decide().Replicas = %d, want %d (reason %s: %s)", d.Replicas, tc.expectedDesiredReplicas, d.Reason, d.Message)
	}
	if tc.verifyCPUCurrent {
		checkCPUCurrent(t, d.Proposal, tc.cpuCurrent())
	}
	want := tc.expectedConditions
	if want == nil {
		want = statusOk
	}
	for _, c := range want {
		checkCondition(t, d, tc.specReplicas, c)
	}
}

func checkCPUCurrent(t *testing.T, p Proposal, want int32) {
	t.Helper()
	for _, m := range p.Metrics {
		if m.Metric.Type == ResourceMetric && m.Metric.Name == "cpu" {
			if m.Utilization == nil || *m.Utilization != want {
				t.Errorf("cpu utilization = %v, want %d", ptrVal(m.Utilization), want)
			}
			return
		}
	}
	t.Errorf("no cpu resource metric in the proposal")
}

// checkCondition maps an upstream condition onto the Decision: AbleToScale
// SucceededRescale means a new size was decided, SucceededGetScale that no
// normalization ran; ScalingActive is the proposal's reason (or the
// decision's when it is false); ScalingLimited is LimitedReason.
func checkCondition(t *testing.T, d Decision, current int32, c cond) {
	t.Helper()
	ok := true
	switch c.Type {
	case "AbleToScale":
		switch c.Reason {
		case "SucceededRescale":
			ok = d.Err == nil && d.Replicas != current
		case "SucceededGetScale":
			ok = d.AbleToScaleReason == ReasonFailedComputeMetricsReplicas || d.AbleToScaleReason == ReasonScalingDisabled
		default:
			ok = d.AbleToScaleReason == c.Reason && d.Replicas == current
		}
	case "ScalingActive":
		if c.Status {
			ok = !d.Proposal.Invalid && d.Proposal.Reason == c.Reason
		} else {
			ok = d.Err != nil || d.Reason == ReasonScalingDisabled
			ok = ok && d.Reason == c.Reason
		}
	case "ScalingLimited":
		ok = d.LimitedReason == c.Reason
	default:
		return // ScaledToZero and others are out of scope
	}
	if !ok {
		t.Errorf("condition %s=%v %s not met: replicas %d (current %d), able %q, limited %q, reason %q, proposal %q, err %v",
			c.Type, c.Status, c.Reason, d.Replicas, current, d.AbleToScaleReason, d.LimitedReason, d.Reason, d.Proposal.Reason, d.Err)
	}
}
