package deploy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

// The example policy shipped in the kustomize base (and, by a deploy/tools
// test, identical in the Helm chart's values) must load in ebb itself.
func TestExamplePolicyLoads(t *testing.T) {
	for _, file := range []string{filepath.Join("kustomize", "policy.yaml")} {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c, err := policy.Load(data)
			if err != nil {
				t.Fatalf("policy.Load(%s): %v", file, err)
			}
			if c == nil {
				t.Fatalf("policy.Load(%s) returned no policy", file)
			}
		})
	}
}
