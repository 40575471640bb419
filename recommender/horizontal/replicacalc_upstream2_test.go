package horizontal

import (
	"errors"
	"math"
	"time"
)

// The second half of the ported replica calculator tests (see
// TestReplicaCalcUpstream).
var replicaCalcCasesB = []namedReplicaCalcCase{
	{name: "TestReplicaCalcScaleDownExcludeUnscheduledPods", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 1,
		podReadiness:     []condStatus{condTrue, condFalse, condFalse, condFalse, condFalse},
		podPhase:         []PodPhase{PodRunning, PodPending, PodPending, PodPending, PodPending},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(100),

			targetUtilization:   50,
			expectedUtilization: 10,
			expectedValue:       numContainersPerPod * 100,
		},
	}},
	{name: "TestReplicaCalcScaleDownContainerExcludeUnscheduledPods", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 1,
		podReadiness:     []condStatus{condTrue, condFalse, condFalse, condFalse, condFalse},
		podPhase:         []PodPhase{PodRunning, PodPending, PodPending, PodPending, PodPending},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   [][]int64{{1000, 100}, {1000, 300}, {1000, 500}, {1000, 250}, {1000, 250}},

			targetUtilization:   50,
			expectedUtilization: 10,
			expectedValue:       100,
		},
		container: "container2",
	}},
	{name: "TestReplicaCalcScaleDownIgnoreHotCpuPods", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 2,
		podStartTime:     []time.Time{coolCPUCreationTime(), coolCPUCreationTime(), coolCPUCreationTime(), hotCPUCreationTime(), hotCPUCreationTime()},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(100, 300, 500, 250, 250),

			targetUtilization:   50,
			expectedUtilization: 30,
			expectedValue:       numContainersPerPod * 300,
		},
	}},
	{name: "TestReplicaCalcScaleDownContainerIgnoreHotCpuPods", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 2,
		podStartTime:     []time.Time{coolCPUCreationTime(), coolCPUCreationTime(), coolCPUCreationTime(), hotCPUCreationTime(), hotCPUCreationTime()},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   [][]int64{{1000, 100}, {1000, 300}, {1000, 500}, {1000, 1000}, {1000, 1000}},

			targetUtilization:   50,
			expectedUtilization: 30,
			expectedValue:       300,
		},
		container: "container2",
	}},
	{name: "TestReplicaCalcScaleDownIgnoresFailedPods", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 3,
		podReadiness:     []condStatus{condTrue, condTrue, condTrue, condTrue, condTrue, condFalse, condFalse},
		podPhase:         []PodPhase{PodRunning, PodRunning, PodRunning, PodRunning, PodRunning, PodFailed, PodFailed},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(100, 300, 500, 250, 250),

			targetUtilization:   50,
			expectedUtilization: 28,
			expectedValue:       numContainersPerPod * 280,
		},
	}},
	{name: "TestReplicaCalcScaleDownContainerIgnoresFailedPods", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 3,
		podReadiness:     []condStatus{condTrue, condTrue, condTrue, condTrue, condTrue, condFalse, condFalse},
		podPhase:         []PodPhase{PodRunning, PodRunning, PodRunning, PodRunning, PodRunning, PodFailed, PodFailed},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   [][]int64{{1000, 100}, {1000, 300}, {1000, 500}, {1000, 250}, {1000, 250}}, //TODO: Test is broken

			targetUtilization:   50,
			expectedUtilization: 28,
			expectedValue:       280,
		},
		container: "container2",
	}},
	{name: "TestReplicaCalcScaleDownIgnoresDeletionPods", tc: replicaCalcTestCase{
		currentReplicas:      5,
		expectedReplicas:     3,
		podReadiness:         []condStatus{condTrue, condTrue, condTrue, condTrue, condTrue, condFalse, condFalse},
		podPhase:             []PodPhase{PodRunning, PodRunning, PodRunning, PodRunning, PodRunning, PodRunning, PodRunning},
		podDeletionTimestamp: []bool{false, false, false, false, false, true, true},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(100, 300, 500, 250, 250),

			targetUtilization:   50,
			expectedUtilization: 28,
			expectedValue:       numContainersPerPod * 280,
		},
	}},
	{name: "TestReplicaCalcScaleDownIgnoresDeletionPods_StillRunning", tc: replicaCalcTestCase{
		currentReplicas:      5,
		expectedReplicas:     3,
		podReadiness:         []condStatus{condTrue, condTrue, condTrue, condTrue, condTrue, condFalse, condFalse},
		podPhase:             []PodPhase{PodRunning, PodRunning, PodRunning, PodRunning, PodRunning, PodRunning, PodRunning},
		podDeletionTimestamp: []bool{false, false, false, false, false, true, true},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   [][]int64{{1000, 100}, {1000, 300}, {1000, 500}, {1000, 250}, {1000, 250}},

			targetUtilization:   50,
			expectedUtilization: 28,
			expectedValue:       280,
		},
		container: "container2",
	}},
	{name: "TestReplicaCalcTolerance", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 3,
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("0.9"), q("1.0"), q("1.1")},
			levels:   makePodMetricLevels(1010, 1030, 1020),

			targetUtilization:   100,
			expectedUtilization: 102,
			expectedValue:       numContainersPerPod * 1020,
		},
	}},
	{name: "TestReplicaCalcToleranceCM", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 3,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{20000, 21000, 21000},
			targetUsage:   20000,
			expectedUsage: 20666,
			metricType:    podMetric,
		},
	}},
	{name: "TestReplicaCalcToleranceCMObject", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 3,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{20666},
			targetUsage:   20000,
			expectedUsage: 20666,
			singleObject: &objectRef{
				Kind:       "Deployment",
				APIVersion: "apps/v1",
				Name:       "some-deployment",
			},
		},
	}},
	{name: "TestReplicaCalcTolerancePerPodCMObject", tc: replicaCalcTestCase{
		currentReplicas:  4,
		expectedReplicas: 4,
		metric: &metricInfo{
			metricType:        objectPerPodMetric,
			name:              "qps",
			levels:            []int64{20166},
			perPodTargetUsage: 5000,
			expectedUsage:     5042,
			singleObject: &objectRef{
				Kind:       "Deployment",
				APIVersion: "apps/v1",
				Name:       "some-deployment",
			},
		},
	}},
	{name: "TestReplicaCalcToleranceCMExternal", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 3,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{8600},
			targetUsage:   8888,
			expectedUsage: 8600,
			selector:      &labelSelector{MatchLabels: map[string]string{"label": "value"}},
			metricType:    externalMetric,
		},
	}},
	{name: "TestReplicaCalcTolerancePerPodCMExternal", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 3,
		metric: &metricInfo{
			name:              "qps",
			levels:            []int64{8600},
			perPodTargetUsage: 2900,
			expectedUsage:     2867,
			selector:          &labelSelector{MatchLabels: map[string]string{"label": "value"}},
			metricType:        externalPerPodMetric,
		},
	}},
	{name: "TestReplicaCalcConfigurableToleranceCM", tc: replicaCalcTestCase{
		tolerances:       &Tolerances{defaultTestingTolerance, .01},
		currentReplicas:  3,
		expectedReplicas: 4,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{20000, 21000, 21000},
			targetUsage:   20000,
			expectedUsage: 20666,
			metricType:    podMetric,
		},
	}},
	{name: "TestReplicaCalcConfigurableToleranceCMObject", tc: replicaCalcTestCase{
		tolerances:       &Tolerances{defaultTestingTolerance, .01},
		currentReplicas:  3,
		expectedReplicas: 4,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{20666},
			targetUsage:   20000,
			expectedUsage: 20666,
			singleObject: &objectRef{
				Kind:       "Deployment",
				APIVersion: "apps/v1",
				Name:       "some-deployment",
			},
		},
	}},
	{name: "TestReplicaCalcConfigurableTolerancePerPodCMObject", tc: replicaCalcTestCase{
		tolerances:       &Tolerances{defaultTestingTolerance, .01},
		currentReplicas:  4,
		expectedReplicas: 5,
		metric: &metricInfo{
			metricType:        objectPerPodMetric,
			name:              "qps",
			levels:            []int64{20208},
			perPodTargetUsage: 5000,
			expectedUsage:     5052,
			singleObject: &objectRef{
				Kind:       "Deployment",
				APIVersion: "apps/v1",
				Name:       "some-deployment",
			},
		},
	}},
	{name: "TestReplicaCalcConfigurableToleranceCMExternal", tc: replicaCalcTestCase{
		tolerances:       &Tolerances{defaultTestingTolerance, .01},
		currentReplicas:  3,
		expectedReplicas: 4,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{8900},
			targetUsage:   8800,
			expectedUsage: 8900,
			selector:      &labelSelector{MatchLabels: map[string]string{"label": "value"}},
			metricType:    externalMetric,
		},
	}},
	{name: "TestReplicaCalcConfigurableTolerancePerPodCMExternal", tc: replicaCalcTestCase{
		tolerances:       &Tolerances{defaultTestingTolerance, .01},
		currentReplicas:  3,
		expectedReplicas: 4,
		metric: &metricInfo{
			name:              "qps",
			levels:            []int64{8600},
			perPodTargetUsage: 2800,
			expectedUsage:     2867,
			selector:          &labelSelector{MatchLabels: map[string]string{"label": "value"}},
			metricType:        externalPerPodMetric,
		},
	}},
	{name: "TestReplicaCalcSuperfluousMetrics", tc: replicaCalcTestCase{
		currentReplicas:  4,
		expectedReplicas: 24,
		resource: &resourceInfo{
			name:                "cpu",
			requests:            []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:              makePodMetricLevels(4000, 9500, 3000, 7000, 3200, 2000),
			targetUtilization:   100,
			expectedUtilization: 587,
			expectedValue:       numContainersPerPod * 5875,
		},
	}},
	{name: "TestReplicaCalcMissingMetrics", tc: replicaCalcTestCase{
		currentReplicas:  4,
		expectedReplicas: 3,
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(400, 95),

			targetUtilization:   100,
			expectedUtilization: 24,
			expectedValue:       495, // numContainersPerPod * 247, for sufficiently large values of 247
		},
	}},
	{name: "TestReplicaCalcEmptyMetrics", tc: replicaCalcTestCase{
		currentReplicas: 4,
		expectedError:   errNoResourceMetrics,
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(),

			targetUtilization: 100,
		},
	}},
	{name: "TestReplicaCalcEmptyCPURequest", tc: replicaCalcTestCase{
		currentReplicas: 1,
		expectedError:   errors.New("missing request for"),
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{},
			levels:   makePodMetricLevels(200),

			targetUtilization: 100,
		},
	}},
	{name: "TestPlainMetricReplicaCalcMissingMetricsNoChangeEq", tc: replicaCalcTestCase{
		currentReplicas:  5,
		expectedReplicas: 5,
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{20000, 19000, 21000},
			targetUsage:   20000,
			expectedUsage: 20000,
			metricType:    podMetric,
		},
	}},
	{name: "TestReplicaCalcMissingMetricsNoChangeEq", tc: replicaCalcTestCase{
		currentReplicas:  2,
		expectedReplicas: 2,
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(1000),

			targetUtilization:   100,
			expectedUtilization: 100,
			expectedValue:       numContainersPerPod * 1000,
		},
	}},
	{name: "TestReplicaCalcMissingMetricsNoChangeGt", tc: replicaCalcTestCase{
		currentReplicas:  2,
		expectedReplicas: 2,
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(1900),

			targetUtilization:   100,
			expectedUtilization: 190,
			expectedValue:       numContainersPerPod * 1900,
		},
	}},
	{name: "TestReplicaCalcMissingMetricsNoChangeLt", tc: replicaCalcTestCase{
		currentReplicas:  2,
		expectedReplicas: 2,
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(600),

			targetUtilization:   100,
			expectedUtilization: 60,
			expectedValue:       numContainersPerPod * 600,
		},
	}},
	{name: "TestReplicaCalcMissingMetricsUnreadyChange", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 3,
		podReadiness:     []condStatus{condFalse, condTrue, condTrue},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(100, 450),

			targetUtilization:   50,
			expectedUtilization: 45,
			expectedValue:       numContainersPerPod * 450,
		},
	}},
	{name: "TestReplicaCalcMissingMetricsHotCpuNoChange", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 3,
		podStartTime:     []time.Time{hotCPUCreationTime(), coolCPUCreationTime(), coolCPUCreationTime()},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(100, 450),

			targetUtilization:   50,
			expectedUtilization: 45,
			expectedValue:       numContainersPerPod * 450,
		},
	}},
	{name: "TestReplicaCalcMissingMetricsUnreadyScaleUp", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 4,
		podReadiness:     []condStatus{condFalse, condTrue, condTrue},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(100, 2000),

			targetUtilization:   50,
			expectedUtilization: 200,
			expectedValue:       numContainersPerPod * 2000,
		},
	}},
	{name: "TestReplicaCalcMissingMetricsHotCpuScaleUp", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 4,
		podReadiness:     []condStatus{condFalse, condTrue, condTrue},
		podStartTime:     []time.Time{hotCPUCreationTime(), coolCPUCreationTime(), coolCPUCreationTime()},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(100, 2000),

			targetUtilization:   50,
			expectedUtilization: 200,
			expectedValue:       numContainersPerPod * 2000,
		},
	}},
	{name: "TestReplicaCalcMissingMetricsUnreadyScaleDown", tc: replicaCalcTestCase{
		currentReplicas:  4,
		expectedReplicas: 3,
		podReadiness:     []condStatus{condFalse, condTrue, condTrue, condTrue},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(100, 100, 100),

			targetUtilization:   50,
			expectedUtilization: 10,
			expectedValue:       numContainersPerPod * 100,
		},
	}},
	{name: "TestReplicaCalcMissingMetricsScaleDownTargetOver100", tc: replicaCalcTestCase{
		currentReplicas:  4,
		expectedReplicas: 2,
		podReadiness:     []condStatus{condFalse, condTrue, condTrue, condTrue},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("2.0"), q("2.0")},
			levels:   makePodMetricLevels(200, 100, 100),

			targetUtilization:   300,
			expectedUtilization: 6,
			expectedValue:       numContainersPerPod * 100,
		},
	}},
	{name: "TestReplicaCalcDuringRollingUpdateWithMaxSurge", tc: replicaCalcTestCase{
		currentReplicas:  2,
		expectedReplicas: 2,
		podPhase:         []PodPhase{PodRunning, PodRunning, PodRunning},
		resource: &resourceInfo{
			name:     "cpu",
			requests: []int64{q("1.0"), q("1.0"), q("1.0")},
			levels:   makePodMetricLevels(100, 100),

			targetUtilization:   50,
			expectedUtilization: 10,
			expectedValue:       numContainersPerPod * 100,
		},
	}},
	{name: "TestReplicaCalcDuringRollingUpdateWithMaxSurgeCM", tc: replicaCalcTestCase{
		currentReplicas:  2,
		expectedReplicas: 2,
		podPhase:         []PodPhase{PodRunning, PodRunning, PodRunning},
		metric: &metricInfo{
			name:          "qps",
			levels:        []int64{10000, 10000},
			targetUsage:   17000,
			expectedUsage: 10000,
			metricType:    podMetric,
		},
	}},
	{name: "TestReplicaCalcExternalMetricUsageOverflow", tc: replicaCalcTestCase{
		currentReplicas:  3,
		expectedReplicas: 3,
		metric: &metricInfo{
			name: "qps",
			// Two values that when added together will overflow int64
			levels:        []int64{math.MaxInt64/2 + 1, math.MaxInt64/2 + 1},
			targetUsage:   math.MaxInt64, // Set high target
			metricType:    externalMetric,
			selector:      &labelSelector{MatchLabels: map[string]string{"label": "value"}},
			expectedUsage: math.MaxInt64, // expect capped value

		},
	}}}
