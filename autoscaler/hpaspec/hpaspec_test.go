package hpaspec

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

func decode(t *testing.T, y string) autoscalingv2.HorizontalPodAutoscalerSpec {
	t.Helper()
	var s autoscalingv2.HorizontalPodAutoscalerSpec
	if err := yaml.UnmarshalStrict([]byte(y), &s); err != nil {
		t.Fatalf("decode spec: %v", err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

var cpu80 = horizontal.MetricSpec{Type: horizontal.ResourceMetric, Name: "cpu",
	Target: horizontal.Target{Type: horizontal.UtilizationTarget, Utilization: 80}}

var defaultUp = horizontal.ScalingRules{SelectPolicy: horizontal.SelectMax, Policies: []horizontal.ScalingPolicy{
	{Type: horizontal.PodsPolicy, Value: 4, Period: 15 * time.Second},
	{Type: horizontal.PercentPolicy, Value: 100, Period: 15 * time.Second},
}}

func defaultDown(w time.Duration) horizontal.ScalingRules {
	return horizontal.ScalingRules{StabilizationWindow: w, SelectPolicy: horizontal.SelectMax,
		Policies: []horizontal.ScalingPolicy{{Type: horizontal.PercentPolicy, Value: 100, Period: 15 * time.Second}}}
}

func TestConvert(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want horizontal.Spec
	}{
		{"defaults: min 1, cpu 80%, no behavior", `maxReplicas: 5`,
			horizontal.Spec{MinReplicas: 1, MaxReplicas: 5, Metrics: []horizontal.MetricSpec{cpu80}}},
		{"scale to zero: min 0 with only External and Object metrics", `
minReplicas: 0
maxReplicas: 4
metrics:
- type: External
  external: {metric: {name: queue}, target: {type: AverageValue, averageValue: "10"}}
- type: Object
  object: {metric: {name: rps}, describedObject: {kind: Service, name: web}, target: {type: Value, value: "100"}}
`, horizontal.Spec{MinReplicas: 0, MaxReplicas: 4, Metrics: []horizontal.MetricSpec{
			{Type: horizontal.ExternalMetric, Name: "queue", Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 10_000}},
			{Type: horizontal.ObjectMetric, Name: "rps", Target: horizontal.Target{Type: horizontal.ValueTarget, Value: 100_000}},
		}}},
		{"every metric type in milli-units", `
minReplicas: 2
maxReplicas: 10
metrics:
- type: Resource
  resource: {name: memory, target: {type: AverageValue, averageValue: 1Gi}}
- type: ContainerResource
  containerResource: {name: cpu, container: app, target: {type: Utilization, averageUtilization: 60}}
- type: Pods
  pods: {metric: {name: qps}, target: {type: AverageValue, averageValue: 100m}}
- type: Object
  object: {metric: {name: hits}, describedObject: {kind: Service, name: web}, target: {type: Value, value: "2"}}
- type: External
  external: {metric: {name: queue}, target: {type: AverageValue, averageValue: "30"}}
`, horizontal.Spec{MinReplicas: 2, MaxReplicas: 10, Metrics: []horizontal.MetricSpec{
			{Type: horizontal.ResourceMetric, Name: "memory", Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 1 << 30 * 1000}},
			{Type: horizontal.ContainerResourceMetric, Name: "cpu", Container: "app", Target: horizontal.Target{Type: horizontal.UtilizationTarget, Utilization: 60}},
			{Type: horizontal.PodsMetric, Name: "qps", Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 100}},
			{Type: horizontal.ObjectMetric, Name: "hits", Target: horizontal.Target{Type: horizontal.ValueTarget, Value: 2000}},
			{Type: horizontal.ExternalMetric, Name: "queue", Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 30000}},
		}}},
		{"the target type the controller applies follows the fields", `
maxReplicas: 4
metrics:
- type: Resource
  resource: {name: cpu, target: {type: Utilization, averageValue: 300m}}
- type: External
  external: {metric: {name: q}, target: {type: Value, averageValue: "2"}}
`, horizontal.Spec{MinReplicas: 1, MaxReplicas: 4, Metrics: []horizontal.MetricSpec{
			{Type: horizontal.ResourceMetric, Name: "cpu", Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 300}},
			{Type: horizontal.ExternalMetric, Name: "q", Target: horizontal.Target{Type: horizontal.AverageValueTarget, AverageValue: 2000}},
		}}},
		{"empty behavior gets both default directions", "maxReplicas: 3\nbehavior: {}",
			horizontal.Spec{MinReplicas: 1, MaxReplicas: 3, Metrics: []horizontal.MetricSpec{cpu80},
				Behavior: &horizontal.Behavior{ScaleUp: defaultUp, ScaleDown: defaultDown(7 * time.Minute)}}},
		{"fields filled individually; given policies replace the list", `
maxReplicas: 3
behavior:
  scaleUp: {stabilizationWindowSeconds: 60, tolerance: 50m}
  scaleDown:
    selectPolicy: Min
    policies: [{type: Pods, value: 1, periodSeconds: 60}]
`, horizontal.Spec{MinReplicas: 1, MaxReplicas: 3, Metrics: []horizontal.MetricSpec{cpu80},
			Behavior: &horizontal.Behavior{
				ScaleUp: horizontal.ScalingRules{StabilizationWindow: time.Minute, SelectPolicy: horizontal.SelectMax,
					Policies: defaultUp.Policies, Tolerance: ptr(0.05)},
				ScaleDown: horizontal.ScalingRules{StabilizationWindow: 7 * time.Minute, SelectPolicy: horizontal.SelectMin,
					Policies: []horizontal.ScalingPolicy{{Type: horizontal.PodsPolicy, Value: 1, Period: time.Minute}}},
			}}},
		{"explicit zero scale-down window is kept", "maxReplicas: 3\nbehavior: {scaleDown: {stabilizationWindowSeconds: 0}}",
			horizontal.Spec{MinReplicas: 1, MaxReplicas: 3, Metrics: []horizontal.MetricSpec{cpu80},
				Behavior: &horizontal.Behavior{ScaleUp: defaultUp, ScaleDown: defaultDown(0)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Convert(decode(t, tc.spec), 7*time.Minute, "spec")
			if err != nil {
				t.Fatalf("Convert: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Convert (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want []string // each line of the joined error, in order
	}{
		{"max missing", `minReplicas: 1`, []string{"p.maxReplicas: must be set and greater than 0"}},
		{"negative max and zero min", "minReplicas: 0\nmaxReplicas: -1", []string{
			"p.minReplicas: invalid value 0: must be greater than or equal to 1; 0 (scale to zero) needs every metric to be an Object or External metric",
			"p.maxReplicas: invalid value -1: must be greater than or equal to 1"}},
		{"negative min", "minReplicas: -1\nmaxReplicas: 2", []string{
			"p.minReplicas: invalid value -1: must be greater than or equal to 0"}},
		{"zero min with a Resource metric beside an External one", `
minReplicas: 0
maxReplicas: 3
metrics:
- type: External
  external: {metric: {name: queue}, target: {type: AverageValue, averageValue: 10}}
- type: Resource
  resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
`, []string{"p.minReplicas: invalid value 0: must be greater than or equal to 1; 0 (scale to zero) needs every metric to be an Object or External metric"}},
		{"min above max", "minReplicas: 4\nmaxReplicas: 3",
			[]string{"p.maxReplicas: invalid value 3: must be greater than or equal to minReplicas (4)"}},
		{"utilization zero and source missing", `
maxReplicas: 3
metrics:
- type: Pods
  pods: {metric: {name: qps}, target: {type: AverageValue, averageValue: 1}}
- type: Resource
  resource: {name: cpu, target: {type: Utilization, averageUtilization: 0}}
- type: External
`, []string{
			"p.metrics[1].resource.target.averageUtilization: invalid value 0: must be greater than 0",
			"p.metrics[2].external: must populate information for the given metric source"}},
		{"two sources, unknown type", `
maxReplicas: 3
metrics:
- type: Pods
  pods: {metric: {name: qps}, target: {type: AverageValue, averageValue: 1}}
  external: {metric: {name: q}, target: {type: Value, value: 1}}
- type: Foo
`, []string{
			`p.metrics[0].external: must populate the given metric source only (type is Pods)`,
			`p.metrics[1].type: invalid value "Foo": supported values: Resource, ContainerResource, Pods, Object, External`}},
		{"target type not allowed, value not positive, field missing", `
maxReplicas: 3
metrics:
- type: Pods
  pods: {metric: {name: qps}, target: {type: Value, value: 1}}
- type: Object
  object: {metric: {name: ""}, describedObject: {kind: S, name: s}, target: {type: Value, value: "-1"}}
- type: External
  external: {metric: {name: q}, target: {type: AverageValue}}
- type: ContainerResource
  containerResource: {name: cpu, target: {type: Utilization, averageUtilization: 50, averageValue: 1}}
`, []string{
			`p.metrics[0].pods.target.type: invalid value "Value": must be one of [AverageValue] for this metric source`,
			"p.metrics[0].pods.target.averageValue: must specify a positive target averageValue",
			"p.metrics[1].object.metric.name: must specify a metric name",
			"p.metrics[1].object.target.value: invalid value -1: must be positive",
			"p.metrics[2].external.target.averageValue: must set either value or averageValue",
			"p.metrics[3].containerResource.container: must specify a container",
			"p.metrics[3].containerResource.target.averageValue: may not be set together with averageUtilization"}},
		{"metric selector and described object as the API server checks them", `
maxReplicas: 3
metrics:
- type: Pods
  pods: {metric: {name: qps, selector: {matchLabels: {"bad key!": x}}}, target: {type: AverageValue, averageValue: 1}}
- type: Object
  object: {metric: {name: hits, selector: {matchExpressions: [{key: verb, operator: In}]}}, describedObject: {apiVersion: v1}, target: {type: Value, value: "2"}}
`, []string{
			`p.metrics[0].pods.metric.selector: key: Invalid value: "bad key!": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
			"p.metrics[1].object.metric.selector: values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty",
			"p.metrics[1].object.describedObject.kind: must be set",
			"p.metrics[1].object.describedObject.name: must be set"}},
		{"object target field must match its type", `
maxReplicas: 3
metrics:
- type: Object
  object: {metric: {name: m}, describedObject: {kind: S, name: s}, target: {type: AverageValue, value: "1"}}
`, []string{"p.metrics[0].object.target.averageValue: must be set for target type AverageValue (the controller reads no other field)"}},
		{"behavior limits", `
maxReplicas: 3
behavior:
  scaleUp:
    stabilizationWindowSeconds: 3601
    selectPolicy: Sometimes
    policies: []
  scaleDown:
    tolerance: "-0.1"
    policies: [{type: Pods, value: 0, periodSeconds: 1801}, {type: Ratio, value: 1, periodSeconds: 0}]
`, []string{
			"p.behavior.scaleUp.stabilizationWindowSeconds: invalid value 3601: must be between 0 and 3600",
			`p.behavior.scaleUp.selectPolicy: invalid value "Sometimes": supported values: Max, Min, Disabled`,
			"p.behavior.scaleUp.policies: must specify at least one Policy",
			"p.behavior.scaleDown.policies[0].value: invalid value 0: must be greater than zero",
			"p.behavior.scaleDown.policies[0].periodSeconds: invalid value 1801: must be between 1 and 1800",
			`p.behavior.scaleDown.policies[1].type: invalid value "Ratio": supported values: Pods, Percent`,
			"p.behavior.scaleDown.policies[1].periodSeconds: invalid value 0: must be between 1 and 1800",
			"p.behavior.scaleDown.tolerance: invalid value -100m: must be greater than or equal to 0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Convert(decode(t, tc.spec), 5*time.Minute, "p")
			if err == nil {
				t.Fatal("Convert: no error")
			}
			if diff := cmp.Diff(tc.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %v holds no *FieldError", err)
			}
		})
	}
}

func TestConvertQuantityRounding(t *testing.T) {
	q := resource.MustParse("1.5m") // MilliValue rounds up like the HPA
	spec := autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 2, Metrics: []autoscalingv2.MetricSpec{{
		Type: autoscalingv2.PodsMetricSourceType,
		Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "x"},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &q}},
	}}}
	got, err := Convert(spec, 0, "spec")
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Metrics[0].Target.AverageValue; v != 2 {
		t.Errorf("AverageValue = %d milli, want 2", v)
	}
}
