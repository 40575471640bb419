package horizontal

import (
	"testing"
	"time"
)

// The types below mirror upstream replica_calculator_test.go so that its
// single-scenario tests port as table entries with the same numbers.

type resourceInfo struct {
	name     string
	requests []int64
	levels   [][]int64
	podNames []string // names of the pods the metrics are for, by index

	targetUtilization   int32
	expectedUtilization int32
	expectedValue       int64
}

type metricKind int

const (
	objectMetric metricKind = iota
	objectPerPodMetric
	externalMetric
	externalPerPodMetric
	podMetric
)

type metricInfo struct {
	name         string
	levels       []int64
	singleObject *objectRef
	selector     *labelSelector
	metricType   metricKind

	targetUsage       int64
	perPodTargetUsage int64
	expectedUsage     int64
}

type replicaCalcTestCase struct {
	currentReplicas  int32
	expectedReplicas int32
	expectedError    error

	timestamp time.Time

	tolerances *Tolerances
	resource   *resourceInfo
	metric     *metricInfo
	container  string

	podReadiness         []condStatus
	podStartTime         []time.Time
	podPhase             []PodPhase
	podDeletionTimestamp []bool
}

// pods builds the pod list as upstream's fake pod lister does: one pod per
// current replica (or per listed phase), two containers each.
func (tc *replicaCalcTestCase) pods() []Pod {
	n := max(int(tc.currentReplicas), len(tc.podPhase))
	pods := make([]Pod, n)
	for i := range pods {
		p := Pod{Name: podName(i), Phase: PodRunning, HasReadyCondition: true, Ready: true, StartTime: longAgo,
			Containers: []Container{{Name: "container1"}, {Name: "container2"}}}
		if i < len(tc.podReadiness) {
			p.Ready = tc.podReadiness[i] == condTrue
		}
		if tc.podStartTime != nil {
			p.StartTime = tc.podStartTime[i]
		}
		if tc.podPhase != nil {
			p.Phase = tc.podPhase[i]
		}
		if tc.podDeletionTimestamp != nil {
			p.Deleting = tc.podDeletionTimestamp[i]
		}
		if tc.resource != nil && i < len(tc.resource.requests) {
			for c := range p.Containers {
				p.Containers[c].Requests = map[string]int64{tc.resource.name: tc.resource.requests[i]}
			}
		}
		pods[i] = p
	}
	return pods
}

// resourceValues is what metrics-server reports: per pod the sum over its
// containers, or the named container's usage.
func (tc *replicaCalcTestCase) resourceValues() MetricValues {
	if len(tc.resource.levels) == 0 {
		return MetricValues{Err: errNoResourceMetrics}
	}
	vals := make(map[string]Sample, len(tc.resource.levels))
	for i, levels := range tc.resource.levels {
		name := podName(i)
		if i < len(tc.resource.podNames) {
			name = tc.resource.podNames[i]
		}
		var v int64
		for c, l := range levels {
			if tc.container == "" || tc.container == podContainerName(c) {
				v += l
			}
		}
		vals[name] = Sample{Value: v, Timestamp: tc.timestamp, Window: time.Minute}
	}
	return MetricValues{PodValues: vals}
}

func podContainerName(i int) string { return []string{"container1", "container2"}[i] }

// spec returns the metric spec and its observed values.
func (tc *replicaCalcTestCase) spec() (MetricSpec, MetricValues) {
	if tc.resource != nil {
		m := MetricSpec{Type: ResourceMetric, Name: tc.resource.name,
			Target: Target{Type: UtilizationTarget, Utilization: tc.resource.targetUtilization}}
		if tc.container != "" {
			m.Type, m.Container = ContainerResourceMetric, tc.container
		}
		return m, tc.resourceValues()
	}
	mi := tc.metric
	switch mi.metricType {
	case objectMetric:
		return MetricSpec{Type: ObjectMetric, Name: mi.name, Target: Target{Type: ValueTarget, Value: mi.targetUsage}},
			MetricValues{Value: mi.levels[0]}
	case objectPerPodMetric:
		return MetricSpec{Type: ObjectMetric, Name: mi.name, Target: Target{Type: AverageValueTarget, AverageValue: mi.perPodTargetUsage}},
			MetricValues{Value: mi.levels[0]}
	case externalMetric:
		return MetricSpec{Type: ExternalMetric, Name: mi.name, Target: Target{Type: ValueTarget, Value: mi.targetUsage}},
			MetricValues{Value: saturatingSum(mi.levels)}
	case externalPerPodMetric:
		return MetricSpec{Type: ExternalMetric, Name: mi.name, Target: Target{Type: AverageValueTarget, AverageValue: mi.perPodTargetUsage}},
			MetricValues{Value: saturatingSum(mi.levels)}
	}
	vals := make(map[string]Sample, len(mi.levels))
	for i, l := range mi.levels {
		vals[podName(i)] = Sample{Value: l, Timestamp: tc.timestamp}
	}
	return MetricSpec{Type: PodsMetric, Name: mi.name, Target: Target{Type: AverageValueTarget, AverageValue: mi.targetUsage}},
		MetricValues{PodValues: vals}
}

// run evaluates the case through recommend, as upstream's runTest calls the
// replica calculator, and checks replicas, utilization and value.
func (tc *replicaCalcTestCase) run(t *testing.T) {
	t.Helper()
	m, mv := tc.spec()
	o := Observation{Now: testNow, CurrentReplicas: tc.currentReplicas, StatusReplicas: tc.currentReplicas,
		Pods: tc.pods(), Metrics: []MetricValues{mv}}
	tol := tolerances{down: defaultTestingTolerance, up: defaultTestingTolerance}
	if tc.tolerances != nil {
		tol = *tc.tolerances
	}
	rd := readiness{now: testNow, cpuInitPeriod: defaultTestingCPUInitializationPeriod, initialReadinessDelay: defaultTestingDelayOfInitialReadinessStatus}
	p := recommend(o, Spec{MinReplicas: 1, MaxReplicas: 1000, Metrics: []MetricSpec{m}}, tol, rd)
	got := p.Metrics[0]
	if tc.expectedError != nil {
		errContains(t, got.Err, tc.expectedError.Error())
		if !p.Invalid {
			t.Errorf("Proposal.Invalid = false with the only metric failing")
		}
		return
	}
	if got.Err != nil {
		t.Fatalf("metric error: %v", got.Err)
	}
	if got.Replicas != tc.expectedReplicas || p.Replicas != tc.expectedReplicas {
		t.Errorf("replicas = %d (proposal %d), want %d", got.Replicas, p.Replicas, tc.expectedReplicas)
	}
	if tc.resource != nil {
		if got.Utilization == nil || *got.Utilization != tc.resource.expectedUtilization {
			t.Errorf("utilization = %v, want %d", ptrVal(got.Utilization), tc.resource.expectedUtilization)
		}
		if got.Value != tc.resource.expectedValue {
			t.Errorf("value = %d, want %d", got.Value, tc.resource.expectedValue)
		}
		return
	}
	if got.Value != tc.metric.expectedUsage {
		t.Errorf("usage = %d, want %d", got.Value, tc.metric.expectedUsage)
	}
}

func ptrVal(p *int32) any {
	if p == nil {
		return nil
	}
	return *p
}
