//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// TestDeployManifestsApply applies what users install — the kustomize base
// as rendered by `make deploy-render` and the Helm chart rendered for the
// test's namespace — to the real API server as a namespace admin (`admin`
// bound in one namespace plus the two grants docs/install.md asks for), so
// the API server validates, admits and authorizes every object, RBAC's
// escalation check included. It asserts that every object is accepted, none
// is cluster-scoped, ebb's objects exist afterwards, the identity gets 403
// for a ClusterRole and for a Role that escalates, and kwok runs ebb's 2
// pods.
func TestDeployManifestsApply(t *testing.T) {
	const nsKustomize, nsHelm = "deploy-kustomize", "deploy-helm"
	s := setup(t, nsKustomize)
	s.extraNamespace(t, nsHelm)
	r := newDeployRenders(t, s.RepoRoot)
	for _, tc := range []struct {
		name   string
		ns     string
		render func(ns string) ([]byte, error)
	}{
		{"kustomize base", nsKustomize, func(string) ([]byte, error) { return r.kustomize() }},
		{"helm chart", nsHelm, r.helm},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			data, err := tc.render(tc.ns)
			if err != nil {
				t.Fatal(err)
			}
			testApplyAsNamespaceAdmin(t, s, tc.ns, data)
		})
	}
}

// testApplyAsNamespaceAdmin applies data as the namespace admin of ns and
// checks the outcome.
func testApplyAsNamespaceAdmin(t *testing.T, s *Suite, ns string, data []byte) {
	ctx := context.Background()
	objs, err := harness.DecodeManifests(data)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := s.Env.NewNamespaceAdmin(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	results := admin.ApplyAs(ctx, s.Env.Mapper, objs)
	accepted := 0
	for _, res := range results {
		switch {
		case errors.Is(res.Err, harness.ErrClusterScoped):
			t.Errorf("%s: %v", res, res.Err)
		case res.Err != nil:
			t.Errorf("%s refused for the namespace admin of %s: %v", res, ns, res.Err)
		case res.Namespace != ns:
			t.Errorf("%s applied in namespace %q, want %q", res, res.Namespace, ns)
		default:
			accepted++
		}
	}
	t.Logf("%d of %d objects accepted from %s/%s", accepted, len(results), ns, harness.NamespaceAdminServiceAccount)

	t.Run("ebb's objects exist", func(t *testing.T) { checkEbbObjects(t, s, ns) })
	t.Run("no cluster-scoped right", func(t *testing.T) { checkNoClusterRights(t, admin) })
	t.Run("kwok runs ebb's 2 pods", func(t *testing.T) {
		sel := labels.SelectorFromSet(labels.Set{"app.kubernetes.io/name": "ebb"})
		if _, err := s.Env.WaitReadyPods(ctx, ns, sel, 2, 20*time.Second); err != nil {
			t.Error(err)
		}
	})
}

// checkEbbObjects reads back, with the cluster admin, the objects ebb needs.
func checkEbbObjects(t *testing.T, s *Suite, ns string) {
	ctx := context.Background()
	for _, want := range []struct {
		gvr  schema.GroupVersionResource
		name string
	}{
		{schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, "ebb"},
		{schema.GroupVersionResource{Group: rbacv1.GroupName, Version: "v1", Resource: "roles"}, "ebb"},
		{schema.GroupVersionResource{Group: rbacv1.GroupName, Version: "v1", Resource: "rolebindings"}, "ebb"},
		{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "ebb-policy"},
		{harness.DeploymentsGVR, "ebb"},
		{schema.GroupVersionResource{Version: "v1", Resource: "services"}, "ebb-metrics"},
	} {
		t.Run(want.gvr.Resource+"/"+want.name, func(t *testing.T) {
			if _, err := s.Env.Dynamic.Resource(want.gvr).Namespace(ns).Get(ctx, want.name, metav1.GetOptions{}); err != nil {
				t.Errorf("get %s %s/%s: %v", want.gvr.Resource, ns, want.name, err)
			}
		})
	}
}

// checkNoClusterRights proves the identity that applied the manifests has
// no cluster-scoped right and that RBAC's escalation check was live (so the
// acceptance of ebb's Role means the namespace admin may grant it).
func checkNoClusterRights(t *testing.T, admin *harness.NamespaceAdmin) {
	ctx := context.Background()
	all := []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"create a ClusterRole", func() error {
			cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "ebb-e2e-" + admin.Namespace}, Rules: all}
			_, err := admin.Kube.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{})
			return err
		}},
		{"list nodes", func() error {
			_, err := admin.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			return err
		}},
		{"create a Role granting everything (escalation)", func() error {
			r := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "escalate", Namespace: admin.Namespace}, Rules: all}
			_, err := admin.Kube.RbacV1().Roles(admin.Namespace).Create(ctx, r, metav1.CreateOptions{})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !apierrors.IsForbidden(err) {
				t.Errorf("err = %v, want 403 Forbidden", err)
			}
		})
	}
}

// deployRenders finds the manifests `make deploy-render` writes (running it
// when they or the helm binary are missing: `make e2e` alone does not).
type deployRenders struct {
	root, out, helmBin string
}

func newDeployRenders(t *testing.T, root string) *deployRenders {
	t.Helper()
	r := &deployRenders{root: root, out: os.Getenv("DEPLOY_OUT")}
	if r.out == "" {
		r.out = filepath.Join(root, ".cache", "deploy")
	}
	var err error
	r.helmBin, err = findHelm(root)
	_, statErr := os.Stat(filepath.Join(r.out, "kustomize.yaml"))
	if err == nil && statErr == nil {
		return r
	}
	t.Logf("rendered manifests or helm missing (%v; %v): running make deploy-render", err, statErr)
	cmd := exec.Command("make", "-C", root, "deploy-render", "DEPLOY_OUT="+r.out)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make -C %s deploy-render: %v\n%s", root, err, out)
	}
	if r.helmBin, err = findHelm(root); err != nil {
		t.Fatal(err)
	}
	return r
}

// findHelm returns the helm binary deploy/deploy.mk builds
// (.cache/tools/helm-<version>/helm; the newest version when several).
func findHelm(root string) (string, error) {
	tools := os.Getenv("DEPLOY_TOOLS")
	if tools == "" {
		tools = filepath.Join(root, ".cache", "tools")
	}
	found, err := filepath.Glob(filepath.Join(tools, "helm-*", "helm"))
	if err != nil || len(found) == 0 {
		return "", fmt.Errorf("no helm binary in %s/helm-*/ (built by make deploy-render)", tools)
	}
	sort.Strings(found)
	return found[len(found)-1], nil
}

// kustomize returns `kustomize build deploy/kustomize` as rendered by make:
// it sets no namespace, so objects go where they are applied.
func (r *deployRenders) kustomize() ([]byte, error) {
	p := filepath.Join(r.out, "kustomize.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read rendered kustomize base: %w", err)
	}
	return data, nil
}

// helm renders the chart for namespace ns with the values deploy.mk uses
// for helm.yaml (which is rendered for namespace e2e): `helm template
// --namespace` sets every object's namespace and the RoleBinding subject's.
func (r *deployRenders) helm(ns string) ([]byte, error) {
	cmd := exec.Command(r.helmBin, "template", "ebb", filepath.Join(r.root, "deploy", "helm", "ebb"),
		"--namespace", ns, "--set", "dashboards.enabled=true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s template --namespace %s: %w: %s", r.helmBin, ns, err, stderr.String())
	}
	return out, nil
}
