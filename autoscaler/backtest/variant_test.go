package backtest

import (
	"strings"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/google/go-cmp/cmp"
)

func TestParseVariant(t *testing.T) {
	base := cpuSpec(2, 20, 60)
	base.Metrics = append(base.Metrics, horizontal.MetricSpec{Type: horizontal.PodsMetric, Name: "rps",
		Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 40_000}})
	opt := horizontal.DefaultOptions()
	v, err := ParseVariant("lean=target=70%,scaleDown.window=60s,max=30,tolerance=0.05")
	if err != nil {
		t.Fatal(err)
	}
	spec, o, err := v.Apply(base, opt)
	if err != nil {
		t.Fatal(err)
	}
	want := cpuSpec(2, 30, 70)
	want.Metrics = append(want.Metrics, base.Metrics[1])
	b := horizontal.DefaultBehavior(opt)
	b.ScaleDown.StabilizationWindow = time.Minute
	want.Behavior = &b
	if diff := cmp.Diff(want, spec); diff != "" || v.Name != "lean" || o.Tolerance != 0.05 {
		t.Errorf("spec (-want +got):\n%s\nname %q tolerance %v", diff, v.Name, o.Tolerance)
	}
	if base.Metrics[0].Target.Utilization != 60 {
		t.Errorf("the variant changed the target's own spec")
	}
	rps, _ := ParseVariant("rps=target=55")
	spec, _, _ = rps.Apply(base, opt)
	if spec.Metrics[1].Target.AverageValue != 55_000 || spec.Metrics[0].Target.Utilization != 60 {
		t.Errorf("target=55 gave %+v", spec.Metrics)
	}
	none, _ := ParseVariant("x=target=5")
	if _, _, err := none.Apply(cpuSpec(1, 2, 50), opt); err == nil || !strings.Contains(err.Error(), "no metric with a AverageValue target") {
		t.Errorf("a quantity target on a utilization-only spec: %v", err)
	}
	if _, _, err := rps.Apply(horizontal.Spec{MinReplicas: 5, MaxReplicas: 3, Metrics: base.Metrics}, opt); err == nil || !strings.Contains(err.Error(), "min 5 above max 3") {
		t.Errorf("min above max: %v", err)
	}
	for _, tc := range []struct{ in, want string }{
		{"noname", "want name=key=value"},
		{"a=target", `"target": want key=value`},
		{"a=window=1m", "window=1m: unknown setting: want one of target"},
		{"a=target=0%", "target=0%: want a whole percentage >= 1"},
		{"a=scaleUp.window=soon", "scaleUp.window=soon: want a duration"},
		{"a=min=0", "min=0: want a whole number >= 1"},
	} {
		if _, err := ParseVariant(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseVariant(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestLoadVariants(t *testing.T) {
	vs, err := LoadVariants([]byte(`
- name: behavior
  spec:
    minReplicas: 3
    maxReplicas: 30
    metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 75}}}]
    behavior: {scaleUp: {stabilizationWindowSeconds: 30}}
`))
	if err != nil {
		t.Fatal(err)
	}
	opt := horizontal.DefaultOptions()
	opt.DownscaleStabilization = 2 * time.Minute
	spec, _, err := vs[0].Apply(cpuSpec(1, 5, 50), opt)
	if err != nil {
		t.Fatal(err)
	}
	want := cpuSpec(3, 30, 75)
	b := horizontal.DefaultBehavior(opt)
	b.ScaleUp.StabilizationWindow = 30 * time.Second
	want.Behavior = &b
	if diff := cmp.Diff(want, spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ in, want string }{
		{"- name: a\n  spec: {maxReplicas: 0}\n", "[0].spec.maxReplicas: must be set"},
		{"- name: a\n  spec: {maxReplicas: 3}\n- name: a\n  spec: {maxReplicas: 3}\n", `[1].name "a": must be set and unique`},
		{"- name: a\n  spek: {}\n", `unknown field "spek"`},
		{"[]\n", "lists none"},
	} {
		if _, err := LoadVariants([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadVariants(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}
