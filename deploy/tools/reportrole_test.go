package tools

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestReportRoleReadsOnly: the Role of `ebb report`/`import`/`status`
// (deploy/rbac/report-role.yaml) grants what they read and no write verb.
func TestReportRoleReadsOnly(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "rbac", "report-role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := SplitManifests(data)
	if err != nil {
		t.Fatal(err)
	}
	role := mustFind(t, objs, "Role", "ebb-report")
	rules, err := RoleRules(role)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		for _, v := range r.Verbs {
			if !slices.Contains([]string{"get", "list", "watch"}, v) {
				t.Errorf("rule %+v grants %q: the report Role must only read", r, v)
			}
		}
	}
	for _, tc := range []struct {
		group, resource, verb string
		want                  bool
	}{
		{"", "pods", "list", true},
		{"apps", "deployments/scale", "get", true},
		{"apps", "replicasets", "watch", true},
		{"autoscaling", "horizontalpodautoscalers", "list", true},
		{"", "configmaps", "get", true},
		{"metrics.k8s.io", "pods", "list", true},
		{"custom.metrics.k8s.io", "pods/http_requests", "get", true},
		{"external.metrics.k8s.io", "queue_messages", "list", true},
		{"", "services/proxy", "get", true},
		{"apps", "deployments/scale", "patch", false},
		{"", "configmaps", "update", false},
		{"", "events", "create", false},
		{"", "secrets", "get", false},
		{"", "services/proxy", "create", false},
	} {
		if got := Allows(rules, tc.group, tc.resource, tc.verb); got != tc.want {
			t.Errorf("Allows(%q, %q, %q) = %t, want %t", tc.group, tc.resource, tc.verb, got, tc.want)
		}
	}
}
