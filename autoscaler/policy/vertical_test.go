package policy

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

func TestCompileVertical(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []CompiledVertical // per target
	}{
		{name: "absent section is recommend, joined with the horizontal spec", in: `
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal:
    maxReplicas: 5
    metrics:
    - {type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: 60}}}
`, want: []CompiledVertical{{Mode: VerticalRecommend, Policy: rv.Policy{HorizontalMemoryUtilization: 60}}}},
		{name: "every field", in: `
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal: {maxReplicas: 5}
  vertical:
    mode: in-place
    containerPolicies:
    - containerName: app
      minAllowed: {cpu: 100m, memory: 128Mi}
      maxAllowed: {cpu: "2", memory: 1Gi}
      controlledResources: [cpu]
    - {containerName: "*", mode: "Off"}
    inPlace: {podsPerPeriod: 2, period: 5m}
    rollout: {period: 30m}
`, want: []CompiledVertical{{Mode: VerticalInPlace, ResizePods: 2, ResizePeriod: 5 * time.Minute,
			RolloutPeriod: 30 * time.Minute, Policy: rv.Policy{HorizontalCPUUtilization: 80, Containers: []rv.ContainerPolicy{
				{Name: "app", MinAllowed: rv.Amounts{CPUMillis: 100, MemoryBytes: 128 << 20},
					MaxAllowed: rv.Amounts{CPUMillis: 2000, MemoryBytes: 1 << 30}, ControlledResources: []rv.Resource{rv.CPU}},
				{Name: "*", Mode: rv.ModeOff}}}}}},
		{name: "defaults apply field by field", in: `
defaults:
  vertical:
    mode: rollout
    containerPolicies: [{containerName: "*", maxAllowed: {memory: 2Gi}}]
    rollout: {period: 2h}
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: db}
  horizontal: {maxReplicas: 5, metrics: [{type: Pods, pods: {metric: {name: q}, target: {type: AverageValue, averageValue: "1"}}}]}
  queries: {q: "sum(q)"}
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal: {maxReplicas: 5, metrics: [{type: Pods, pods: {metric: {name: q}, target: {type: AverageValue, averageValue: "1"}}}]}
  queries: {q: "sum(q)"}
  vertical: {mode: "off", rollout: {period: 10m}}
prometheus: {url: "http://prom:9090"}
`, want: []CompiledVertical{
			{Mode: VerticalRollout, RolloutPeriod: 2 * time.Hour,
				Policy: rv.Policy{Containers: []rv.ContainerPolicy{{Name: "*", MaxAllowed: rv.Amounts{MemoryBytes: 2 << 30}}}}},
			{Mode: VerticalOff, RolloutPeriod: 10 * time.Minute,
				Policy: rv.Policy{Containers: []rv.ContainerPolicy{{Name: "*", MaxAllowed: rv.Amounts{MemoryBytes: 2 << 30}}}}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load([]byte(tc.in))
			if err != nil {
				t.Fatalf("Load error: %v", err)
			}
			var got []CompiledVertical
			for _, ct := range c.Targets {
				got = append(got, ct.Vertical)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("vertical (-want +got):\n%s", d)
			}
		})
	}
}

func TestVerticalProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{name: "every field", in: `
defaults:
  vertical: {mode: sometimes, inPlace: {podsPerPeriod: 0}}
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal: {maxReplicas: 5}
  vertical:
    mode: "false"
    containerPolicies:
    - containerName: app
      mode: auto
      minAllowed: {cpu: "2", memory: -1Mi, gpu: "1"}
      maxAllowed: {cpu: 500m}
      controlledResources: [cpu, cpu, storage]
    - {containerName: app}
    - {mode: "Off"}
    - {containerName: sidecar, mode: Off}
    inPlace: {period: 0s}
    rollout: {period: -1m}
`, want: []string{
			`defaults.vertical.mode: invalid value "sometimes": must be off, recommend, in-place or rollout`,
			`defaults.vertical.inPlace.podsPerPeriod: invalid value 0: must be greater than or equal to 1`,
			`targets[0] Deployment/web: targets[0].vertical.mode: invalid value "false": must be off, recommend, in-place or rollout (YAML reads an unquoted off as false: write "off" in quotes)`,
			`targets[0] Deployment/web: targets[0].vertical.containerPolicies[0].mode: invalid value "auto": must be Auto or Off`,
			`targets[0] Deployment/web: targets[0].vertical.containerPolicies[0].minAllowed: invalid value "gpu": only cpu and memory are recommended`,
			`targets[0] Deployment/web: targets[0].vertical.containerPolicies[0].minAllowed.memory: invalid value -1Mi: must be greater than or equal to 0`,
			`targets[0] Deployment/web: targets[0].vertical.containerPolicies[0].minAllowed.cpu: invalid value 2: must not exceed maxAllowed.cpu 500m`,
			`targets[0] Deployment/web: targets[0].vertical.containerPolicies[0].controlledResources[1]: invalid value "cpu": is listed twice`,
			`targets[0] Deployment/web: targets[0].vertical.containerPolicies[0].controlledResources[2]: invalid value "storage": must be cpu or memory`,
			`targets[0] Deployment/web: targets[0].vertical.containerPolicies[1].containerName: invalid value "app": duplicate of targets[0].vertical.containerPolicies[0]`,
			`targets[0] Deployment/web: targets[0].vertical.containerPolicies[2].containerName: must be set (a container name, or "*" for all others)`,
			`targets[0] Deployment/web: targets[0].vertical.containerPolicies[3].mode: invalid value "false": must be Auto or Off (YAML reads an unquoted Off as false: write "Off" in quotes)`,
			`targets[0] Deployment/web: targets[0].vertical.inPlace.period: invalid value 0s: must be greater than 0`,
			`targets[0] Deployment/web: targets[0].vertical.rollout.period: invalid value -1m0s: must be greater than 0`,
		}},
		{name: "rollout of a kind without a pod template ebb can patch", in: `
defaults:
  vertical: {mode: rollout}
targets:
- scaleTargetRef: {apiVersion: argoproj.io/v1alpha1, kind: Rollout, name: web}
  horizontal: {maxReplicas: 5}
- scaleTargetRef: {apiVersion: apps/v1, kind: ReplicaSet, name: rs}
  horizontal: {maxReplicas: 5}
  vertical: {mode: rollout}
- scaleTargetRef: {apiVersion: apps/v1, kind: ReplicaSet, name: ok}
  horizontal: {maxReplicas: 5}
  vertical: {mode: in-place}
`, want: []string{
			`targets[0] Rollout/web: defaults.vertical.mode: invalid value "rollout": rollout patches the pod template of an apps Deployment or StatefulSet, not argoproj.io/v1alpha1 Rollout`,
			`targets[1] ReplicaSet/rs: targets[1].vertical.mode: invalid value "rollout": rollout patches the pod template of an apps Deployment or StatefulSet, not apps/v1 ReplicaSet`,
		}},
		{name: "unknown field", in: `
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal: {maxReplicas: 5}
  vertical: {mode: recommend, containerPolicies: [{containerName: app, maxAlowed: {cpu: 1}}]}
`, want: []string{`targets[0].vertical.containerPolicies[0].maxAlowed: unknown field "maxAlowed"`}},
		{name: "bad quantity", in: `
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal: {maxReplicas: 5}
  vertical: {containerPolicies: [{containerName: app, maxAllowed: {cpu: lots}}]}
`, want: []string{`decode policy: error unmarshaling JSON: while decoding JSON: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in))
			if d := cmp.Diff(tc.want, problemStrings(err)); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseVerticalMode(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    VerticalMode
		wantErr bool
	}{{"", VerticalRecommend, false}, {"in-place", VerticalInPlace, false}, {"rollout", VerticalRollout, false},
		{"off", VerticalOff, false}, {"InPlace", "", true}} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseVerticalMode(tc.in)
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("ParseVerticalMode(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
