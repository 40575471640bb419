package autoscaler

import (
	"context"

	autoscalingv1 "k8s.io/api/autoscaling/v1"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

// readOnlyCondition is on every computed target of a read-only loop.
var readOnlyCondition = report.Condition{Reason: "ReadOnly",
	Message: "read-only profile: ebb has no write access to workloads; the decision is computed and reported, " +
		"never sent to the API server (not even as a server-side dry-run)"}

// ReadOnlyActuator is the actuator of the read-only install profile (and
// of ebb report without --server-dry-run). ebb
// has no write verb on workloads there, and the API server authorizes a
// DryRun=All request like a real write, so a decision is only reported
// (the report, ebb_applied_replicas{dry_run="true"}, a rescale Event
// prefixed "ReadOnly (not sent)"), never sent.
type ReadOnlyActuator struct{}

// Scale makes no API call.
func (ReadOnlyActuator) Scale(context.Context, Target, *autoscalingv1.Scale, int32) error { return nil }
