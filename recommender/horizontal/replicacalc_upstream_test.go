package horizontal

import (
	"errors"
	"math"
	"testing"
	"time"
)

// errNoResourceMetrics is what the resource metrics source reports for an
// empty list (upstream's metrics client error).
var errNoResourceMetrics = errors.New("no metrics returned from resource metrics API")

// TestReplicaCalcUpstream ports every single-scenario test of upstream
// replica_calculator_test.go (k8s.io/kubernetes v1.36.3); each case is named
// after its upstream test and keeps its numbers.
func TestReplicaCalcUpstream(t *testing.T) {
	for _, c := range append(replicaCalcCasesA, replicaCalcCasesB...) {
		t.Run(c.name, func(t *testing.T) { c.tc.run(t) })
	}
}

// namedReplicaCalcCase is one ported upstream test.
type namedReplicaCalcCase struct {
	name string
	tc   replicaCalcTestCase
}

var replicaCalcCasesA = []namedReplicaCalcCase{
	{name: "TestReplicaCalcDisjointResourcesMetrics", tc: replicaCalcTestCase{
		currentReplicas: 1,
		expectedError:   errors.New("no metrics returned matched known pods"),
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0")},
			levels:   makePodMetricLevels(100),
			podNames: []string{"an-older-pod-name"},

			targetUtilization: 100,
		},
	}},
	{name: "TestReplicaCalcScaleUp", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 5,
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(300, 500, 700),

			targetUtilization:   30,
			expectedUtilization: 50,
			expectedValue:       numContainersPerPod * 500,
		},
	}},
	{name: "TestReplicaCalcContainerScaleUp", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 5,
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0")},
			levels:   [][]int64{{1000, 300}, {1000, 500}, {1000, 700}},

			targetUtilization:   30,
			expectedUtilization: 50,
			expectedValue:       500,
		},
		container: "container2",
	}},
	{name: "TestReplicaCalcScaleUpUnreadyLessScale", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 4,
		podReadiness:     []condStatus{condFalse, condTrue, condTrue},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(300, 500, 700),

			targetUtilization:   30,
			expectedUtilization: 60,
			expectedValue:       numContainersPerPod * 600,
		},
	}},
	{name: "TestReplicaCalcScaleUpOverflow", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: math.MaxInt32,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{math.MaxInt64}, // Use MaxInt64 to ensure a very large value
			targetUsage:   1,                      // Set a very low target to force high scaling
			metricType:    objectMetric,
			expectedUsage: math.MaxInt64,
			singleObject: &objectRef{
				Kind:       "Deployment",
				APIVersion: "apps/v1",
				Name:       "some-deployment",
			},
		},
	}},
	{name: "TestReplicaCalcScaleUpContainerHotCpuLessScale", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 4,
		podStartTime:     []time.Time{hotCPUCreationTime(), coolCPUCreationTime(), coolCPUCreationTime()},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0")},
			levels:   [][]int64{{0, 300}, {0, 500}, {0, 700}},

			targetUtilization:   30,
			expectedUtilization: 60,
			expectedValue:       600,
		},
		container: "container2",
	}},
	{name: "TestReplicaCalcScaleUpHotCpuLessScale", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 4,
		podStartTime:     []time.Time{hotCPUCreationTime(), coolCPUCreationTime(), coolCPUCreationTime()},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(300, 500, 700),

			targetUtilization:   30,
			expectedUtilization: 60,
			expectedValue:       numContainersPerPod * 600,
		},
	}},
	{name: "TestReplicaCalcScaleUpUnreadyNoScale", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 3,
		podReadiness:     []condStatus{condTrue, condFalse, condFalse},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(400, 500, 700),

			targetUtilization:   30,
			expectedUtilization: 40,
			expectedValue:       numContainersPerPod * 400,
		},
	}},
	{name: "TestExternalPerPodMetricReplicaOverflow", tc: replicaCalcTestCase{
		currentReplicas:  1,
		expectedReplicas: math.MaxInt32,
		metric: &metricInfo{
			name:              "qps",
			levels:            []int64{math.MaxInt64},
			perPodTargetUsage: 1, // Set to 1 to test replica calculation when targeting a 1:1 ratio between metric value and number of pods
			metricType:        externalPerPodMetric,
			expectedUsage:     math.MaxInt64,
			selector:          &labelSelector{MatchLabels: map[string]string{"label": "value"}},
		},
	}},
	{name: "TestExternalPerPodMetricUsageOverflow", tc: replicaCalcTestCase{
		currentReplicas:  1,
		expectedReplicas: 1,
		metric: &metricInfo{
			name:              "qps",
			levels:            []int64{math.MaxInt64},
			perPodTargetUsage: math.MaxInt64, // Set to a high value to test replica calculation when targeting a high value:1 ratio between metric value and number of pods
			metricType:        externalPerPodMetric,
			expectedUsage:     math.MaxInt64,
			selector:          &labelSelector{MatchLabels: map[string]string{"label": "value"}},
		},
	}},
	{name: "TestReplicaCalcScaleHotCpuNoScale", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 3,
		podReadiness:     []condStatus{condTrue, condFalse, condFalse},
		podStartTime:     []time.Time{coolCPUCreationTime(), hotCPUCreationTime(), hotCPUCreationTime()},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(400, 500, 700),

			targetUtilization:   30,
			expectedUtilization: 40,
			expectedValue:       numContainersPerPod * 400,
		},
	}},
	{name: "TestReplicaCalcScaleUpIgnoresFailedPods", tc: replicaCalcTestCase{
		currentReplicas:  2,
		expectedReplicas: 4,
		podReadiness:     []condStatus{condTrue, condTrue, condFalse, condFalse},
		podPhase:         []PodPhase{PodRunning, PodRunning, PodFailed, PodFailed},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(500, 700),

			targetUtilization:   30,
			expectedUtilization: 60,
			expectedValue:       numContainersPerPod * 600,
		},
	}},
	{name: "TestReplicaCalcMissingContainerMetricScaleUpIgnoresFailedPods", tc: replicaCalcTestCase{
		currentReplicas:  2,
		expectedReplicas: 4,
		podReadiness:     []condStatus{condTrue, condTrue, condFalse, condFalse},
		podPhase:         []PodPhase{PodRunning, PodRunning, PodFailed, PodFailed},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   [][]int64{{1000, 500}, {9000, 700}, {1000}, {9000}},

			targetUtilization:   30,
			expectedUtilization: 60,
			expectedValue:       600,
		},
		container: "container2",
	}},
	{name: "TestReplicaCalcScaleUpContainerIgnoresFailedPods", tc: replicaCalcTestCase{
		currentReplicas:  2,
		expectedReplicas: 4,
		podReadiness:     []condStatus{condTrue, condTrue, condFalse, condFalse},
		podPhase:         []PodPhase{PodRunning, PodRunning, PodFailed, PodFailed},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   [][]int64{{1000, 500}, {9000, 700}},

			targetUtilization:   30,
			expectedUtilization: 60,
			expectedValue:       600,
		},
		container: "container2",
	}},
	{name: "TestReplicaCalcScaleUpIgnoresDeletionPods", tc: replicaCalcTestCase{
		currentReplicas:      2,
		expectedReplicas:     4,
		podReadiness:         []condStatus{condTrue, condTrue, condFalse, condFalse},
		podPhase:             []PodPhase{PodRunning, PodRunning, PodRunning, PodRunning},
		podDeletionTimestamp: []bool{false, false, true, true},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(500, 700),

			targetUtilization:   30,
			expectedUtilization: 60,
			expectedValue:       numContainersPerPod * 600,
		},
	}},
	{name: "TestReplicaCalcScaleUpContainerIgnoresDeletionPods", tc: replicaCalcTestCase{
		currentReplicas:      2,
		expectedReplicas:     4,
		podReadiness:         []condStatus{condTrue, condTrue, condFalse, condFalse},
		podPhase:             []PodPhase{PodRunning, PodRunning, PodRunning, PodRunning},
		podDeletionTimestamp: []bool{false, false, true, true},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(500, 700), // TODO: This test is broken and works only because of missing metrics

			targetUtilization:   30,
			expectedUtilization: 60,
			expectedValue:       600,
		},
		container: "container1",
	}},
	{name: "TestReplicaCalcScaleUpCM", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 4,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{20000, 10000, 30000},
			targetUsage:   15000,
			expectedUsage: 20000,
			metricType:    podMetric,
		},
	}},
	{name: "TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 6,
		podReadiness:     []condStatus{condTrue, condTrue, condFalse},
		podStartTime:     []time.Time{coolCPUCreationTime(), coolCPUCreationTime(), hotCPUCreationTime()},
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{50000, 10000, 30000},
			targetUsage:   15000,
			expectedUsage: 30000,
			metricType:    podMetric,
		},
	}},
	{name: "TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 7,
		podReadiness:     []condStatus{condFalse, condTrue, condFalse},
		podStartTime:     []time.Time{hotCPUCreationTime(), coolCPUCreationTime(), hotCPUCreationTime()},
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{50000, 15000, 30000},
			targetUsage:   15000,
			expectedUsage: 31666,
			metricType:    podMetric,
		},
	}},
	{name: "TestReplicaCalcScaleUpCMObject", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 4,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{20000},
			targetUsage:   15000,
			expectedUsage: 20000,
			singleObject: &objectRef{
				Kind:       "Deployment",
				APIVersion: "apps/v1",
				Name:       "some-deployment",
			},
		},
	}},
	{name: "TestReplicaCalcScaleUpCMPerPodObject", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 4,
		metric: &metricInfo{
			metricType:        objectPerPodMetric,
			name:              "qps",
			levels:            []int64{20000},
			perPodTargetUsage: 5000,
			expectedUsage:     6667,
			singleObject: &objectRef{
				Kind:       "Deployment",
				APIVersion: "apps/v1",
				Name:       "some-deployment",
			},
		},
	}},
	{name: "TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 5, // If we did not ignore unready pods, we'd expect 15 replicas.
		podReadiness:     []condStatus{condFalse, condTrue, condFalse},
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{50000},
			targetUsage:   10000,
			expectedUsage: 50000,
			singleObject: &objectRef{
				Kind:       "Deployment",
				APIVersion: "apps/v1",
				Name:       "some-deployment",
			},
		},
	}},
	{name: "TestReplicaCalcScaleUpCMExternal", tc: replicaCalcTestCase{
		currentReplicas:  1,
		expectedReplicas: 2,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{8600},
			targetUsage:   4400,
			expectedUsage: 8600,
			selector:      &labelSelector{MatchLabels: map[string]string{"label": "value"}},
			metricType:    podMetric,
		},
	}},
	{name: "TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 2, // Would expect 6 if we didn't ignore unready pods
		podReadiness:     []condStatus{condFalse, condTrue, condFalse},
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{8600},
			targetUsage:   4400,
			expectedUsage: 8600,
			selector:      &labelSelector{MatchLabels: map[string]string{"label": "value"}},
			metricType:    externalMetric,
		},
	}},
	{name: "TestReplicaCalcScaleUpCMExternalNoLabels", tc: replicaCalcTestCase{
		currentReplicas:  1,
		expectedReplicas: 2,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{8600},
			targetUsage:   4400,
			expectedUsage: 8600,
			metricType:    podMetric,
		},
	}},
	{name: "TestReplicaCalcScaleUpPerPodCMExternal", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 4,
		metric: &metricInfo{
			name:              "qps",
			levels:            []int64{8600},
			perPodTargetUsage: 2150,
			expectedUsage:     2867,
			selector:          &labelSelector{MatchLabels: map[string]string{"label": "value"}},
			metricType:        externalPerPodMetric,
		},
	}},
	{name: "TestReplicaCalcScaleDown", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 3,
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(100, 300, 500, 250, 250),

			targetUtilization:   50,
			expectedUtilization: 28,
			expectedValue:       numContainersPerPod * 280,
		},
	}},
	{name: "TestReplicaCalcContainerScaleDown", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 3,
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   [][]int64{{1000, 100}, {1000, 300}, {1000, 500}, {1000, 250}, {1000, 250}},

			targetUtilization:   50,
			expectedUtilization: 28,
			expectedValue:       280,
		},
		container: "container2",
	}},
	{name: "TestReplicaCalcScaleDownCM", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 3,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{12000, 12000, 12000, 12000, 12000},
			targetUsage:   20000,
			expectedUsage: 12000,
			metricType:    podMetric,
		},
	}},
	{name: "TestReplicaCalcScaleDownPerPodCMObject", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 3,
		metric: &metricInfo{
			name:              "qps",
			levels:            []int64{6000},
			perPodTargetUsage: 2000,
			expectedUsage:     1200,
			singleObject: &objectRef{
				Kind:       "Deployment",
				APIVersion: "apps/v1",
				Name:       "some-deployment",
			},
			metricType: objectPerPodMetric,
		},
	}},
	{name: "TestReplicaCalcScaleDownCMObject", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 3,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{12000},
			targetUsage:   20000,
			expectedUsage: 12000,
			singleObject: &objectRef{
				Kind:       "Deployment",
				APIVersion: "apps/v1",
				Name:       "some-deployment",
			},
		},
	}},
	{name: "TestReplicaCalcScaleDownCMExternal", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 3,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{8600},
			targetUsage:   14334,
			expectedUsage: 8600,
			selector:      &labelSelector{MatchLabels: map[string]string{"label": "value"}},
			metricType:    externalMetric,
		},
	}},
	{name: "TestReplicaCalcScaleDownPerPodCMExternal", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 3,
		metric: &metricInfo{
			name:              "qps",
			levels:            []int64{8600},
			perPodTargetUsage: 2867,
			expectedUsage:     1720,
			selector:          &labelSelector{MatchLabels: map[string]string{"label": "value"}},
			metricType:        externalPerPodMetric,
		},
	}},
	{name: "TestReplicaCalcScaleDownExcludeUnreadyPods", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 2,
		podReadiness:     []condStatus{condTrue, condTrue, condTrue, condFalse, condFalse},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(100, 300, 500, 250, 250),

			targetUtilization:   50,
			expectedUtilization: 30,
			expectedValue:       numContainersPerPod * 300,
		},
	}},
	{name: "TestReplicaCalcScaleDownContainerExcludeUnreadyPods", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 2,
		podReadiness:     []condStatus{condTrue, condTrue, condTrue, condFalse, condFalse},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   [][]int64{{1000, 100}, {1000, 300}, {1000, 500}, {1000, 250}, {1000, 250}},

			targetUtilization:   50,
			expectedUtilization: 30,
			expectedValue:       300,
		},
		container: "container2",
	}},
}
