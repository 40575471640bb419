package horizontal

import (
	"errors"
	"math"
)

// Errors of the per-metric calculation, with upstream's messages.
var (
	errNoPods         = errors.New("no pods returned by selector while calculating replica count")
	errNoPodMetrics   = errors.New("did not receive metrics for targeted pods (pods might be unready)")
	errNoKnownMetrics = errors.New("no metrics returned matched known pods")
)

// tolerances are the scale-down and scale-up tolerances of A.2.
type tolerances struct {
	down, up float64
}

// within reports whether ratio lies in [1-down, 1+up], bounds inclusive.
func (t tolerances) within(ratio float64) bool {
	return 1-t.down <= ratio && ratio <= 1+t.up
}

// tolerancesFor returns the global tolerance, replaced per direction by the
// behavior's tolerance fields (feature HPAConfigurableTolerance, on).
func tolerancesFor(b *Behavior, global float64) tolerances {
	t := tolerances{down: global, up: global}
	if b == nil {
		return t
	}
	if b.ScaleDown.Tolerance != nil {
		t.down = *b.ScaleDown.Tolerance
	}
	if b.ScaleUp.Tolerance != nil {
		t.up = *b.ScaleUp.Tolerance
	}
	return t
}

// ceilInt32 is int32(math.Ceil(x)) saturated to the int32 range (upstream
// caps at MaxInt32 where it guards against overflow; elsewhere the
// conversion is undefined there, so saturating is the only sane reading).
func ceilInt32(x float64) int32 {
	c := math.Ceil(x)
	switch {
	case c >= math.MaxInt32:
		return math.MaxInt32
	case c <= math.MinInt32:
		return math.MinInt32
	case c != c: // NaN
		return 0
	}
	return int32(c)
}

// podTotals aggregates one per-pod metric over the pod list the way upstream
// does after groupPods and removeMetricsForPods, without copying the metric
// map: "remaining" entries are the ready pods plus metrics of pods that are
// not in the pod list (superfluous metrics).
type podTotals struct {
	ready, unready, missing int
	remaining               int   // metric entries left: ready + superfluous
	sum                     int64 // values of the remaining entries
	readySum, readyReq      int64 // values and requests of the ready pods
	missingReq, unreadyReq  int64 // requests of missing and unready pods
	missingFallback         int64 // sum over missing pods of request*fallback/100
	reqErr                  error // first request error, in pod order
}

// aggregate classifies every pod and sums what Parts A.4/A.5 need. Requests
// are computed (for every pod, as upstream) only when withRequests is set;
// fallback is the utilization percent a missing pod is assumed to use on a
// scale-down.
func aggregate(pods []Pod, values map[string]Sample, resource, container string, withRequests bool, fallback int64, rd readiness) podTotals {
	var t podTotals
	var total, foundSum int64
	for _, s := range values {
		total += s.Value
	}
	found := 0
	for i := range pods {
		p := &pods[i]
		s, ok := values[p.Name]
		if ok {
			found++
			foundSum += s.Value
		}
		var req int64
		if withRequests {
			r, err := podRequest(p, container, resource)
			if err != nil && t.reqErr == nil {
				t.reqErr = err
			}
			req = r
		}
		switch rd.classify(p, s, ok, resource) {
		case podReady:
			t.ready++
			t.readySum += s.Value
			t.readyReq += req
		case podUnready:
			t.unready++
			t.unreadyReq += req
		case podMissing:
			t.missing++
			t.missingReq += req
			t.missingFallback += req * fallback / 100
		}
	}
	superfluous := max(len(values)-found, 0) // duplicate pod names could make it negative
	t.remaining = t.ready + superfluous
	t.sum = t.readySum + (total - foundSum)
	return t
}

// utilization is GetResourceUtilizationRatio's integer percent, truncated.
func utilization(sum, req int64) (int32, error) {
	if req == 0 {
		return 0, errNoKnownMetrics
	}
	return int32(sum * 100 / req), nil
}

// utilizationReplicas is GetResourceReplicas after the metrics were read
// (A.4): it returns the proposal, the utilization percent and the raw
// average value.
func utilizationReplicas(current, target int32, t podTotals, tol tolerances) (int32, int32, int64, error) {
	if t.remaining == 0 {
		return 0, 0, 0, errNoPodMetrics
	}
	if t.reqErr != nil {
		return 0, 0, 0, t.reqErr
	}
	util, err := utilization(t.readySum, t.readyReq)
	if err != nil {
		return 0, 0, 0, err
	}
	raw := t.readySum / int64(t.ready)
	ratio := float64(util) / float64(target)
	scaleUpWithUnready := t.unready > 0 && ratio > 1
	if !scaleUpWithUnready && t.missing == 0 {
		if tol.within(ratio) {
			return current, util, raw, nil
		}
		return ceilInt32(ratio * float64(t.ready)), util, raw, nil
	}
	sum, req, n := t.readySum, t.readyReq, t.remaining
	if t.missing > 0 && ratio != 1 {
		if ratio < 1 {
			sum += t.missingFallback
		}
		req += t.missingReq
		n += t.missing
	}
	if scaleUpWithUnready {
		req += t.unreadyReq
		n += t.unready
	}
	newUtil, err := utilization(sum, req)
	if err != nil {
		return 0, util, raw, err
	}
	return rebalance(current, ratio, float64(newUtil)/float64(target), n, tol), util, raw, nil
}

// plainReplicas is calcPlainMetricReplicas (A.5, A.6): it returns the
// proposal and the average value.
func plainReplicas(current int32, target int64, t podTotals, tol tolerances) (int32, int64, error) {
	if t.remaining == 0 {
		return 0, 0, errNoPodMetrics
	}
	usage := t.sum / int64(t.remaining)
	ratio := float64(usage) / float64(target)
	scaleUpWithUnready := t.unready > 0 && ratio > 1
	if !scaleUpWithUnready && t.missing == 0 {
		if tol.within(ratio) {
			return current, usage, nil
		}
		return ceilInt32(ratio * float64(t.ready)), usage, nil
	}
	sum, n := t.sum, t.remaining
	if t.missing > 0 && ratio != 1 {
		if ratio < 1 {
			sum += target * int64(t.missing)
		}
		n += t.missing
	}
	if scaleUpWithUnready {
		n += t.unready
	}
	newUsage := sum / int64(n)
	return rebalance(current, ratio, float64(newUsage)/float64(target), n, tol), usage, nil
}

// rebalance finishes A.4 step 4 once missing and unready pods were added:
// keep the current size when the new ratio is within tolerance or flips the
// direction, or when the new count moves against the new ratio.
func rebalance(current int32, ratio, newRatio float64, entries int, tol tolerances) int32 {
	if tol.within(newRatio) || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) {
		return current
	}
	n := ceilInt32(newRatio * float64(entries))
	if (newRatio < 1 && n > current) || (newRatio > 1 && n < current) {
		return current
	}
	return n
}

// readyPodCount counts pods that are Running with condition Ready=True
// (upstream getReadyPodsCount).
func readyPodCount(pods []Pod) (int64, error) {
	if len(pods) == 0 {
		return 0, errNoPods
	}
	var n int64
	for i := range pods {
		if pods[i].Phase == PodRunning && pods[i].HasReadyCondition && pods[i].Ready {
			n++
		}
	}
	return n, nil
}

// valueReplicas is getUsageRatioReplicaCount (Object and External Value
// targets, A.8/A.9).
func valueReplicas(current int32, ratio float64, tol tolerances, pods []Pod) (int32, error) {
	if current == 0 {
		return ceilInt32(ratio), nil
	}
	if tol.within(ratio) {
		return current, nil
	}
	ready, err := readyPodCount(pods)
	if err != nil {
		return 0, err
	}
	return ceilInt32(ratio * float64(ready)), nil
}

// averageValueReplicas is GetObjectPerPodMetricReplicas and
// GetExternalPerPodMetricReplicas (AverageValue targets, A.8/A.9): it uses
// statusReplicas and returns the proposal and the per-pod average.
func averageValueReplicas(status int32, v, target int64, tol tolerances) (int32, int64) {
	replicas := status
	ratio := float64(v) / (float64(target) * float64(status))
	if !tol.within(ratio) {
		replicas = ceilInt32(float64(v) / float64(target))
	}
	avg := math.Ceil(float64(v) / float64(status))
	switch {
	case float64(v) >= math.MaxInt64 || avg >= math.MaxInt64:
		return replicas, math.MaxInt64
	case avg <= math.MinInt64 || avg != avg:
		return replicas, math.MinInt64
	}
	return replicas, int64(avg)
}
