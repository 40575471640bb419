package policy

import (
	"strings"
	"time"

	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/proactive"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// Defaults applied where the policy file leaves a setting out.
const (
	DefaultMode              = ModeDryRun
	DefaultSyncPeriod        = 15 * time.Second
	DefaultPrometheusTimeout = 10 * time.Second
)

// Compiled is a validated policy with every default applied, in the form the
// control loop uses directly.
type Compiled struct {
	// Hash is the hex SHA-256 of the file it was loaded from (Load only).
	Hash       string
	SyncPeriod time.Duration
	// Prometheus is nil when the policy has no prometheus section.
	Prometheus *PrometheusConfig
	Targets    []CompiledTarget
	// ShadowHPAs: the HPAs no target covers are shadowed (CompileShadow).
	ShadowHPAs bool
	// Defaults are the file's defaults section as written, for compiling
	// shadow targets the way a target of the file is compiled.
	Defaults Defaults
}

// PrometheusConfig is the Prometheus connection with defaults applied.
type PrometheusConfig struct {
	URL     string
	Timeout time.Duration
	// HTTPConfig is github.com/prometheus/common/config.HTTPClientConfig,
	// still raw; the metricsource package decodes it.
	HTTPConfig map[string]any
}

// CompiledTarget is one target with its converted horizontal spec, the
// controller options, its mode, queries and missing-metric policy resolved.
type CompiledTarget struct {
	Ref     autoscalingv2.CrossVersionObjectReference
	Mode    Mode
	Spec    horizontal.Spec
	Options horizontal.Options
	// Queries maps a Pods/Object/External metric name to its PromQL
	// template (checked; render it with metricsource.RenderQuery). Resource
	// and ContainerResource metrics have none; nor have the Pods, Object and
	// External metrics read from the metrics APIs.
	Queries map[string]string
	// Sources says where each metric of Spec.Metrics (same index) is read.
	Sources []MetricSource
	Missing MissingMetrics // Action is always set
	// Vertical is the target's vertical side, defaults applied (mode
	// recommend when the policy has no vertical section).
	Vertical CompiledVertical
	// Proactive is the horizontal.proactive section, defaults applied
	// (mode off when absent). A zero Horizon means the loop's default.
	Proactive proactive.Config
}

// Key is the target as "Kind/name", unique within a policy's kind.
func (t CompiledTarget) Key() string { return t.Ref.Kind + "/" + t.Ref.Name }

// checkQuery renders the PromQL template src once with sample variables
// (metricsource.RenderQuery, the function the loop uses), so that syntax
// errors and references to unknown variables fail at validation time.
func checkQuery(src string) error {
	out, err := metricsource.RenderQuery(src, metricsource.QueryVars{
		Namespace: "ns", Target: "name", Kind: "Deployment", Pods: []string{"pod-0"}, Selector: "app=x",
	})
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) == "" {
		return errEmptyQuery
	}
	return nil
}

// Compile validates p and returns its compiled form with every default
// applied. The error is the same as Validate's.
func (p *Policy) Compile() (*Compiled, error) {
	c, errs := compile(p)
	if err := joinProblems(errs); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate reports every problem of p at once (errors.Join), each naming the
// target (index and Kind/name), the field path and the value.
func (p *Policy) Validate() error {
	_, errs := compile(p)
	return joinProblems(errs)
}

// Load parses, validates and compiles a policy file.
func Load(data []byte) (*Compiled, error) {
	p, err := decode(data)
	if err != nil {
		return nil, err
	}
	c, err := p.Compile()
	if err != nil {
		return nil, err
	}
	c.Hash = hash(data)
	return c, nil
}

// options resolves the controller options of the defaults section.
func (d Defaults) options() horizontal.Options {
	o := horizontal.DefaultOptions()
	if d.Tolerance != nil {
		o.Tolerance = *d.Tolerance
	}
	if d.CPUInitializationPeriod != nil {
		o.CPUInitializationPeriod = d.CPUInitializationPeriod.Duration
	}
	if d.InitialReadinessDelay != nil {
		o.InitialReadinessDelay = d.InitialReadinessDelay.Duration
	}
	if d.DownscaleStabilization != nil {
		o.DownscaleStabilization = d.DownscaleStabilization.Duration
	}
	return o
}

// durationOr returns d's value, or def when d is nil.
func durationOr(d *Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.Duration
}
