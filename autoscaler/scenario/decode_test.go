package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/ebb-autoscaler/ebb/recommender/simulate"
	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

func TestDecode(t *testing.T) {
	t0 := simulate.Epoch()
	in := `
spec:
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
  - type: ContainerResource
    containerResource: {name: cpu, container: app, target: {type: AverageValue, averageValue: 100m}}
  - type: Pods
    pods: {metric: {name: qps}, target: {type: AverageValue, averageValue: "10"}}
  - type: Object
    object: {metric: {name: hits}, describedObject: {kind: Service, name: s}, target: {type: Value, value: "5"}}
  - type: External
    external: {metric: {name: queue}, target: {type: Value, value: "3"}}
options: {tolerance: 0.05, cpuInitializationPeriod: 1m, syncPeriod: 30s}
history:
  recommendations: [{at: -1m, replicas: 4}]
  scaleUpEvents: [{at: -20s, change: 2}]
steps:
- at: 10s
  currentReplicas: 2
  statusReplicas: 3
  pods:
  - name: a
    startTime: -5m
    readyTransitionTime: -4m
    containers: [{name: app, requests: {cpu: 250m, memory: 1Ki}}]
  - {name: b, phase: Pending, ready: false, deleting: true}
  metrics:
    resource:
      cpu: {window: 15s, timestamp: -2s, pods: {a: 200m}}
    containerResource:
      cpu: {containers: {app: {a: 0.1}}}
    pods: {qps: {a: 12, b: "8"}}
    object: {hits: 7}
    external: {queue: [1, 500m]}
- currentReplicas: 3
  errors: {qps: timeout, Object/hits: down}
  expect: {desiredReplicas: 4, reason: ScaleUpLimit}
`
	got, err := Decode([]byte(in))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	now0, now1 := t0.Add(10*time.Second), t0.Add(40*time.Second)
	opt := horizontal.DefaultOptions()
	opt.Tolerance, opt.CPUInitializationPeriod = 0.05, time.Minute
	sample := func(v int64, ts time.Time, w time.Duration) horizontal.Sample {
		return horizontal.Sample{Value: v, Timestamp: ts, Window: w}
	}
	want := simulate.Scenario{
		Options: opt,
		History: horizontal.History{Seeded: true,
			Recommendations: []horizontal.Recommendation{{At: now0.Add(-time.Minute), Replicas: 4}},
			ScaleUpEvents:   []horizontal.Event{{At: now0.Add(-20 * time.Second), Change: 2}}},
		Steps: []simulate.Step{
			{At: 10 * time.Second, Observation: horizontal.Observation{
				Now: now0, CurrentReplicas: 2, StatusReplicas: 3,
				Pods: []horizontal.Pod{
					{Name: "a", Phase: horizontal.PodRunning, HasReadyCondition: true, Ready: true,
						StartTime: now0.Add(-5 * time.Minute), ReadyTransition: now0.Add(-4 * time.Minute),
						Containers: []horizontal.Container{{Name: "app", Requests: map[string]int64{"cpu": 250, "memory": 1024000}}}},
					{Name: "b", Phase: horizontal.PodPending, HasReadyCondition: true, Deleting: true},
				},
				Metrics: []horizontal.MetricValues{
					{PodValues: map[string]horizontal.Sample{"a": sample(200, now0.Add(-2*time.Second), 15*time.Second)}},
					{PodValues: map[string]horizontal.Sample{"a": sample(100, now0, 30*time.Second)}},
					{PodValues: map[string]horizontal.Sample{"a": sample(12000, now0, 30*time.Second), "b": sample(8000, now0, 30*time.Second)}},
					{Value: 7000},
					{Value: 1500},
				},
			}},
			{At: 40 * time.Second, Expect: ptr[int32](4), ExpectReason: "ScaleUpLimit", Observation: horizontal.Observation{
				Now: now1, CurrentReplicas: 3, StatusReplicas: 3,
				Metrics: []horizontal.MetricValues{
					{PodValues: map[string]horizontal.Sample{}},
					{PodValues: map[string]horizontal.Sample{}},
					{Err: errors.New("timeout")},
					{Err: errors.New("down")},
					{Err: errNoValue},
				},
			}},
		},
	}
	opts := cmp.Options{
		cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error()) }),
		cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Spec" }, cmp.Ignore()),
	}
	if diff := cmp.Diff(want, got, opts...); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}
	if n := len(got.Spec.Metrics); n != 5 {
		t.Errorf("spec has %d metrics, want 5", n)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"duplicate pod", "spec: {maxReplicas: 2}\nsteps:\n- currentReplicas: 1\n  pods: [{name: a}, {name: a}]\n", `steps[0].pods[1].name: duplicate pod name "a"`},
		{"steps out of order", "spec: {maxReplicas: 2}\nsteps:\n- {at: 10s, currentReplicas: 1}\n- {at: 5s, currentReplicas: 1}\n", "steps[1].at: invalid value 5s"},
		{"negative tolerance", "spec: {maxReplicas: 2}\noptions: {tolerance: -1}\nsteps: [{currentReplicas: 1}]\n", "options.tolerance: invalid value -1"},
		{"event change", "spec: {maxReplicas: 2}\nhistory: {scaleDownEvents: [{at: -1s, change: 0}]}\nsteps: [{currentReplicas: 1}]\n", "history.scaleDownEvents[0].change: invalid value 0"},
		{"quantity object", "spec: {maxReplicas: 2}\nsteps:\n- currentReplicas: 1\n  metrics: {object: {x: {a: 1}}}\n", ""},
		{"external quantity", "spec: {maxReplicas: 2, metrics: [{type: External, external: {metric: {name: q}, target: {type: Value, value: 1}}}]}\nsteps:\n- currentReplicas: 1\n  metrics: {external: {q: [1, zz]}}\n", `steps[0].metrics.external.q[1]: invalid quantity "zz"`},
		{"missing spec", "steps: [{currentReplicas: 1}]\n", "spec: required field is missing"},
		{"tolerance quantity", "spec: {maxReplicas: 2, behavior: {scaleUp: {tolerance: much}}}\nsteps: [{currentReplicas: 1}]\n", `spec.behavior.scaleUp.tolerance: invalid quantity "much"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode([]byte(tc.in))
			if tc.want == "" { // values of metrics the spec does not use are ignored
				if err != nil {
					t.Errorf("Decode: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDecodeSpec(t *testing.T) {
	tests := []struct{ name, in string }{
		{"bare spec", "maxReplicas: 4\nminReplicas: 2\n"},
		{"whole HPA", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\nspec:\n  scaleTargetRef: {kind: Deployment, name: web}\n  maxReplicas: 4\n  minReplicas: 2\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeSpec([]byte(tc.in), 5*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if got.MinReplicas != 2 || got.MaxReplicas != 4 || len(got.Metrics) != 1 || got.Metrics[0].Target.Utilization != 80 {
				t.Errorf("DecodeSpec = %+v, want 2..4 with the default cpu 80%%", got)
			}
		})
	}
	if _, err := DecodeSpec([]byte("kind: HorizontalPodAutoscaler\nspec: {maxReplicas: 2, metrics: [{type: Pods, pods: {metric: {name: q}, target: {type: AverageValue, averageValue: x}}}]}\n"), 0); err == nil ||
		!strings.Contains(err.Error(), `spec.metrics[0].pods.target.averageValue: invalid quantity "x"`) {
		t.Errorf("DecodeSpec bad quantity: %v", err)
	}
}

// FuzzDecodeScenario: Decode must never panic, whatever the bytes.
func FuzzDecodeScenario(f *testing.F) {
	files, _ := filepath.Glob("../../recommender/simulate/testdata/scenarios/*.yaml")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "null", "[]", "spec: 1", "spec: {maxReplicas: 2}\nsteps: [{currentReplicas: 1, metrics: {resource: {cpu: {pods: {a: 1e400}}}}}]",
		"spec: {maxReplicas: 2}\nsteps: [{currentReplicas: -1}]", "spec: {maxReplicas: 2147483647}\nsteps: [{currentReplicas: 2147483647}]",
		"spec: {maxReplicas: 2}\nsteps: [{at: 9999999999h, currentReplicas: 1}]",
		"spec: {maxReplicas: 2, metrics: [{type: External, external: {metric: {name: q}, target: {type: Value, value: 1}}}]}\nsteps: [{currentReplicas: 1, metrics: {external: {q: [9223372036854775807, 9223372036854775807]}}}]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Decode(data)
		if err != nil {
			return
		}
		simulate.Replay(sc) // a decoded scenario must replay without panicking
	})
}
