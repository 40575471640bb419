// Package simulate replays horizontal decisions offline, on the same
// recommender code the service runs. Replay feeds recorded observations
// (a scenario) through horizontal.Decide with one history carried across
// steps; Run drives a closed-loop world model from a load trace, exactly as
// docs/simulation-model.md specifies; World.Decider replaces its decision
// rule (a proactive rule sees what the loop would see, at the sync times) and
// World.Repeat plays a trace back to back. It is pure: standard library only, no
// clock — every time is derived from the scenario or trace.
package simulate

import (
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// Scenario is a recorded sequence of observations of one target.
type Scenario struct {
	Spec    horizontal.Spec
	Options horizontal.Options
	// History is the recommender state before the first step (times are
	// absolute, before Steps[0].Observation.Now).
	History horizontal.History
	Steps   []Step
}

// Step is one reconcile: what the HPA read, and optionally the size it must
// decide.
type Step struct {
	// At is the step's offset from the scenario start; Observation.Now is
	// the absolute time.
	At          time.Duration
	Observation horizontal.Observation
	Expect      *int32 // desired replicas the step must decide, if set
	// ExpectReason is the reason the step must give, if not empty.
	ExpectReason string
}

// StepResult is the decision of one step.
type StepResult struct {
	At              time.Duration
	CurrentReplicas int32
	Decision        horizontal.Decision
	Expect          *int32
	ExpectReason    string
}

// Mismatch reports whether the step had an expectation the decision missed.
func (r StepResult) Mismatch() bool {
	return r.Expect != nil && *r.Expect != r.Decision.Replicas ||
		r.ExpectReason != "" && r.ExpectReason != r.Decision.Reason
}

// Replay decides every step in order. The history starts as sc.History and
// carries across steps; after a step whose decision differs from its current
// size the change is recorded as applied (the simulated target follows the
// decision), while each step's current size is taken as recorded.
func Replay(sc Scenario) []StepResult {
	h := cloneHistory(sc.History)
	out := make([]StepResult, 0, len(sc.Steps))
	for _, st := range sc.Steps {
		o := st.Observation
		d := horizontal.Decide(o, sc.Spec, sc.Options, &h)
		if d.Replicas != o.CurrentReplicas {
			h.RecordScale(o.Now, o.CurrentReplicas, d.Replicas, sc.Spec.Behavior)
		}
		out = append(out, StepResult{At: st.At, CurrentReplicas: o.CurrentReplicas, Decision: d,
			Expect: st.Expect, ExpectReason: st.ExpectReason})
	}
	return out
}

func cloneHistory(h horizontal.History) horizontal.History {
	return horizontal.History{
		Recommendations: append([]horizontal.Recommendation(nil), h.Recommendations...),
		ScaleUpEvents:   append([]horizontal.Event(nil), h.ScaleUpEvents...),
		ScaleDownEvents: append([]horizontal.Event(nil), h.ScaleDownEvents...),
		Seeded:          h.Seeded,
	}
}
