package scenario

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ebb-autoscaler/ebb/autoscaler/hpaspec"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
	"k8s.io/apimachinery/pkg/api/resource"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Defaults of the per-step metric fields the file may omit.
const (
	defaultWindow     = 30 * time.Second
	defaultSyncPeriod = 15 * time.Second
)

// Decode parses a scenario file (YAML or JSON). Its error names the first
// problem's field path and value; spec validation problems are all joined.
func Decode(data []byte) (simulate.Scenario, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return simulate.Scenario{}, fmt.Errorf("parse scenario: %w", err)
	}
	var generic map[string]any
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &generic); err != nil {
		return simulate.Scenario{}, fmt.Errorf("parse scenario: %w", err)
	}
	if err := checkSpecQuantities(generic["spec"], "spec"); err != nil {
		return simulate.Scenario{}, err
	}
	var f file
	strict, err := kjson.UnmarshalStrict(js, &f)
	if err != nil {
		return simulate.Scenario{}, fmt.Errorf("parse scenario: %w", err)
	}
	if len(strict) > 0 {
		return simulate.Scenario{}, fmt.Errorf("parse scenario: %w", strict[0])
	}
	return convert(f)
}

// checkSpecQuantities parses every quantity of the HPA spec so that a
// malformed one is reported with its path (the typed decoder does not say
// where a quantity failed).
func checkSpecQuantities(spec any, prefix string) error {
	m, ok := spec.(map[string]any)
	if !ok {
		return nil // a wrong type is reported by the typed decoder
	}
	metricsList, _ := m["metrics"].([]any)
	for i, mi := range metricsList {
		mm, _ := mi.(map[string]any)
		for _, src := range []string{"resource", "containerResource", "pods", "object", "external"} {
			s, _ := mm[src].(map[string]any)
			target, _ := s["target"].(map[string]any)
			for _, k := range []string{"value", "averageValue"} {
				if err := checkQuantity(target, k, fmt.Sprintf("%s.metrics[%d].%s.target.%s", prefix, i, src, k)); err != nil {
					return err
				}
			}
		}
	}
	behavior, _ := m["behavior"].(map[string]any)
	for _, dir := range []string{"scaleUp", "scaleDown"} {
		rules, _ := behavior[dir].(map[string]any)
		if err := checkQuantity(rules, "tolerance", prefix+".behavior."+dir+".tolerance"); err != nil {
			return err
		}
	}
	return nil
}

func checkQuantity(m map[string]any, key, path string) error {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		s = fmt.Sprint(v)
		if _, isMap := v.(map[string]any); isMap {
			return fmt.Errorf("%s: invalid quantity %v: must be a string or a number", path, v)
		}
		if _, isList := v.([]any); isList {
			return fmt.Errorf("%s: invalid quantity %v: must be a string or a number", path, v)
		}
	}
	if _, err := resource.ParseQuantity(s); err != nil {
		return fmt.Errorf("%s: invalid quantity %q: %w", path, s, err)
	}
	return nil
}

// dur parses a Go duration at path.
func dur(s, path string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%s: invalid duration %q (want a Go duration such as 30s, -5m)", path, s)
	}
	return d, nil
}

// optDur parses an optional duration, keeping def when it is absent.
func optDur(s *string, def time.Duration, path string) (time.Duration, error) {
	if s == nil {
		return def, nil
	}
	return dur(*s, path)
}

func convertOptions(o *options) (horizontal.Options, time.Duration, error) {
	opt := horizontal.DefaultOptions()
	sync := defaultSyncPeriod
	if o == nil {
		return opt, sync, nil
	}
	if o.Tolerance != nil {
		if *o.Tolerance < 0 {
			return opt, 0, fmt.Errorf("options.tolerance: invalid value %v: must be >= 0", *o.Tolerance)
		}
		opt.Tolerance = *o.Tolerance
	}
	var err error
	for _, f := range []struct {
		in   *string
		out  *time.Duration
		path string
	}{
		{o.CPUInitializationPeriod, &opt.CPUInitializationPeriod, "options.cpuInitializationPeriod"},
		{o.InitialReadinessDelay, &opt.InitialReadinessDelay, "options.initialReadinessDelay"},
		{o.DownscaleStabilization, &opt.DownscaleStabilization, "options.downscaleStabilization"},
		{o.SyncPeriod, &sync, "options.syncPeriod"},
	} {
		if *f.out, err = optDur(f.in, *f.out, f.path); err != nil {
			return opt, 0, err
		}
		if *f.out < 0 {
			return opt, 0, fmt.Errorf("%s: invalid value %v: must not be negative", f.path, *f.out)
		}
	}
	return opt, sync, nil
}

func convert(f file) (simulate.Scenario, error) {
	var sc simulate.Scenario
	if f.Spec == nil {
		return sc, errors.New("spec: required field is missing")
	}
	if len(f.Steps) == 0 {
		return sc, errors.New("steps: at least one step is required")
	}
	opt, sync, err := convertOptions(f.Options)
	if err != nil {
		return sc, err
	}
	spec, err := hpaspec.Convert(*f.Spec, opt.DownscaleStabilization, "spec")
	if err != nil {
		return sc, fmt.Errorf("invalid spec: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	sc = simulate.Scenario{Spec: spec, Options: opt}
	at := time.Duration(0)
	for i, st := range f.Steps {
		path := fmt.Sprintf("steps[%d]", i)
		prev := at
		if i > 0 {
			at += sync
		}
		if at, err = optDur(st.At, at, path+".at"); err != nil {
			return sc, err
		}
		if i > 0 && at < prev {
			return sc, fmt.Errorf("%s.at: invalid value %v: must not be before the previous step (%v)", path, at, prev)
		}
		s, err := convertStep(st, at, spec, path)
		if err != nil {
			return sc, err
		}
		sc.Steps = append(sc.Steps, s)
	}
	sc.History, err = convertHistory(f.History, sc.Steps[0].Observation.Now)
	return sc, err
}

func convertHistory(h *history, first time.Time) (horizontal.History, error) {
	var out horizontal.History
	if h == nil {
		return out, nil
	}
	out.Seeded = h.Recommendations != nil
	for i, r := range h.Recommendations {
		path := fmt.Sprintf("history.recommendations[%d]", i)
		d, err := dur(r.At, path+".at")
		if err != nil {
			return out, err
		}
		if r.Replicas < 0 {
			return out, fmt.Errorf("%s.replicas: invalid value %d: must be >= 0", path, r.Replicas)
		}
		out.Recommendations = append(out.Recommendations, horizontal.Recommendation{At: first.Add(d), Replicas: r.Replicas})
	}
	var err error
	if out.ScaleUpEvents, err = convertEvents(h.ScaleUpEvents, first, "history.scaleUpEvents"); err != nil {
		return out, err
	}
	out.ScaleDownEvents, err = convertEvents(h.ScaleDownEvents, first, "history.scaleDownEvents")
	return out, err
}

func convertEvents(evs []event, first time.Time, field string) ([]horizontal.Event, error) {
	var out []horizontal.Event
	for i, e := range evs {
		path := fmt.Sprintf("%s[%d]", field, i)
		d, err := dur(e.At, path+".at")
		if err != nil {
			return nil, err
		}
		if e.Change <= 0 {
			return nil, fmt.Errorf("%s.change: invalid value %d: must be > 0 (the absolute size of the change)", path, e.Change)
		}
		out = append(out, horizontal.Event{At: first.Add(d), Change: e.Change})
	}
	return out, nil
}

// sortedKeys returns the keys of m in order, so that errors are
// deterministic.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
