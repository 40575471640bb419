package policy

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzParse checks that Parse never panics, that Parse and Load agree, and
// that a policy Parse accepts survives a JSON round trip unchanged.
func FuzzParse(f *testing.F) {
	f.Add(readExample(f))
	for _, seed := range []string{
		"",
		"targets: []",
		"- a",
		"defaults: {mode: off}",
		"defaults: {syncPeriod: -1s, tolerance: .nan}\ntargets: [{}]",
		"targets: [{scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: w}, horizontal: {maxReplicas: 2}}]",
		"targets: [{scaleTargetRef: {apiVersion: '/', kind: K, name: n}, horizontal: {maxReplicas: 2, minReplicas: 0, " +
			"metrics: [{type: Pods}, {type: External, external: {metric: {name: m}, target: {type: Value, value: 1e9}}}], " +
			"behavior: {scaleUp: {policies: [{type: Pods, value: 0, periodSeconds: 0}]}}}, queries: {m: '{{.PodRegex}}'}}]",
		`{"targets":[{"horizontal":{"maxReplicas":1,"metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization"}}}]}}]}`,
		"prometheus: {url: '::'}\ntargets: [{queries: {a: '{{'}}]",
		"targets: [{missingMetrics: {action: fallback, afterCycles: -1, fallbackReplicas: -2147483648}}]",
		"defaults: &a {mode: *a}",
		"defaults: {vertical: {mode: rollout, rollout: {period: 0s}}}\ntargets: [{scaleTargetRef: {apiVersion: apps/v1, kind: Job, name: j}, " +
			"horizontal: {maxReplicas: 2}, vertical: {containerPolicies: [{containerName: '*', minAllowed: {cpu: 1e3, memory: -0.5Gi}, " +
			"controlledResources: [cpu, gpu]}], inPlace: {podsPerPeriod: -1}}}]",
		"targets: [{scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: w}, horizontal: {maxReplicas: 2}, " +
			"vertical: {mode: in-place, containerPolicies: [{containerName: a, mode: 'Off', maxAllowed: {cpu: 1500m, memory: 1G}}]}}]",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		c, lerr := Load(data)
		if (err == nil) != (lerr == nil) {
			t.Fatalf("Parse error %v but Load error %v", err, lerr)
		}
		if err != nil {
			if p != nil || c != nil {
				t.Fatalf("Parse/Load returned a value with an error: %v", err)
			}
			return
		}
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal accepted policy: %v", err)
		}
		c2, err := Load(again)
		if err != nil {
			t.Fatalf("re-parse of accepted policy %s: %v", again, err)
		}
		if d := cmp.Diff(c, c2, cmpopts.IgnoreFields(Compiled{}, "Hash")); d != "" {
			t.Errorf("JSON round trip changed the compiled policy (-first +second):\n%s", d)
		}
	})
}
