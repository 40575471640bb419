package policy

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/proactive"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

func readExample(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func problemStrings(err error) []string {
	var out []string
	for _, e := range Problems(err) {
		out = append(out, e.Error())
	}
	return out
}

func TestLoadExample(t *testing.T) {
	c, err := Load(readExample(t))
	if err != nil {
		t.Fatalf("Load(example.yaml) error:\n%v", err)
	}
	type summary struct {
		Key     string
		Mode    Mode
		Min     int32
		Max     int32
		Metrics []string
		Queries []string
		Sources []string
		Missing MissingMetrics
		// Vertical mode and rollout period.
		Vertical VerticalMode
		Rollout  time.Duration
	}
	var got []summary
	for _, ct := range c.Targets {
		s := summary{Key: ct.Key(), Mode: ct.Mode, Min: ct.Spec.MinReplicas, Max: ct.Spec.MaxReplicas, Missing: ct.Missing,
			Vertical: ct.Vertical.Mode, Rollout: ct.Vertical.RolloutPeriod}
		for _, m := range ct.Spec.Metrics {
			s.Metrics = append(s.Metrics, m.String())
		}
		for name := range ct.Queries {
			s.Queries = append(s.Queries, name)
		}
		for _, src := range ct.Sources {
			s.Sources = append(s.Sources, src.String())
		}
		got = append(got, s)
	}
	want := []summary{
		{Key: "Deployment/web", Mode: ModeApply, Min: 2, Max: 20,
			Metrics:  []string{"Resource/cpu", "Pods/http_requests_per_second"},
			Queries:  []string{"http_requests_per_second"},
			Sources:  []string{"metrics.k8s.io (metrics-server)", "Prometheus (queries.http_requests_per_second)"},
			Missing:  MissingMetrics{Action: MissingFallback, AfterCycles: 8, FallbackReplicas: 4},
			Vertical: VerticalRollout, Rollout: 2 * time.Hour},
		{Key: "StatefulSet/worker", Mode: ModeDryRun, Min: 1, Max: 10,
			Metrics: []string{"External/queue_messages"}, Queries: []string{"queue_messages"},
			Sources: []string{"Prometheus (queries.queue_messages)"},
			Missing: MissingMetrics{Action: MissingHold}, Vertical: VerticalRecommend},
		{Key: "Deployment/batch", Mode: ModeOff, Min: 1, Max: 3,
			Metrics: []string{"Resource/cpu"}, Sources: []string{"metrics.k8s.io (metrics-server)"}, Missing: MissingMetrics{Action: MissingHold}, Vertical: VerticalRecommend},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("compiled targets (-want +got):\n%s", d)
	}
	if c.SyncPeriod != 15*time.Second {
		t.Errorf("SyncPeriod = %v, want 15s", c.SyncPeriod)
	}
	wantProm := &PrometheusConfig{URL: "http://prometheus-operated.monitoring.svc:9090", Timeout: 10 * time.Second}
	if d := cmp.Diff(wantProm, c.Prometheus); d != "" {
		t.Errorf("Prometheus (-want +got):\n%s", d)
	}
	web := c.Targets[0].Spec
	if web.Behavior == nil || web.Behavior.ScaleDown.StabilizationWindow != 5*time.Minute ||
		len(web.Behavior.ScaleUp.Policies) != 1 || web.Behavior.ScaleUp.Policies[0].Type != horizontal.PodsPolicy {
		t.Errorf("web behavior = %+v, want scaleDown window 5m and one Pods scaleUp policy", web.Behavior)
	}
	wantWeb := rv.Policy{HorizontalCPUUtilization: 70, Containers: []rv.ContainerPolicy{
		{Name: "app", MinAllowed: rv.Amounts{CPUMillis: 100, MemoryBytes: 128 << 20}, MaxAllowed: rv.Amounts{CPUMillis: 2000, MemoryBytes: 2 << 30}},
		{Name: "*", Mode: rv.ModeOff}}}
	if d := cmp.Diff(wantWeb, c.Targets[0].Vertical.Policy); d != "" {
		t.Errorf("web vertical policy (-want +got):\n%s", d)
	}
	if got := web.Metrics[1].Target; got != (horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 50000}) {
		t.Errorf("web Pods metric target = %+v, want AverageValue 50000m", got)
	}
}

func TestCompileDefaults(t *testing.T) {
	c, err := Load([]byte(`
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal: {maxReplicas: 5}
`))
	if err != nil {
		t.Fatalf("Load error: %v", err)
	}
	want := &Compiled{
		SyncPeriod: 15 * time.Second,
		Targets: []CompiledTarget{{
			Ref:  autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			Mode: ModeDryRun,
			Spec: horizontal.Spec{MinReplicas: 1, MaxReplicas: 5, Metrics: []horizontal.MetricSpec{{
				Type: horizontal.ResourceMetric, Name: "cpu",
				Target: horizontal.Target{Type: horizontal.UtilizationTarget, Utilization: 80},
			}}},
			Options: horizontal.Options{Tolerance: 0.1, CPUInitializationPeriod: 5 * time.Minute,
				InitialReadinessDelay: 30 * time.Second, DownscaleStabilization: 5 * time.Minute},
			Queries: map[string]string{},
			Sources: []MetricSource{{Source: metricsource.SourceMetricsServer}},
			Missing: MissingMetrics{Action: MissingHold},
			// No vertical section: recommend, joined with the horizontal
			// cpu utilization target.
			Vertical: CompiledVertical{Mode: VerticalRecommend,
				Policy: rv.Policy{HorizontalCPUUtilization: 80}},
			// No proactive section: mode off.
			Proactive: proactive.DefaultConfig(),
		}},
	}
	if d := cmp.Diff(want, c, cmpopts.IgnoreFields(Compiled{}, "Hash")); d != "" {
		t.Errorf("Load (-want +got):\n%s", d)
	}
}

func TestCompileOverrides(t *testing.T) {
	c, err := Load([]byte(`
defaults:
  mode: apply
  syncPeriod: 30s
  tolerance: 0.05
  cpuInitializationPeriod: 2m
  initialReadinessDelay: 10s
  downscaleStabilization: 1m
  missingMetrics: {action: fallback, afterCycles: 3, fallbackReplicas: 2}
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal: {minReplicas: 2, maxReplicas: 5}
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
  mode: dry-run
  missingMetrics: {action: hold}
  horizontal: {maxReplicas: 5, behavior: {scaleUp: {stabilizationWindowSeconds: 60}}}
`))
	if err != nil {
		t.Fatalf("Load error: %v", err)
	}
	wantOpt := horizontal.Options{Tolerance: 0.05, CPUInitializationPeriod: 2 * time.Minute,
		InitialReadinessDelay: 10 * time.Second, DownscaleStabilization: time.Minute}
	for _, tc := range []struct {
		name string
		got  any
		want any
	}{
		{"sync period", c.SyncPeriod, 30 * time.Second},
		{"web mode from defaults", c.Targets[0].Mode, ModeApply},
		{"web options", c.Targets[0].Options, wantOpt},
		{"web missing from defaults", c.Targets[0].Missing, MissingMetrics{Action: MissingFallback, AfterCycles: 3, FallbackReplicas: 2}},
		{"api mode override", c.Targets[1].Mode, ModeDryRun},
		{"api missing override", c.Targets[1].Missing, MissingMetrics{Action: MissingHold}},
		{"api scaleDown window from downscaleStabilization", c.Targets[1].Spec.Behavior.ScaleDown.StabilizationWindow, time.Minute},
		{"api scaleUp window", c.Targets[1].Spec.Behavior.ScaleUp.StabilizationWindow, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, tc.got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "unknown fields everywhere, each with its path",
			in: `
defaults: {mode: apply, sync: 10s}
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web, namespace: x}
  horizontal:
    maxReplicas: 3
    metrics:
    - type: Pods
      pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: 1}, extra: true}
  querys: {rps: up}
`,
			want: []string{
				`defaults.sync: unknown field "sync"`,
				`targets[0].horizontal.metrics[0].pods.extra: unknown field "extra"`,
				`targets[0].querys: unknown field "querys"`,
				`targets[0].scaleTargetRef.namespace: unknown field "namespace"`,
			},
		},
		{name: "empty file", in: "", want: []string{"policy is empty"}},
		{name: "not a mapping", in: "- a\n- b\n", want: []string{
			"policy must be a mapping with defaults, prometheus and targets, got a list"}},
		{name: "duplicate key", in: "targets: []\ntargets: []\n", want: []string{
			"policy is not valid YAML: yaml: unmarshal errors:\n  line 2: key \"targets\" already set in map"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse([]byte(tc.in))
			if p != nil {
				t.Errorf("Parse returned a policy with error %v", err)
			}
			if d := cmp.Diff(tc.want, problemStrings(err)); d != "" {
				t.Errorf("Parse problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseTypeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"bad duration", "defaults: {syncPeriod: soon}\ntargets: []\n", `invalid duration "soon"`},
		{"number duration", "defaults: {syncPeriod: 15}\ntargets: []\n", `duration must be a string`},
		{"string replicas", "targets: [{horizontal: {maxReplicas: many}}]\n", `maxReplicas`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestDocsExample keeps the full example of docs/policy.md identical to
// testdata/example.yaml (minus its leading comment) and so valid.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "## Full example")
	if !ok {
		t.Fatal(`docs/policy.md has no "## Full example" section`)
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```\n")
	if !ok || !ok2 {
		t.Fatal("docs/policy.md: no yaml block in the full example")
	}
	example := string(readExample(t))
	for strings.HasPrefix(example, "#") {
		_, example, _ = strings.Cut(example, "\n")
	}
	if d := cmp.Diff(example, block); d != "" {
		t.Errorf("docs/policy.md example differs from testdata/example.yaml (-example +docs):\n%s", d)
	}
}

// BenchmarkLoad parses, validates and compiles the example policy, which a
// Watcher does on every change of the file.
func BenchmarkLoad(b *testing.B) {
	data := readExample(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(data); err != nil {
			b.Fatal(err)
		}
	}
}
