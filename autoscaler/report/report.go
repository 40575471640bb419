// Package report is the data model of one dry-run pass of ebb over a
// namespace, with each target's recent history when the leader serves it
// (history.go), and its rendering as an aligned text table (like kubectl),
// JSON, CSV, Markdown or a self-contained HTML page with charts (html.go,
// charts.go, drawn by the chart subpackage). The control loop fills a Report; this package only formats
// it: it performs no I/O other than writing to the given io.Writer and never
// reads the clock. A value ebb could not observe or compute is a nil pointer
// and is rendered as "<unknown>" (or null in JSON), never as zero.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// Unbounded is the amount (millicores or bytes) at or above which a
// vertical bound means "no bound": the vertical recommender's cap.
const Unbounded int64 = rv.MaxAmount

// Format is an output format of Render.
type Format string

// The output formats.
const (
	FormatTable    Format = "table"
	FormatJSON     Format = "json"
	FormatCSV      Format = "csv"
	FormatMarkdown Format = "markdown"
	// FormatHTML is one self-contained page with charts (html.go).
	FormatHTML Format = "html"
)

// Formats returns every supported format, in the order shown to users.
func Formats() []Format {
	return []Format{FormatTable, FormatJSON, FormatCSV, FormatMarkdown, FormatHTML}
}

// ParseFormat returns the Format named s ("md" is accepted for markdown).
func ParseFormat(s string) (Format, error) {
	if s == "md" {
		return FormatMarkdown, nil
	}
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown report format %q (supported: %s)", s, formatList())
}

func formatList() string {
	names := make([]string, 0, len(Formats()))
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

// Report is the result of one dry-run pass over one namespace.
type Report struct {
	GeneratedAt time.Time `json:"generatedAt"`
	Namespace   string    `json:"namespace"`
	Targets     []Target  `json:"targets"`
}

// Target is what ebb observed and decided for one scale target.
type Target struct {
	Kind       string `json:"kind"` // scaleTargetRef.kind, e.g. "Deployment"
	Name       string `json:"name"`
	APIVersion string `json:"apiVersion,omitempty"`
	Mode       string `json:"mode"` // off | dry-run | apply

	// Current is scale.spec.replicas; nil when the scale could not be read.
	Current *int32 `json:"currentReplicas"`
	// Recommended is the horizontal proposal before stabilization and limits.
	Recommended *int32 `json:"recommendedReplicas"`
	// Stabilized is the value after the stabilization window(s).
	Stabilized *int32 `json:"stabilizedReplicas"`
	// Desired is the final size ebb applies (or would apply in dry-run).
	Desired *int32 `json:"desiredReplicas"`
	// Applied is the size ebb wrote to the scale in this pass; nil when it
	// wrote nothing (dry-run, a hold, already there).
	Applied *int32 `json:"appliedReplicas,omitempty"`
	Min     int32  `json:"minReplicas"`
	Max     int32  `json:"maxReplicas"`

	// Reason is the HPA condition reason ("ScaleDownStabilized",
	// "ScaleUpLimit", "FailedGetPodsMetric", ...); Message explains it.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`

	Metrics []Metric `json:"metrics,omitempty"`
	// ShapedBy lists the policies and windows that shaped the number, e.g.
	// "scaleDown stabilization 5m held at 6", "ScaleUpLimit: Pods 4 per 15s".
	ShapedBy []string `json:"shapedBy,omitempty"`
	// Blocking lists conditions that keep ebb from acting on the decision.
	Blocking []Condition `json:"blocking,omitempty"`
	// Notes are facts that changed what ebb saw without blocking it, e.g.
	// {PodMetricsExcluded, "pod web-1: container app: negative usage ...;
	// counted as missing"}.
	Notes []Condition `json:"notes,omitempty"`
	// Vertical holds per-container request recommendations, when computed.
	Vertical []Container `json:"vertical,omitempty"`

	// Forecast is the proactive mode's forecast (nil when its mode is
	// off).
	Forecast *Forecast `json:"forecast,omitempty"`
	// HPA is the HorizontalPodAutoscaler this target shadows, if any.
	HPA *HPA `json:"hpa,omitempty"`
	// History is the target's recent passes, oldest first (the leader's
	// /status); empty for a single pass such as `ebb report`.
	History []Sample `json:"history,omitempty"`
}

// Ref is the target as "Kind/name".
func (t Target) Ref() string { return t.Kind + "/" + t.Name }

// Forecast is what the proactive mode forecast for a target in a pass.
type Forecast struct {
	Mode string `json:"mode"` // forecast-only | on
	// Gate is the ForecastActive condition: open, and its reason
	// (ForecastActive, ForecastOnly, HistoryTooShort, ForecastErrorTooHigh,
	// NoForecast) and message.
	GateOpen bool      `json:"gateOpen"`
	Gate     Condition `json:"gate"`
	// Replicas is the forecast's floor (0: none); Reactive what the
	// reactive rule alone decided.
	Replicas int32 `json:"replicas"`
	Reactive int32 `json:"reactiveReplicas"`
	// Metrics are the per-metric forecasts.
	Metrics []MetricForecast `json:"metrics,omitempty"`
}

// MetricForecast is one metric's forecast: the demand (in the metric's
// unit, e.g. cores of total usage) predicted over the horizon, the last
// observed demand, the recent error and the history behind it.
type MetricForecast struct {
	Metric         string  `json:"metric"`
	Demand         float64 `json:"demand"`
	Observed       float64 `json:"observed"`
	HorizonSeconds float64 `json:"horizonSeconds"`
	Error          float64 `json:"error"`
	HistorySeconds float64 `json:"historySeconds"`
	// PeriodSeconds is the season in use (0: none).
	PeriodSeconds float64 `json:"periodSeconds,omitempty"`
	Replicas      int32   `json:"replicas"`
}

// String is the forecast in one line of the report.
func (f Forecast) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, gate %s", f.Mode, f.Gate.Reason)
	if f.Replicas > 0 {
		fmt.Fprintf(&b, ", floor %d (reactive %d)", f.Replicas, f.Reactive)
	}
	for _, m := range f.Metrics {
		fmt.Fprintf(&b, "; %s %.4g in %gs (now %.4g), error %.2f, history %s", m.Metric, m.Demand, m.HorizonSeconds, m.Observed,
			m.Error, time.Duration(m.HistorySeconds*float64(time.Second)).Round(time.Minute))
		if m.PeriodSeconds > 0 {
			fmt.Fprintf(&b, ", season %s", time.Duration(m.PeriodSeconds*float64(time.Second)))
		}
	}
	return b.String()
}

// Metric is one entry of the target's metrics with what was observed.
type Metric struct {
	// Name is the metric as the horizontal recommender names it, e.g.
	// "Resource/cpu", "ContainerResource/cpu/app", "Pods/http_requests".
	Name string `json:"name"`
	// TargetType is Utilization, AverageValue or Value.
	TargetType string `json:"targetType"`
	// Target is the percent for Utilization, milli-units otherwise.
	Target int64 `json:"target"`
	// Unit is what the milli-units of Target and Value measure.
	Unit Unit `json:"unit,omitempty"`
	// Utilization is the observed percent (Utilization targets only).
	Utilization *int32 `json:"utilization,omitempty"`
	// Value is the observed average or total in milli-units; nil when the
	// metric is missing.
	Value *int64 `json:"valueMilli"`
	// Replicas is what this metric alone proposes; nil when it failed.
	Replicas *int32 `json:"proposedReplicas"`
	Error    string `json:"error,omitempty"`
}

// Unit is what a metric's milli-unit values measure.
type Unit string

// The units: a resource metric's values are millicores or milli-bytes; any
// other metric is a plain number.
const (
	UnitNone  Unit = ""
	UnitCores Unit = "cores"
	UnitBytes Unit = "bytes"
)

// ResourceUnit is the unit of resource metrics on the named resource
// ("cpu", "memory"); UnitNone for any other.
func ResourceUnit(resource string) Unit {
	switch resource {
	case "cpu":
		return UnitCores
	case "memory":
		return UnitBytes
	default:
		return UnitNone
	}
}

// Condition is something that keeps ebb from acting on a target, e.g.
// {HPAConflict, "HorizontalPodAutoscaler web also targets Deployment/web"},
// {MissingMetricsHold, ...} or {ModeOff, ...}.
type Condition struct {
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
}

func (c Condition) String() string {
	if c.Message == "" {
		return c.Reason
	}
	return c.Reason + ": " + c.Message
}

// Resources are CPU in millicores and memory in bytes; nil when unknown or
// unset. A vertical upper bound of Unbounded or more means no bound.
type Resources struct {
	CPUMilli    *int64 `json:"cpuMilli"`
	MemoryBytes *int64 `json:"memoryBytes"`
}

// Container is the vertical recommendation for one container.
type Container struct {
	Name       string    `json:"name"`
	Target     Resources `json:"target"`
	LowerBound Resources `json:"lowerBound"`
	UpperBound Resources `json:"upperBound"`
	// Request is the container's current request.
	Request Resources `json:"request"`
	// Usage is the last observed usage (the largest over the target's
	// pods); omitted when not observed.
	Usage Resources `json:"usage,omitzero"`
	// History is how much usage history the recommendation rests on.
	History Duration `json:"history"`
	// Confidence is in [0, 1].
	Confidence float64 `json:"confidence"`
}

// Duration is a time.Duration written as a Go duration string in JSON.
type Duration time.Duration

// MarshalJSON writes d as a duration string such as "72h0m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// Int32 returns a pointer to v, for filling the optional fields.
func Int32(v int32) *int32 { return &v }

// Int64 returns a pointer to v, for filling the optional fields.
func Int64(v int64) *int64 { return &v }

// Render writes r to w in format f.
func Render(w io.Writer, f Format, r Report) error {
	var err error
	switch f {
	case FormatTable:
		err = renderTable(w, r)
	case FormatJSON:
		err = renderJSON(w, r)
	case FormatCSV:
		err = renderCSV(w, r)
	case FormatMarkdown:
		err = renderMarkdown(w, r)
	case FormatHTML:
		err = renderHTML(w, r)
	default:
		return fmt.Errorf("unknown report format %q (supported: %s)", f, formatList())
	}
	if err != nil {
		return fmt.Errorf("render %s report: %w", f, err)
	}
	return nil
}

func renderJSON(w io.Writer, r Report) error {
	if r.Targets == nil {
		r.Targets = []Target{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
