package horizontal

import (
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Ported from upstream replica_calculator_test.go (k8s.io/kubernetes
// v1.36.3): the table tests and the multi-step single tests.

func TestGroupPods(t *testing.T) {
	now := testNow
	ready := func(name string, ph PodPhase, start, transition time.Time) Pod {
		return Pod{Name: name, Phase: ph, StartTime: start, HasReadyCondition: true, Ready: true, ReadyTransition: transition}
	}
	notReady := func(name string, ph PodPhase, start, transition time.Time) Pod {
		p := ready(name, ph, start, transition)
		p.Ready = false
		return p
	}
	for _, tc := range []struct {
		name                string
		pods                []Pod
		metrics             map[string]Sample
		resource            string
		expectReadyPodCount int
		expectUnreadyPods   []string
		expectMissingPods   []string
		expectIgnoredPods   []string
	}{
		{name: "void", resource: "cpu"},
		{
			name:                "count in a ready pod - memory",
			pods:                []Pod{{Name: "bentham", Phase: PodSucceeded}},
			metrics:             map[string]Sample{"bentham": {Value: 1, Timestamp: now, Window: time.Minute}},
			resource:            "memory",
			expectReadyPodCount: 1,
		},
		{
			name:              "unready a pod without ready condition - CPU",
			pods:              []Pod{{Name: "lucretius", Phase: PodSucceeded, StartTime: now}},
			metrics:           map[string]Sample{"lucretius": {Value: 1}},
			resource:          "cpu",
			expectUnreadyPods: []string{"lucretius"},
		},
		{
			name:                "count in a ready pod with fresh metrics during initialization period - CPU",
			pods:                []Pod{ready("bentham", PodSucceeded, now.Add(-1*time.Minute), now.Add(-30*time.Second))},
			metrics:             map[string]Sample{"bentham": {Value: 1, Timestamp: now, Window: 30 * time.Second}},
			resource:            "cpu",
			expectReadyPodCount: 1,
		},
		{
			name:              "unready a ready pod without fresh metrics during initialization period - CPU",
			pods:              []Pod{ready("bentham", PodSucceeded, now.Add(-1*time.Minute), now.Add(-30*time.Second))},
			metrics:           map[string]Sample{"bentham": {Value: 1, Timestamp: now, Window: 60 * time.Second}},
			resource:          "cpu",
			expectUnreadyPods: []string{"bentham"},
		},
		{
			name:              "unready an unready pod during initialization period - CPU",
			pods:              []Pod{notReady("lucretius", PodSucceeded, now.Add(-10*time.Minute), now.Add(-9*time.Minute-54*time.Second))},
			metrics:           map[string]Sample{"lucretius": {Value: 1}},
			resource:          "cpu",
			expectUnreadyPods: []string{"lucretius"},
		},
		{
			name:                "count in a ready pod without fresh metrics after initialization period - CPU",
			pods:                []Pod{ready("bentham", PodSucceeded, now.Add(-3*time.Minute), now.Add(-3*time.Minute))},
			metrics:             map[string]Sample{"bentham": {Value: 1, Timestamp: now.Add(-2 * time.Minute), Window: time.Minute}},
			resource:            "cpu",
			expectReadyPodCount: 1,
		},
		{
			name:                "count in an unready pod that was ready after initialization period - CPU",
			pods:                []Pod{notReady("lucretius", PodSucceeded, now.Add(-10*time.Minute), now.Add(-9*time.Minute))},
			metrics:             map[string]Sample{"lucretius": {Value: 1}},
			resource:            "cpu",
			expectReadyPodCount: 1,
		},
		{
			name:                "unready pod that has never been ready after initialization period - CPU",
			pods:                []Pod{notReady("lucretius", PodSucceeded, now.Add(-10*time.Minute), now.Add(-9*time.Minute-50*time.Second))},
			metrics:             map[string]Sample{"lucretius": {Value: 1}},
			resource:            "cpu",
			expectReadyPodCount: 1,
		},
		{
			name:              "a missing pod",
			pods:              []Pod{{Name: "epicurus", Phase: PodSucceeded, StartTime: now.Add(-3 * time.Minute)}},
			resource:          "cpu",
			expectMissingPods: []string{"epicurus"},
		},
		{
			name: "several pods",
			pods: []Pod{
				{Name: "lucretius", Phase: PodSucceeded, StartTime: now},
				ready("niccolo", PodSucceeded, now.Add(-3*time.Minute), now.Add(-3*time.Minute)),
				{Name: "epicurus", Phase: PodSucceeded, StartTime: now.Add(-3 * time.Minute)},
			},
			metrics:             map[string]Sample{"lucretius": {Value: 1}, "niccolo": {Value: 1}},
			resource:            "cpu",
			expectReadyPodCount: 1,
			expectUnreadyPods:   []string{"lucretius"},
			expectMissingPods:   []string{"epicurus"},
		},
		{
			name:              "pending pods are unreadied",
			pods:              []Pod{{Name: "unscheduled", Phase: PodPending}},
			resource:          "cpu",
			expectUnreadyPods: []string{"unscheduled"},
		},
		{
			name:              "ignore pods with deletion timestamps",
			pods:              []Pod{{Name: "deleted", Phase: PodPending, Deleting: true}},
			metrics:           map[string]Sample{"deleted": {Value: 1}},
			resource:          "cpu",
			expectIgnoredPods: []string{"deleted"},
		},
		{
			name:              "ignore pods in a failed state",
			pods:              []Pod{{Name: "failed", Phase: PodFailed}},
			metrics:           map[string]Sample{"failed": {Value: 1}},
			resource:          "cpu",
			expectIgnoredPods: []string{"failed"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rd := readiness{now: now, cpuInitPeriod: defaultTestingCPUInitializationPeriod, initialReadinessDelay: defaultTestingDelayOfInitialReadinessStatus}
			got := map[podClass][]string{}
			readyCount := 0
			for i := range tc.pods {
				s, ok := tc.metrics[tc.pods[i].Name]
				c := rd.classify(&tc.pods[i], s, ok, tc.resource)
				if c == podReady {
					readyCount++
					continue
				}
				got[c] = append(got[c], tc.pods[i].Name)
			}
			if readyCount != tc.expectReadyPodCount {
				t.Errorf("readyPodCount = %d, want %d", readyCount, tc.expectReadyPodCount)
			}
			for _, c := range []struct {
				class podClass
				want  []string
			}{{podUnready, tc.expectUnreadyPods}, {podMissing, tc.expectMissingPods}, {podIgnored, tc.expectIgnoredPods}} {
				sort.Strings(got[c.class])
				if d := cmp.Diff(c.want, got[c.class]); d != "" {
					t.Errorf("pods of class %d (-want +got):\n%s", c.class, d)
				}
			}
		})
	}
}

func TestCalculateRequests(t *testing.T) {
	const testPod = "test-pod"
	cpu := func(m int64) map[string]int64 { return map[string]int64{"cpu": m} }
	two := []Container{{Name: "container1", Requests: cpu(100)}, {Name: "container2", Requests: cpu(50)}}
	for _, tc := range []struct {
		name             string
		pods             []Pod
		container        string
		expectedRequests map[string]int64
		expectedError    string
	}{
		{name: "void", expectedRequests: map[string]int64{}},
		{
			name:             "Sum container requests if pod-level feature is disabled",
			pods:             []Pod{{Name: testPod, Containers: two}},
			expectedRequests: map[string]int64{testPod: 150},
		},
		{
			name:             "Pod-level resources are enabled, but not set: fallback to sum container requests",
			pods:             []Pod{{Name: testPod, Containers: two}},
			expectedRequests: map[string]int64{testPod: 150},
		},
		{
			name:             "Pod-level resources override container requests when feature enabled and pod resources specified",
			pods:             []Pod{{Name: testPod, Containers: two, PodRequests: cpu(800)}},
			expectedRequests: map[string]int64{testPod: 800},
		},
		{
			name:          "Fail if at least one of the containers is missing requests and pod-level feature/requests are not set",
			pods:          []Pod{{Name: testPod, Containers: []Container{{Name: "container1"}, {Name: "container2", Requests: cpu(50)}}}},
			expectedError: fmt.Sprintf("missing request for %s in container %s of Pod %s", "cpu", "container1", testPod),
		},
		{
			name:             "Pod-level resources override missing container requests when feature enabled and pod resources specified",
			pods:             []Pod{{Name: testPod, Containers: []Container{{Name: "container1"}, {Name: "container2", Requests: cpu(50)}}, PodRequests: cpu(800)}},
			expectedRequests: map[string]int64{testPod: 800},
		},
		{
			name:             "Container: if a container name is specified, calculate requests only for that container",
			pods:             []Pod{{Name: testPod, Containers: two}},
			container:        "container1",
			expectedRequests: map[string]int64{testPod: 100},
		},
		{
			name:             "Container: if a container name is specified, calculate requests only for that container and ignore pod-level requests",
			pods:             []Pod{{Name: testPod, Containers: two, PodRequests: cpu(800)}},
			container:        "container1",
			expectedRequests: map[string]int64{testPod: 100},
		},
		{
			// ebb lists restartable init containers (sidecars) as containers
			// and leaves other init containers out.
			name:             "pod with restartable init containers",
			pods:             []Pod{{Name: testPod, Containers: []Container{{Name: "container1", Requests: cpu(100)}, {Name: "restartable-container1", Requests: cpu(50)}}}},
			expectedRequests: map[string]int64{testPod: 150},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]int64{}
			var err error
			for i := range tc.pods {
				var r int64
				if r, err = podRequest(&tc.pods[i], tc.container, "cpu"); err != nil {
					break
				}
				got[tc.pods[i].Name] = r
			}
			if tc.expectedError != "" {
				if err == nil || err.Error() != tc.expectedError {
					t.Fatalf("error = %v, want %q", err, tc.expectedError)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if d := cmp.Diff(tc.expectedRequests, got); d != "" {
				t.Errorf("requests (-want +got):\n%s", d)
			}
		})
	}
}

func TestCalculatePodRequestsFromContainers_NonExistentContainer(t *testing.T) {
	pod := Pod{Name: "test-pod", Containers: []Container{{Name: "container1", Requests: map[string]int64{"cpu": q("100m")}}}}
	request, err := podRequest(&pod, "non-existent-container", "cpu")
	if err == nil || err.Error() != "container non-existent-container not found in Pod test-pod" {
		t.Fatalf("error = %v, want container not found", err)
	}
	if request != 0 {
		t.Errorf("request = %d, want 0", request)
	}
}

func TestReplicaCalcConfigurableTolerance(t *testing.T) {
	reqs := []int64{q("0.9"), q("1.0"), q("1.1")}
	for _, tc := range []struct {
		name string
		replicaCalcTestCase
	}{
		{"Outside of a 0% tolerance", replicaCalcTestCase{tolerances: &Tolerances{0., 0.}, currentReplicas: 3, expectedReplicas: 4,
			resource: &resourceInfo{name: "cpu", requests: reqs, levels: makePodMetricLevels(909, 1010, 1111), targetUtilization: 100, expectedUtilization: 101, expectedValue: numContainersPerPod * 1010}}},
		{"Within a 200% scale-up tolerance", replicaCalcTestCase{tolerances: &Tolerances{defaultTestingTolerance, 2.}, currentReplicas: 3, expectedReplicas: 3,
			resource: &resourceInfo{name: "cpu", requests: reqs, levels: makePodMetricLevels(1890, 1910, 1900), targetUtilization: 100, expectedUtilization: 190, expectedValue: numContainersPerPod * 1900}}},
		{"Outside 8% scale-up tolerance (and superfuous scale-down tolerance)", replicaCalcTestCase{tolerances: &Tolerances{2., .08}, currentReplicas: 3, expectedReplicas: 4,
			resource: &resourceInfo{name: "cpu", requests: reqs, levels: makePodMetricLevels(1100, 1080, 1090), targetUtilization: 100, expectedUtilization: 109, expectedValue: numContainersPerPod * 1090}}},
		{"Within a 36% scale-down tolerance", replicaCalcTestCase{tolerances: &Tolerances{.36, defaultTestingTolerance}, currentReplicas: 3, expectedReplicas: 3,
			resource: &resourceInfo{name: "cpu", requests: reqs, levels: makePodMetricLevels(660, 640, 650), targetUtilization: 100, expectedUtilization: 65, expectedValue: numContainersPerPod * 650}}},
		{"Outside a 34% scale-down tolerance", replicaCalcTestCase{tolerances: &Tolerances{.34, defaultTestingTolerance}, currentReplicas: 3, expectedReplicas: 2,
			resource: &resourceInfo{name: "cpu", requests: reqs, levels: makePodMetricLevels(660, 640, 650), targetUtilization: 100, expectedUtilization: 65, expectedValue: numContainersPerPod * 650}}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t) })
	}
}

func TestReplicaCalcComputedToleranceAlgImplementation(t *testing.T) {
	startPods := int32(10)
	// 150 mCPU per pod.
	totalUsedCPUOfAllPods := int64(startPods * 150)
	// Each pod starts out asking for 2X what is really needed.
	totalRequestedCPUOfAllPods := int32(2 * totalUsedCPUOfAllPods)
	requestedToUsed := float64(totalRequestedCPUOfAllPods / int32(totalUsedCPUOfAllPods))
	perPodRequested := totalRequestedCPUOfAllPods / startPods

	// Force a minimal scaling event by satisfying (tolerance < 1 - resourcesUsedRatio).
	target := math.Abs(1/(requestedToUsed*(1-defaultTestingTolerance))) + .01
	finalCPUPercentTarget := int32(target * 100)
	resourcesUsedRatio := float64(totalUsedCPUOfAllPods) / float64(float64(totalRequestedCPUOfAllPods)*target)
	finalPods := int32(math.Ceil(resourcesUsedRatio * float64(startPods)))

	levels := make([]int64, 10)
	for i := range levels {
		levels[i] = totalUsedCPUOfAllPods / 10
	}
	var requests []int64
	for _, d := range []int32{100, -100, 10, -10, 2, -2, 1, -1, 0, 0} {
		requests = append(requests, q(fmt.Sprint(perPodRequested+d)+"m"))
	}
	tc := replicaCalcTestCase{
		currentReplicas:  startPods,
		expectedReplicas: finalPods,
		resource: &resourceInfo{
			name:                "cpu",
			levels:              makePodMetricLevels(levels...),
			requests:            requests,
			targetUtilization:   finalCPUPercentTarget,
			expectedUtilization: int32(totalUsedCPUOfAllPods*100) / totalRequestedCPUOfAllPods,
			expectedValue:       numContainersPerPod * totalUsedCPUOfAllPods / 10,
		},
	}
	t.Run("scale down just outside tolerance", func(t *testing.T) { tc.run(t) })

	// Reuse the data structure above, now testing "unscaling": no scaling
	// happens within a very close margin to the tolerance.
	target = math.Abs(1/(requestedToUsed*(1-defaultTestingTolerance))) + .004
	tc.resource.targetUtilization = int32(target * 100)
	tc.expectedReplicas = startPods
	t.Run("no scale just inside tolerance", func(t *testing.T) { tc.run(t) })
}
