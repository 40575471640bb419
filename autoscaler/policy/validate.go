package policy

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ebb-autoscaler/ebb/autoscaler/hpaspec"
	"github.com/ebb-autoscaler/ebb/metricsource"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var errEmptyQuery = errors.New("renders to an empty query")

// TargetError is a problem of one target: Target names it by index and
// Kind/name ("targets[1] Deployment/web"); Err is the problem, usually a
// *hpaspec.FieldError with the full field path and value.
type TargetError struct {
	Target string
	Err    error
}

func (e *TargetError) Error() string { return e.Target + ": " + e.Err.Error() }
func (e *TargetError) Unwrap() error { return e.Err }

// Problems flattens an error returned by Parse, Validate, Compile or Load
// into its individual problems, one per line of `ebb validate`.
func Problems(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, Problems(e)...)
		}
		return out
	}
	return []error{err}
}

func joinProblems(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}

// checker collects problems; target is the label of the target being
// checked, empty for global fields.
type checker struct {
	errs   []error
	target string
}

func (c *checker) add(err error) {
	if c.target != "" {
		err = &TargetError{Target: c.target, Err: err}
	}
	c.errs = append(c.errs, err)
}

func (c *checker) invalid(field string, value any, detail string) {
	c.add(&hpaspec.FieldError{Field: field, Value: fmt.Sprint(value), Detail: detail})
}

// required adds a problem without a value: a missing field, or one whose
// detail already quotes the value.
func (c *checker) required(field, detail string) {
	c.add(&hpaspec.FieldError{Field: field, Detail: detail})
}

func compile(p *Policy) (*Compiled, []error) {
	c := &checker{}
	out := &Compiled{SyncPeriod: durationOr(p.Defaults.SyncPeriod, DefaultSyncPeriod), ShadowHPAs: p.ShadowHPAs, Defaults: p.Defaults}
	checkDefaults(c, p.Defaults)
	out.Prometheus = checkPrometheus(c, p)
	if len(p.Targets) == 0 && !p.ShadowHPAs {
		c.required("targets", "must list at least one target (or set shadowHPAs: true)")
	}
	seen := map[string]int{}
	for i, t := range p.Targets {
		c.target = targetLabel(i, t.ScaleTargetRef)
		ct, ok := compileTarget(c, p.Defaults, t, fmt.Sprintf("targets[%d]", i))
		key := refKey(t.ScaleTargetRef)
		if first, dup := seen[key]; dup && t.ScaleTargetRef.Name != "" {
			c.invalid(fmt.Sprintf("targets[%d].scaleTargetRef", i), refString(t.ScaleTargetRef),
				fmt.Sprintf("duplicate of targets[%d]", first))
		} else {
			seen[key] = i
		}
		if ok {
			out.Targets = append(out.Targets, ct)
		}
	}
	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return out, nil
}

func targetLabel(i int, ref autoscalingv2.CrossVersionObjectReference) string {
	if ref.Kind == "" && ref.Name == "" {
		return fmt.Sprintf("targets[%d]", i)
	}
	return fmt.Sprintf("targets[%d] %s", i, refString(ref))
}

func refString(ref autoscalingv2.CrossVersionObjectReference) string {
	return ref.Kind + "/" + ref.Name
}

// refKey identifies a target: API group, kind and name (two versions of one
// group are the same object).
func refKey(ref autoscalingv2.CrossVersionObjectReference) string {
	gv, _ := schema.ParseGroupVersion(ref.APIVersion)
	return gv.Group + "/" + ref.Kind + "/" + ref.Name
}

func checkMode(c *checker, field string, m Mode) {
	switch m {
	case "", ModeOff, ModeDryRun, ModeApply:
		return
	case "false", "true":
		c.invalid(field, fmt.Sprintf("%q", m),
			`must be off, dry-run or apply (YAML reads an unquoted off as false: write "off" in quotes)`)
	default:
		c.invalid(field, fmt.Sprintf("%q", m), "must be off, dry-run or apply")
	}
}

func checkDefaults(c *checker, d Defaults) {
	checkMode(c, "defaults.mode", d.Mode)
	if d.SyncPeriod != nil && d.SyncPeriod.Duration <= 0 {
		c.invalid("defaults.syncPeriod", d.SyncPeriod.Duration, "must be greater than 0")
	}
	for _, f := range []struct {
		name string
		d    *Duration
	}{
		{"defaults.cpuInitializationPeriod", d.CPUInitializationPeriod},
		{"defaults.initialReadinessDelay", d.InitialReadinessDelay},
		{"defaults.downscaleStabilization", d.DownscaleStabilization},
	} {
		if f.d != nil && f.d.Duration < 0 {
			c.invalid(f.name, f.d.Duration, "must be greater than or equal to 0")
		}
	}
	if t := d.Tolerance; t != nil && (*t < 0 || math.IsNaN(*t) || math.IsInf(*t, 0)) {
		c.invalid("defaults.tolerance", *t, "must be a number greater than or equal to 0")
	}
	if d.MissingMetrics != nil {
		checkMissingAction(c, "defaults.missingMetrics", *d.MissingMetrics)
	}
	checkVertical(c, "defaults.vertical", d.Vertical)
}

// checkMissingAction checks what does not depend on a target's range.
func checkMissingAction(c *checker, field string, m MissingMetrics) {
	switch m.Action {
	case "", MissingHold:
		if m.FallbackReplicas != 0 {
			c.invalid(field+".fallbackReplicas", m.FallbackReplicas, "is only used with action fallback")
		}
		if m.AfterCycles != 0 {
			c.invalid(field+".afterCycles", m.AfterCycles, "is only used with action fallback")
		}
	case MissingFallback:
		if m.AfterCycles < 1 {
			c.invalid(field+".afterCycles", m.AfterCycles, "must be greater than or equal to 1 with action fallback")
		}
	default:
		c.invalid(field+".action", fmt.Sprintf("%q", m.Action), "must be hold or fallback")
	}
}

func checkPrometheus(c *checker, p *Policy) *PrometheusConfig {
	hasQueries := slices.ContainsFunc(p.Targets, func(t Target) bool { return len(t.Queries) > 0 })
	if p.Prometheus == nil {
		if hasQueries {
			c.required("prometheus.url", "must be set: targets have queries")
		}
		return nil
	}
	pr := p.Prometheus
	switch u, err := url.Parse(pr.URL); {
	case pr.URL == "":
		c.required("prometheus.url", "must be set")
	case err != nil:
		c.invalid("prometheus.url", fmt.Sprintf("%q", pr.URL), err.Error())
	case u.Scheme != "http" && u.Scheme != "https":
		c.invalid("prometheus.url", fmt.Sprintf("%q", pr.URL), "scheme must be http or https")
	case u.Host == "":
		c.invalid("prometheus.url", fmt.Sprintf("%q", pr.URL), "must name a host")
	}
	if _, err := metricsource.DecodeHTTPConfig(pr.HTTPConfig); err != nil {
		c.required("prometheus.httpConfig", httpConfigProblem(err))
	}
	if pr.Timeout != nil && pr.Timeout.Duration <= 0 {
		c.invalid("prometheus.timeout", pr.Timeout.Duration, "must be greater than 0")
	}
	return &PrometheusConfig{URL: pr.URL, Timeout: durationOr(pr.Timeout, DefaultPrometheusTimeout),
		HTTPConfig: pr.HTTPConfig}
}

// yamlNoise is what a re-marshaled httpConfig's YAML error adds: line
// numbers of a document the user never wrote, and line breaks.
var yamlNoise = regexp.MustCompile(`\s*\n\s*(line \d+: )?`)

func httpConfigProblem(err error) string {
	msg := strings.TrimPrefix(err.Error(), "httpConfig: ")
	msg = strings.Replace(msg, "yaml: unmarshal errors:", "", 1)
	return strings.Trim(yamlNoise.ReplaceAllString(msg, "; "), "; ")
}

func checkRef(c *checker, field string, ref autoscalingv2.CrossVersionObjectReference) {
	if ref.Kind == "" {
		c.required(field+".kind", "must be set")
	}
	if ref.Name == "" {
		c.required(field+".name", "must be set")
	}
	if ref.APIVersion == "" {
		c.required(field+".apiVersion", "must be set")
	} else if _, err := schema.ParseGroupVersion(ref.APIVersion); err != nil {
		c.invalid(field+".apiVersion", fmt.Sprintf("%q", ref.APIVersion), err.Error())
	}
}

// compileTarget checks and compiles one target; path is "targets[i]".
func compileTarget(c *checker, d Defaults, t Target, path string) (CompiledTarget, bool) {
	n := len(c.errs)
	ct := CompiledTarget{Ref: t.ScaleTargetRef, Mode: t.Mode, Options: d.options()}
	checkRef(c, path+".scaleTargetRef", t.ScaleTargetRef)
	checkMode(c, path+".mode", t.Mode)
	if ct.Mode == "" {
		ct.Mode = d.Mode
	}
	if ct.Mode == "" {
		ct.Mode = DefaultMode
	}
	if t.Horizontal == nil {
		c.required(path+".horizontal", "must be set (an autoscaling/v2 HorizontalPodAutoscalerSpec)")
		checkVertical(c, path+".vertical", t.Vertical)
		return ct, false
	}
	h := t.Horizontal.HorizontalPodAutoscalerSpec
	ct.Proactive = compileProactive(c, t.Horizontal.Proactive, path+".horizontal.proactive")
	if r := h.ScaleTargetRef; r != (autoscalingv2.CrossVersionObjectReference{}) && r != t.ScaleTargetRef {
		c.invalid(path+".horizontal.scaleTargetRef", refString(r), "must be omitted or equal scaleTargetRef")
	}
	spec, err := hpaspec.Convert(h, ct.Options.DownscaleStabilization, path+".horizontal")
	for _, e := range Problems(err) {
		c.add(e)
	}
	ct.Spec = spec
	ct.Queries = compileQueries(c, h, t.Queries, path)
	ct.Sources = MetricSources(h, ct.Queries)
	ct.Missing = resolveMissing(c, d, t, h, path)
	// The defaults' problems are reported once, by checkDefaults.
	ct.Vertical = compileVertical(c, checkVertical(&checker{}, "defaults.vertical", d.Vertical), t, ct, path)
	return ct, len(c.errs) == n
}

// promMetricNames returns the names of the Pods, Object and External metrics
// (those a query may read) with the index of their first occurrence.
func promMetricNames(h autoscalingv2.HorizontalPodAutoscalerSpec) map[string]int {
	names := map[string]int{}
	for i, m := range h.Metrics {
		var name string
		switch {
		case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil:
			name = m.Pods.Metric.Name
		case m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil:
			name = m.Object.Metric.Name
		case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil:
			name = m.External.Metric.Name
		default:
			continue
		}
		if _, ok := names[name]; !ok && name != "" {
			names[name] = i
		}
	}
	return names
}

// compileQueries checks the PromQL templates: each must name a Pods, Object
// or External metric of the spec and render. A metric without an entry is
// read from the metrics APIs (MetricSources), as the HPA reads it.
func compileQueries(c *checker, h autoscalingv2.HorizontalPodAutoscalerSpec, queries map[string]string, path string) map[string]string {
	names := promMetricNames(h)
	keys := make([]string, 0, len(queries))
	for k := range queries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(queries))
	for _, name := range keys {
		field := fmt.Sprintf("%s.queries.%s", path, name)
		if _, ok := names[name]; !ok {
			c.invalid(field, fmt.Sprintf("%q", name), "names no Pods, Object or External metric of horizontal.metrics")
			continue
		}
		if err := checkQuery(queries[name]); err != nil {
			c.required(field, err.Error()) // err quotes the template
			continue
		}
		out[name] = queries[name]
	}
	return out
}

// resolveMissing picks the target's or the default missing-metric policy and
// checks a fallback against the target's replica range.
func resolveMissing(c *checker, d Defaults, t Target, h autoscalingv2.HorizontalPodAutoscalerSpec, path string) MissingMetrics {
	m, field := MissingMetrics{}, path+".missingMetrics"
	switch {
	case t.MissingMetrics != nil:
		m = *t.MissingMetrics
		checkMissingAction(c, field, m)
	case d.MissingMetrics != nil:
		m, field = *d.MissingMetrics, "defaults.missingMetrics"
	}
	if m.Action == "" {
		m.Action = MissingHold
	}
	if m.Action != MissingFallback {
		return m
	}
	lo := int32(1)
	if h.MinReplicas != nil {
		lo = *h.MinReplicas
	}
	if m.FallbackReplicas < lo || m.FallbackReplicas > h.MaxReplicas {
		c.invalid(field+".fallbackReplicas", m.FallbackReplicas,
			fmt.Sprintf("must be within [minReplicas, maxReplicas] = [%d, %d]", lo, h.MaxReplicas))
	}
	return m
}
