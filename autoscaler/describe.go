package autoscaler

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// This file turns decisions into report rows (pure).

// fillDecision copies the decision into the report target.
func fillDecision(rt *report.Target, t Target, d horizontal.Decision) {
	if !d.Proposal.Invalid {
		rt.Recommended = report.Int32(d.Recommended)
		rt.Stabilized = report.Int32(d.Stabilized)
	}
	rt.Reason, rt.Message = d.Reason, d.Message
	if d.Proposal.Invalid && d.Proposal.Reason != "" {
		rt.Reason, rt.Message = d.Proposal.Reason, d.Proposal.Message
	}
	rt.ShapedBy = shapedBy(t, d)
	for _, mp := range d.Proposal.Metrics {
		rt.Metrics = append(rt.Metrics, reportMetric(mp))
	}
}

func reportMetric(mp horizontal.MetricProposal) report.Metric {
	m := report.Metric{Name: mp.Metric.String(), TargetType: string(mp.Metric.Target.Type)}
	if t := mp.Metric.Type; t == horizontal.ResourceMetric || t == horizontal.ContainerResourceMetric {
		m.Unit = report.ResourceUnit(mp.Metric.Name)
	}
	switch mp.Metric.Target.Type {
	case horizontal.UtilizationTarget:
		m.Target = int64(mp.Metric.Target.Utilization)
	case horizontal.ValueTarget:
		m.Target = mp.Metric.Target.Value
	default:
		m.Target = mp.Metric.Target.AverageValue
	}
	if mp.Err != nil {
		m.Error = mp.Err.Error()
		if mp.Reason != "" && !strings.Contains(m.Error, mp.Reason) {
			m.Error = mp.Reason + ": " + m.Error
		}
		return m
	}
	m.Utilization = mp.Utilization
	m.Value = report.Int64(mp.Value)
	m.Replicas = report.Int32(mp.Replicas)
	return m
}

// shapedBy explains which window or limit shaped the final number.
func shapedBy(t Target, d horizontal.Decision) []string {
	var out []string
	switch d.AbleToScaleReason {
	case horizontal.ReasonScaleUpStabilized, horizontal.ReasonScaleDownStabilized:
		w := t.Options.DownscaleStabilization // legacy path: the controller-wide window
		dir := "scaleDown"
		if t.Spec.Behavior != nil {
			w = t.Spec.Behavior.ScaleDown.StabilizationWindow
			if d.AbleToScaleReason == horizontal.ReasonScaleUpStabilized {
				w, dir = t.Spec.Behavior.ScaleUp.StabilizationWindow, "scaleUp"
			}
		}
		out = append(out, fmt.Sprintf("%s stabilization %v held at %d (recommended %d)", dir, w, d.Stabilized, d.Recommended))
	}
	if d.LimitedReason != "" && d.LimitedReason != horizontal.ReasonDesiredWithinRange {
		out = append(out, d.LimitedReason)
	}
	sort.Strings(out)
	return out
}
