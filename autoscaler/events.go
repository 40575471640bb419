package autoscaler

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

// notice is what a target's Events last said. Events are emitted when it
// changes, as the HPA does, never once per pass: client-go's spam filter
// (a burst of 25, then one per 5 minutes per object) would otherwise drop
// the rescale and failure Events behind a stream of repeats.
type notice struct {
	failure  string // reason of the failure in force ("" none)
	hold     string // HPA reason of the missing-metrics hold in force ("" none)
	conflict string // the HPA in conflict ("" none)
	vpa      string // the VPA conflict reason and name in force ("" none)
	dryRun   int32  // size of the last dry-run rescale announced (0 none)
	// forecastOpen is the proactive mode's gate last announced (closed
	// until it first opens).
	forecastOpen bool
}

// objectRef is the target as an Event's involved object.
func objectRef(t Target) *corev1.ObjectReference {
	return &corev1.ObjectReference{APIVersion: t.Ref.APIVersion, Kind: t.Ref.Kind, Namespace: t.Namespace, Name: t.Ref.Name}
}

// announce emits the Events of what changed for pl's target in this pass:
// a real rescale (always a change), a dry-run rescale to a new size, a new
// failure reason, entering, changing or leaving a missing-metrics hold,
// entering or leaving an HPA conflict. An interrupted pass says nothing.
func (l *Loop) announce(pl *plan) {
	if pl.st == nil || pl.stopped || pl.t.ShadowOf != "" { // a shadow's HPA emits its own Events
		return
	}
	n, ref, rec := &pl.st.notice, objectRef(pl.t), l.o.Recorder
	switch failure := reasonOf(pl.failure); {
	case failure != "" && failure != n.failure:
		rec.Event(ref, corev1.EventTypeWarning, failure, pl.failure.Message)
		n.failure = failure
	case failure == "":
		n.failure = ""
	}
	switch hold := reasonOf(pl.hold); {
	case hold != "" && hold != n.hold:
		rec.Event(ref, corev1.EventTypeWarning, hold, pl.hold.Message)
	case hold == "" && n.hold != "" && pl.decided:
		rec.Event(ref, corev1.EventTypeNormal, "MetricsRecovered", "metrics are available again; scaling resumes")
	}
	if pl.decided || pl.hold != nil {
		n.hold = reasonOf(pl.hold)
	}
	switch {
	case pl.gate.hpa != "" && pl.gate.hpa != n.conflict:
		rec.Event(ref, corev1.EventTypeWarning, "HPAConflict", pl.gate.cond.Message)
	case pl.gate.hpa == "" && n.conflict != "" && pl.gate.err == nil && pl.decided:
		rec.Event(ref, corev1.EventTypeNormal, "HPAConflictResolved",
			fmt.Sprintf("HorizontalPodAutoscaler %s no longer targets %s; ebb actuates it per its mode", n.conflict, pl.t))
	}
	if pl.decided {
		n.conflict = pl.gate.hpa
	}
	if c := pl.gate.vpaCond; c != nil && c.Reason+pl.gate.vpa != n.vpa {
		rec.Event(ref, corev1.EventTypeWarning, c.Reason, c.Message)
	}
	if pl.decided {
		n.vpa = ""
		if c := pl.gate.vpaCond; c != nil {
			n.vpa = c.Reason + pl.gate.vpa
		}
	}
	l.announceForecast(pl, n)
	l.announceRescale(pl, n)
}

// announceForecast emits ForecastGateOpened / ForecastGateClosed when the
// proactive mode's gate changes (history long enough and error low enough,
// or not any more).
func (l *Loop) announceForecast(pl *plan, n *notice) {
	f := pl.rt.Forecast
	switch {
	case f == nil:
		n.forecastOpen = false // mode off: a later gate opening is news
	case f.GateOpen && !n.forecastOpen:
		l.o.Recorder.Event(objectRef(pl.t), corev1.EventTypeNormal, "ForecastGateOpened", f.Gate.String())
		n.forecastOpen = true
	case !f.GateOpen && n.forecastOpen:
		l.o.Recorder.Event(objectRef(pl.t), corev1.EventTypeNormal, "ForecastGateClosed", f.Gate.String())
		n.forecastOpen = false
	}
}

func (l *Loop) announceRescale(pl *plan, n *notice) {
	ref := objectRef(pl.t)
	switch {
	case pl.rescaled && !pl.gate.dryRun:
		l.o.Recorder.Eventf(ref, corev1.EventTypeNormal, "SuccessfulRescale", "New size: %d; reason: %s", pl.desired, pl.reason)
		n.dryRun = 0
	case pl.rescaled && pl.desired != n.dryRun:
		prefix := "DryRun"
		if l.o.ReadOnly {
			prefix = "ReadOnly (not sent)"
		}
		l.o.Recorder.Eventf(ref, corev1.EventTypeNormal, "SuccessfulRescale", "%s: New size: %d; reason: %s", prefix, pl.desired, pl.reason)
		n.dryRun = pl.desired
	case pl.decided && pl.desired == pl.current:
		n.dryRun = 0 // a later dry-run rescale is news again
	}
}

// reasonOf is c's reason, "" for none.
func reasonOf(c *report.Condition) string {
	if c == nil {
		return ""
	}
	return c.Reason
}
