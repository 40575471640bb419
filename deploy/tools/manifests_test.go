package tools

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// rendered reads a file rendered by `make deploy-render` into $DEPLOY_OUT.
func rendered(t *testing.T, file string) []Object {
	t.Helper()
	dir := os.Getenv("DEPLOY_OUT")
	if dir == "" {
		t.Skip("DEPLOY_OUT is not set: run `make deploy-test`, which renders the manifests first")
	}
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := SplitManifests(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return objs
}

func helmNamespace() string {
	if ns := os.Getenv("DEPLOY_NAMESPACE"); ns != "" {
		return ns
	}
	return "e2e"
}

// renderings are the four files deploy-render writes, with the namespace
// each must carry and the kinds each must contain.
func renderings() []struct {
	file, namespace string
	kinds           []string
} {
	base := []string{"ConfigMap", "Deployment", "Role", "RoleBinding", "Service", "ServiceAccount"}
	withDashboards := []string{"ConfigMap", "ConfigMap", "Deployment", "Role", "RoleBinding", "Service", "ServiceAccount"}
	return []struct {
		file, namespace string
		kinds           []string
	}{
		{"kustomize.yaml", "", base},
		{"kustomize-monitoring.yaml", "", append(slices.Clone(withDashboards), "ServiceMonitor")},
		{"helm.yaml", helmNamespace(), withDashboards},
		{"helm-monitoring.yaml", helmNamespace(), append(slices.Clone(withDashboards), "PodMonitor", "ServiceMonitor")},
		{"kustomize-readonly.yaml", "", base},
		{"helm-readonly.yaml", helmNamespace(), base},
	}
}

func TestRenderedManifestsAreNamespaceScoped(t *testing.T) {
	for _, tc := range renderings() {
		t.Run(tc.file, func(t *testing.T) {
			objs := rendered(t, tc.file)
			if err := CheckNamespaceScoped(objs, tc.namespace); err != nil {
				t.Error(err)
			}
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.Kind())
			}
			slices.Sort(kinds)
			want := slices.Sorted(slices.Values(tc.kinds))
			if diff := cmp.Diff(want, kinds); diff != "" {
				t.Errorf("kinds (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckNamespaceScopedRejects(t *testing.T) {
	for _, tc := range []struct{ name, doc, namespace, wantErr string }{
		{"ClusterRole", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: ebb}\n", "", "kind ClusterRole"},
		{"ClusterRoleBinding", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ebb}\n", "", "kind ClusterRoleBinding"},
		{"CRD", "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x.ebb.io}\n", "", "kind CustomResourceDefinition"},
		{"APIService", "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1.ebb.io}\n", "", "kind APIService"},
		{"Namespace", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n", "", "kind Namespace"},
		{"other namespace", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: kube-system}\n", "shop", `metadata.namespace "kube-system", want "shop"`},
		{"missing name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n", "", "metadata.name are required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := SplitManifests([]byte("# header\n---\n" + tc.doc))
			if err == nil {
				err = CheckNamespaceScoped(objs, tc.namespace)
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func mustFind(t *testing.T, objs []Object, kind, suffix string) Object {
	t.Helper()
	o, err := Find(objs, kind, suffix)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestRoleRules(t *testing.T) {
	kustomize := mustFind(t, rendered(t, "kustomize.yaml"), "Role", "ebb")
	want, err := RoleRules(kustomize)
	if err != nil {
		t.Fatal(err)
	}
	got, err := RoleRules(mustFind(t, rendered(t, "helm.yaml"), "Role", "ebb"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("helm Role rules differ from deploy/kustomize/role.yaml (-kustomize +helm):\n%s", diff)
	}
	for _, tc := range []struct {
		group, resource, verb string
		want                  bool
	}{
		{"", "pods", "list", true},
		{"", "pods", "watch", true},
		{"", "pods/resize", "patch", true},
		{"apps", "deployments/scale", "patch", true},
		{"apps", "statefulsets/scale", "update", true},
		{"", "replicationcontrollers/scale", "patch", false},
		{"argoproj.io", "rollouts/scale", "get", false}, // custom resources: a rule the user adds
		{"apps", "deployments", "watch", true},
		{"apps", "replicasets", "list", true},
		{"apps", "deployments", "patch", true},
		{"", "configmaps", "create", true},
		{"coordination.k8s.io", "leases", "update", true},
		{"", "events", "create", true},
		{"events.k8s.io", "events", "patch", true},
		{"autoscaling", "horizontalpodautoscalers", "list", true},
		{"metrics.k8s.io", "pods", "list", true},
		{"", "services/proxy", "get", true},
		{"", "services/proxy", "create", false},
		{"custom.metrics.k8s.io", "pods/http_requests", "get", true},
		{"custom.metrics.k8s.io", "services/http_requests", "get", true},
		{"external.metrics.k8s.io", "queue_depth", "list", true},
		// nothing more
		{"", "secrets", "get", false},
		{"", "pods", "delete", false},
		{"", "configmaps", "delete", false},
		{"apps", "deployments", "delete", false},
		{"apps", "deployments/scale", "delete", false},
		{"apps", "replicasets", "patch", false},
		{"coordination.k8s.io", "leases", "delete", false},
		{"metrics.k8s.io", "nodes", "list", false},
		{"custom.metrics.k8s.io", "pods/http_requests", "create", false},
		{"external.metrics.k8s.io", "queue_depth", "watch", false},
		{"rbac.authorization.k8s.io", "roles", "escalate", false},
	} {
		t.Run(tc.group+"/"+tc.resource+" "+tc.verb, func(t *testing.T) {
			if got := Allows(want, tc.group, tc.resource, tc.verb); got != tc.want {
				t.Errorf("Allows(%q, %q, %q) = %t, want %t", tc.group, tc.resource, tc.verb, got, tc.want)
			}
		})
	}
}

// renderedRules are the rules of Role ebb in a rendered file.
func renderedRules(t *testing.T, file string) []Rule {
	t.Helper()
	rules, err := RoleRules(mustFind(t, rendered(t, file), "Role", "ebb"))
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// workloadWrites are the writes the read-only profile must not grant: every
// write verb on workloads, their scale and resize subresources.
func workloadWrites() (out [][3]string) {
	resources := map[string][]string{
		"":     {"pods", "pods/resize", "pods/eviction", "replicationcontrollers", "replicationcontrollers/scale"},
		"apps": {"deployments", "statefulsets", "replicasets", "daemonsets", "deployments/scale", "statefulsets/scale", "replicasets/scale"},
	}
	for _, group := range []string{"", "apps"} {
		for _, r := range resources[group] {
			for _, verb := range []string{"create", "update", "patch", "delete", "deletecollection"} {
				out = append(out, [3]string{group, r, verb})
			}
		}
	}
	return out
}

// TestReadOnlyProfile: the read-only renders (kustomize component, Helm
// readOnly=true) grant no write verb on workloads, keep every read of the
// full Role and ebb's own writes (state, Lease, Events), agree with each
// other, and run ebb with --read-only.
func TestReadOnlyProfile(t *testing.T) {
	full, ro := renderedRules(t, "kustomize.yaml"), renderedRules(t, "kustomize-readonly.yaml")
	if d := cmp.Diff(ro, renderedRules(t, "helm-readonly.yaml")); d != "" {
		t.Errorf("helm readOnly Role differs from the kustomize read-only component (-kustomize +helm):\n%s", d)
	}
	for _, w := range workloadWrites() {
		if Allows(ro, w[0], w[1], w[2]) {
			t.Errorf("read-only Role allows %s on %s/%s", w[2], w[0], w[1])
		}
	}
	for _, r := range full {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					write := slices.ContainsFunc(workloadWrites(), func(w [3]string) bool { return w == [3]string{g, res, v} })
					if !write && !Allows(ro, g, res, v) {
						t.Errorf("read-only Role lost %s on %s/%s, which is no workload write", v, g, res)
					}
				}
			}
		}
	}
	for _, file := range []string{"kustomize-readonly.yaml", "helm-readonly.yaml"} {
		args, _ := factsOf(mustFind(t, rendered(t, file), "Deployment", "ebb")).Args.([]any)
		if !slices.Contains(args, any("--read-only")) {
			t.Errorf("%s: ebb's args %v lack --read-only", file, args)
		}
	}
	for _, file := range []string{"kustomize.yaml", "helm.yaml"} {
		args, _ := factsOf(mustFind(t, rendered(t, file), "Deployment", "ebb")).Args.([]any)
		if slices.Contains(args, any("--read-only")) {
			t.Errorf("%s: the default profile runs ebb with --read-only", file)
		}
	}
}

func TestDeployment(t *testing.T) {
	for _, file := range []string{"kustomize.yaml", "helm.yaml"} {
		t.Run(file, func(t *testing.T) {
			objs := rendered(t, file)
			dep := mustFind(t, objs, "Deployment", "ebb")
			if diff := cmp.Diff(wantDeployment(t, objs), factsOf(dep)); diff != "" {
				t.Errorf("Deployment (-want +got):\n%s", diff)
			}
			checkWiring(t, objs, dep)
		})
	}
}

// deploymentFacts is what the issue fixes about ebb's Deployment.
type deploymentFacts struct {
	Replicas                 any
	ServiceAccount, Policy   any
	Args                     any
	RunAsNonRoot, ReadOnlyFS any
	PrivilegeEscalation      any
	Liveness, Readiness      any
	Port                     any
	Requests, Limits         []string
}

func factsOf(dep Object) deploymentFacts {
	pod := Object{"spec": dep.Path("spec", "template", "spec")}
	containers, _ := pod.Path("spec", "containers").([]any)
	var c Object
	if len(containers) > 0 {
		m, _ := containers[0].(map[string]any)
		c = Object(m)
	}
	volumes, _ := pod.Path("spec", "volumes").([]any)
	var policy any
	if len(volumes) > 0 {
		policy = Object(volumes[0].(map[string]any)).Path("configMap", "name")
	}
	ports, _ := c["ports"].([]any)
	var port any
	if len(ports) > 0 {
		port = ports[0].(map[string]any)["containerPort"]
	}
	return deploymentFacts{
		Replicas:            dep.Path("spec", "replicas"),
		ServiceAccount:      pod.Path("spec", "serviceAccountName"),
		Policy:              policy,
		Args:                c["args"],
		RunAsNonRoot:        pod.Path("spec", "securityContext", "runAsNonRoot"),
		ReadOnlyFS:          c.Path("securityContext", "readOnlyRootFilesystem"),
		PrivilegeEscalation: c.Path("securityContext", "allowPrivilegeEscalation"),
		Liveness:            c.Path("livenessProbe", "httpGet", "path"),
		Readiness:           c.Path("readinessProbe", "httpGet", "path"),
		Port:                port,
		Requests:            keys(c.Path("resources", "requests")),
		Limits:              keys(c.Path("resources", "limits")),
	}
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func wantDeployment(t *testing.T, objs []Object) deploymentFacts {
	return deploymentFacts{
		Replicas:       float64(2),
		ServiceAccount: mustFind(t, objs, "ServiceAccount", "ebb").Name(),
		Policy:         mustFind(t, objs, "ConfigMap", "ebb-policy").Name(),
		Args: []any{"run", "--namespace=$(POD_NAMESPACE)", "--policy=/etc/ebb/policy.yaml",
			"--policy-configmap=" + mustFind(t, objs, "ConfigMap", "ebb-policy").Name(),
			"--metrics-addr=:8080", "--leader-elect"},
		RunAsNonRoot: true, ReadOnlyFS: true, PrivilegeEscalation: false,
		Liveness: "/healthz", Readiness: "/readyz",
		Port:     float64(8080),
		Requests: []string{"cpu", "memory"},
		Limits:   []string{"cpu", "memory"},
	}
}

// checkWiring checks the references between objects: the RoleBinding binds
// the Role to the ServiceAccount, the Service selects the pods.
func checkWiring(t *testing.T, objs []Object, dep Object) {
	t.Helper()
	rb := mustFind(t, objs, "RoleBinding", "ebb")
	subjects, _ := rb["subjects"].([]any)
	got := []any{rb.Path("roleRef", "kind"), rb.Path("roleRef", "name")}
	for _, s := range subjects {
		got = append(got, Object(s.(map[string]any)).Path("kind"), Object(s.(map[string]any)).Path("name"))
	}
	want := []any{"Role", mustFind(t, objs, "Role", "ebb").Name(), "ServiceAccount", mustFind(t, objs, "ServiceAccount", "ebb").Name()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RoleBinding roleRef/subjects (-want +got):\n%s", diff)
	}
	podLabels, _ := dep.Path("spec", "template", "metadata", "labels").(map[string]any)
	selector, _ := mustFind(t, objs, "Service", "ebb-metrics").Path("spec", "selector").(map[string]any)
	if len(selector) == 0 {
		t.Error("Service ebb-metrics has no selector")
	}
	for k, v := range selector {
		if podLabels[k] != v {
			t.Errorf("Service selector %s=%v does not match the pod label %v", k, v, podLabels[k])
		}
	}
}

func policyOf(t *testing.T, objs []Object) any {
	t.Helper()
	data, _ := mustFind(t, objs, "ConfigMap", "ebb-policy").Path("data", "policy.yaml").(string)
	var p any
	if err := yaml.Unmarshal([]byte(data), &p); err != nil {
		t.Fatalf("policy.yaml: %v", err)
	}
	if p == nil {
		t.Fatal("policy.yaml is empty")
	}
	return p
}

func TestPolicyExampleSameInHelmAndKustomize(t *testing.T) {
	want := policyOf(t, rendered(t, "kustomize.yaml"))
	got := policyOf(t, rendered(t, "helm.yaml"))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("helm values' policy differs from deploy/kustomize/policy.yaml (-kustomize +helm):\n%s", diff)
	}
}

func TestDashboardConfigMaps(t *testing.T) {
	for _, file := range []string{"kustomize-monitoring.yaml", "helm.yaml"} {
		t.Run(file, func(t *testing.T) {
			cm := mustFind(t, rendered(t, file), "ConfigMap", "ebb-dashboards")
			if got := cm.Path("metadata", "labels", "grafana_dashboard"); got != "1" {
				t.Errorf("label grafana_dashboard = %v, want \"1\"", got)
			}
			for key, src := range map[string]string{"ebb-overview.json": "overview.json", "ebb-vertical.json": "vertical.json"} {
				want, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "grafana", src))
				if err != nil {
					t.Fatal(err)
				}
				got, _ := cm.Path("data", key).(string)
				if strings.TrimSpace(got) != strings.TrimSpace(string(want)) {
					t.Errorf("data[%s] is not deploy/grafana/%s", key, src)
				}
			}
		})
	}
}

func TestMonitorSelectsService(t *testing.T) {
	for _, file := range []string{"kustomize-monitoring.yaml", "helm-monitoring.yaml"} {
		t.Run(file, func(t *testing.T) {
			objs := rendered(t, file)
			svcLabels, _ := mustFind(t, objs, "Service", "ebb-metrics").Path("metadata", "labels").(map[string]any)
			sm := mustFind(t, objs, "ServiceMonitor", "ebb")
			match, _ := sm.Path("spec", "selector", "matchLabels").(map[string]any)
			if len(match) == 0 {
				t.Fatal("ServiceMonitor has no matchLabels")
			}
			for k, v := range match {
				if svcLabels[k] != v {
					t.Errorf("ServiceMonitor selects %s=%v, Service has %v", k, v, svcLabels[k])
				}
			}
			checkEndpoints(t, sm, "endpoints")
		})
	}
}

// checkEndpoints checks a monitor's single endpoint: port metrics, and
// honorLabels so ebb's namespace/container labels are not renamed to
// exported_namespace/exported_container by the operator's target labels.
func checkEndpoints(t *testing.T, monitor Object, field string) {
	t.Helper()
	endpoints, _ := monitor.Path("spec", field).([]any)
	if len(endpoints) != 1 {
		t.Fatalf("%s: %d %s, want 1", monitor, len(endpoints), field)
	}
	ep := Object(endpoints[0].(map[string]any))
	got := []any{ep.Path("port"), ep.Path("path"), ep.Path("honorLabels")}
	if diff := cmp.Diff([]any{"metrics", "/metrics", true}, got); diff != "" {
		t.Errorf("%s %s[0] port, path, honorLabels (-want +got):\n%s", monitor, field, diff)
	}
}

func TestPodMonitor(t *testing.T) {
	helm := mustFind(t, rendered(t, "helm-monitoring.yaml"), "PodMonitor", "ebb")
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "kustomize", "components", "podmonitor", "podmonitor.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := SplitManifests(data)
	if err != nil {
		t.Fatal(err)
	}
	for name, pm := range map[string]Object{"helm": helm, "kustomize component": mustFind(t, objs, "PodMonitor", "ebb")} {
		t.Run(name, func(t *testing.T) {
			checkEndpoints(t, pm, "podMetricsEndpoints")
			if pm.Path("spec", "selector", "matchLabels", "app.kubernetes.io/name") != "ebb" {
				t.Errorf("%s selects %v, want app.kubernetes.io/name=ebb", pm, pm.Path("spec", "selector"))
			}
		})
	}
}

// Client-side `kubectl apply` copies every object into the
// last-applied-configuration annotation, limited to 256 KiB; the dashboards
// ConfigMap is the only large object.
func TestObjectsFitClientSideApply(t *testing.T) {
	const limit = 200 << 10 // headroom under the 256 KiB annotation limit
	for _, tc := range renderings() {
		t.Run(tc.file, func(t *testing.T) {
			for _, o := range rendered(t, tc.file) {
				data, err := yaml.Marshal(o)
				if err != nil {
					t.Fatal(err)
				}
				if len(data) > limit {
					t.Errorf("%s is %d bytes, over %d: client-side kubectl apply would fail", o, len(data), limit)
				}
			}
		})
	}
}
