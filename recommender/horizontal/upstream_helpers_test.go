package horizontal

import (
	"time"
)

// Helpers of the tables ported from upstream horizontal_test.go
// (k8s.io/kubernetes v1.36.3): same cases, same names, same numbers; only the
// clock is the injected testNow.

// timestampedScaleEvent and timestampedRecommendation mirror upstream's
// private types so that the tables keep their positional literals.
type timestampedScaleEvent struct {
	replicaChange int32
	timestamp     time.Time
	outdated      bool
}

type timestampedRecommendation struct {
	recommendation int32
	timestamp      time.Time
}

func toEvents(in []timestampedScaleEvent) []Event {
	if in == nil {
		return nil
	}
	out := make([]Event, len(in))
	for i, e := range in {
		out[i] = Event{At: e.timestamp, Change: e.replicaChange}
	}
	return out
}

func toRecommendations(in []timestampedRecommendation) []Recommendation {
	out := make([]Recommendation, len(in))
	for i, r := range in {
		out[i] = Recommendation{At: r.timestamp, Replicas: r.recommendation}
	}
	return out
}

// generateScalingRules is upstream's helper: a Pods and/or a Percent policy
// (omitted when 0), selectPolicy Max.
func generateScalingRules(pods, podsPeriod, percent, percentPeriod, stabilizationWindow int32) *ScalingRules {
	r := ScalingRules{StabilizationWindow: time.Duration(stabilizationWindow) * time.Second, SelectPolicy: SelectMax}
	if pods != 0 {
		r.Policies = append(r.Policies, ScalingPolicy{Type: PodsPolicy, Value: pods, Period: time.Duration(podsPeriod) * time.Second})
	}
	if percent != 0 {
		r.Policies = append(r.Policies, ScalingPolicy{Type: PercentPolicy, Value: percent, Period: time.Duration(percentPeriod) * time.Second})
	}
	return &r
}

// generateEventsUniformDistribution is upstream's helper: events spread
// uniformly over the last periodSeconds, each in the middle of its segment.
func generateEventsUniformDistribution(rawEvents []int, periodSeconds int) []timestampedScaleEvent {
	events := make([]timestampedScaleEvent, len(rawEvents))
	segmentDuration := float64(periodSeconds) / float64(len(rawEvents))
	for idx, event := range rawEvents {
		segmentBoundary := time.Duration(float64(periodSeconds) - segmentDuration*float64(idx+1) + segmentDuration/float64(2))
		events[idx] = timestampedScaleEvent{
			replicaChange: int32(event),
			timestamp:     testNow.Add(-time.Second * segmentBoundary),
		}
	}
	return events
}

// orDefault mirrors GenerateHPAScale{Up,Down}Rules for the tables, which
// give either nil (API defaults) or fully generated rules.
func orDefault(r *ScalingRules, def ScalingRules) ScalingRules {
	if r == nil {
		return def
	}
	return *r
}
