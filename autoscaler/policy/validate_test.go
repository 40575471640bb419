package policy

import (
	"errors"
	"testing"

	"github.com/ebb-autoscaler/ebb/autoscaler/hpaspec"
	"github.com/google/go-cmp/cmp"
)

// TestValidateEveryProblem checks that one broken file reports every
// problem at once, each naming the target, field and value.
func TestValidateEveryProblem(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "global settings",
			in: `
defaults:
  mode: fast
  syncPeriod: 0s
  tolerance: -0.5
  cpuInitializationPeriod: -1m
  initialReadinessDelay: -1s
  downscaleStabilization: -5m
  missingMetrics: {action: panic}
prometheus: {url: "ftp://prom:9090", timeout: 0s, httpConfig: {bearer_token: x, bearer_token_file: /t, tls_confg: {}}}
targets: []
`,
			want: []string{
				`defaults.mode: invalid value "fast": must be off, dry-run or apply`,
				`defaults.syncPeriod: invalid value 0s: must be greater than 0`,
				`defaults.cpuInitializationPeriod: invalid value -1m0s: must be greater than or equal to 0`,
				`defaults.initialReadinessDelay: invalid value -1s: must be greater than or equal to 0`,
				`defaults.downscaleStabilization: invalid value -5m0s: must be greater than or equal to 0`,
				`defaults.tolerance: invalid value -0.5: must be a number greater than or equal to 0`,
				`defaults.missingMetrics.action: invalid value "panic": must be hold or fallback`,
				`prometheus.url: invalid value "ftp://prom:9090": scheme must be http or https`,
				`prometheus.httpConfig: field tls_confg not found in type config.plain`,
				`prometheus.timeout: invalid value 0s: must be greater than 0`,
				`targets: must list at least one target (or set shadowHPAs: true)`,
			},
		},
		{
			name: "targets",
			in: `
targets:
- scaleTargetRef: {kind: Deployment}
  mode: off
  horizontal: {maxReplicas: 3}
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  mode: sometimes
  horizontal:
    minReplicas: 4
    maxReplicas: 3
    metrics:
    - type: Pods
      pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: "10"}}
    - type: External
      external: {metric: {name: queue}, target: {type: Value, value: "5"}}
  queries:
    queue: 'sum(q{ns="{{.Nope}}"})'
    other: 'up'
  missingMetrics: {action: fallback, afterCycles: 0, fallbackReplicas: 9}
- scaleTargetRef: {apiVersion: apps/v2, kind: Deployment, name: web}
  horizontal:
    scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: api}
    maxReplicas: 3
  missingMetrics: {action: hold, fallbackReplicas: 2}
- scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: db}
  queries: {x: '{{.Nope}}'}
`,
			want: []string{
				`prometheus.url: must be set: targets have queries`,
				`targets[0] Deployment/: targets[0].scaleTargetRef.name: must be set`,
				`targets[0] Deployment/: targets[0].scaleTargetRef.apiVersion: must be set`,
				`targets[0] Deployment/: targets[0].mode: invalid value "false": must be off, dry-run or apply (YAML reads an unquoted off as false: write "off" in quotes)`,
				`targets[1] Deployment/web: targets[1].mode: invalid value "sometimes": must be off, dry-run or apply`,
				`targets[1] Deployment/web: targets[1].horizontal.maxReplicas: invalid value 3: must be greater than or equal to minReplicas (4)`,
				`targets[1] Deployment/web: targets[1].queries.other: invalid value "other": names no Pods, Object or External metric of horizontal.metrics`,
				`targets[1] Deployment/web: targets[1].queries.queue: render query template "sum(q{ns=\"{{.Nope}}\"})": template: query:1:12: executing "query" at <.Nope>: can't evaluate field Nope in type metricsource.QueryVars`,
				`targets[1] Deployment/web: targets[1].missingMetrics.afterCycles: invalid value 0: must be greater than or equal to 1 with action fallback`,
				`targets[1] Deployment/web: targets[1].missingMetrics.fallbackReplicas: invalid value 9: must be within [minReplicas, maxReplicas] = [4, 3]`,
				`targets[2] Deployment/web: targets[2].horizontal.scaleTargetRef: invalid value Deployment/api: must be omitted or equal scaleTargetRef`,
				`targets[2] Deployment/web: targets[2].missingMetrics.fallbackReplicas: invalid value 2: is only used with action fallback`,
				`targets[2] Deployment/web: targets[2].scaleTargetRef: invalid value Deployment/web: duplicate of targets[1]`,
				`targets[3] StatefulSet/db: targets[3].horizontal: must be set (an autoscaling/v2 HorizontalPodAutoscalerSpec)`,
			},
		},
		{
			name: "default fallback outside a target's range names the default and the target",
			in: `
defaults:
  missingMetrics: {action: fallback, afterCycles: 2, fallbackReplicas: 8}
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: small}
  horizontal: {maxReplicas: 3}
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: big}
  horizontal: {maxReplicas: 30}
`,
			want: []string{
				`targets[0] Deployment/small: defaults.missingMetrics.fallbackReplicas: invalid value 8: must be within [minReplicas, maxReplicas] = [1, 3]`,
			},
		},
		{
			name: "template syntax error",
			in: `
prometheus: {url: "http://prom:9090"}
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal:
    maxReplicas: 3
    metrics:
    - type: Object
      object:
        metric: {name: lag}
        describedObject: {apiVersion: v1, kind: Service, name: kafka}
        target: {type: Value, value: "100"}
  queries: {lag: 'max(lag{ns="{{.Namespace"})'}
`,
			want: []string{`targets[0] Deployment/web: targets[0].queries.lag: parse query template "max(lag{ns=\"{{.Namespace\"})": template: query:1: bad character U+0022 '"'`},
		},
		{
			name: "prometheus section without url",
			in: `
prometheus: {timeout: 5s}
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal: {maxReplicas: 3}
`,
			want: []string{`prometheus.url: must be set`},
		},
		{
			name: "conflicting httpConfig settings",
			in: `
prometheus: {url: "https://prom:9090", httpConfig: {bearer_token: x, bearer_token_file: /t}}
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal: {maxReplicas: 3}
`,
			want: []string{`prometheus.httpConfig: at most one of bearer_token & bearer_token_file must be configured`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := decode([]byte(tc.in))
			if err != nil {
				t.Fatalf("decode error: %v", err)
			}
			err = p.Validate()
			if d := cmp.Diff(tc.want, problemStrings(err)); d != "" {
				t.Errorf("Validate problems (-want +got):\n%s", d)
			}
			if _, cerr := p.Compile(); cerr == nil || cerr.Error() != err.Error() {
				t.Errorf("Compile error = %v, want Validate's", cerr)
			}
			if got, perr := Parse([]byte(tc.in)); got != nil || perr == nil {
				t.Errorf("Parse = %v, %v; want nil policy and an error", got, perr)
			}
		})
	}
}

func TestProblemsAreFieldErrors(t *testing.T) {
	p, err := decode([]byte(`
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  mode: sometimes
  horizontal: {maxReplicas: 0}
`))
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, e := range Problems(p.Validate()) {
		var te *TargetError
		var fe *hpaspec.FieldError
		if !errors.As(e, &te) || !errors.As(e, &fe) {
			t.Fatalf("problem %v is not a *TargetError wrapping a *hpaspec.FieldError", e)
		}
		if te.Target != "targets[0] Deployment/web" {
			t.Errorf("TargetError.Target = %q", te.Target)
		}
		fields = append(fields, fe.Field)
	}
	if d := cmp.Diff([]string{"targets[0].mode", "targets[0].horizontal.maxReplicas"}, fields); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
}
