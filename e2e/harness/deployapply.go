package harness

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// NamespaceAdminServiceAccount is the ServiceAccount NewNamespaceAdmin creates.
const NamespaceAdminServiceAccount = "nsadmin"

// ErrClusterScoped marks a manifest object whose kind is cluster-scoped: a
// namespace admin may not create it, so ApplyAs does not try.
var ErrClusterScoped = errors.New("cluster-scoped kind: a namespace admin may not create it")

// NamespaceAdmin is an identity with the rights a user installing ebb
// without cluster-admin has: the built-in `admin` ClusterRole bound in one
// namespace, plus the grants docs/install.md asks for (pods/resize patch,
// metrics.k8s.io pods read, custom.metrics.k8s.io and
// external.metrics.k8s.io read), as a namespaced Role. It has no
// cluster-scoped right at all.
type NamespaceAdmin struct {
	Namespace string
	Config    *rest.Config
	Kube      kubernetes.Interface
	Dynamic   dynamic.Interface
}

// namespaceAdminExtraRules are the grants `admin` lacks that ebb's Role
// holds (deploy/apply-check.sh, docs/install.md).
func namespaceAdminExtraRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods/resize"}, Verbs: []string{"patch"}},
		{APIGroups: []string{"metrics.k8s.io"}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{"custom.metrics.k8s.io", "external.metrics.k8s.io"}, Resources: []string{"*"}, Verbs: []string{"get", "list"}},
	}
}

// NewNamespaceAdmin creates ServiceAccount nsadmin in ns, binds it to the
// `admin` ClusterRole and to a Role with namespaceAdminExtraRules, requests
// a token for it (1 h) and returns clients using that token, once RBAC's
// authorizer sees the bindings (it learns of them asynchronously).
func (e *Env) NewNamespaceAdmin(ctx context.Context, ns string) (*NamespaceAdmin, error) {
	if err := e.createNamespaceAdminRBAC(ctx, ns); err != nil {
		return nil, err
	}
	exp := int64(3600)
	tr, err := e.Kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, NamespaceAdminServiceAccount,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("request token for %s/%s: %w", ns, NamespaceAdminServiceAccount, err)
	}
	cfg := &rest.Config{
		Host:            e.Cluster.Server(),
		BearerToken:     tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: e.Cluster.CAFile()},
		QPS:             100,
		Burst:           200,
	}
	a := &NamespaceAdmin{Namespace: ns, Config: cfg}
	if a.Kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("namespace admin kube client: %w", err)
	}
	if a.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("namespace admin dynamic client: %w", err)
	}
	return a, a.waitAuthorized(ctx, 30*time.Second)
}

func (e *Env) createNamespaceAdminRBAC(ctx context.Context, ns string) error {
	const name = NamespaceAdminServiceAccount
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	if _, err := e.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return fmt.Errorf("create serviceaccount %s/%s: %w", ns, name, err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name + "-extra", Namespace: ns}, Rules: namespaceAdminExtraRules()}
	if _, err := e.Kube.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return fmt.Errorf("create role %s/%s: %w", ns, role.Name, err)
	}
	subjects := []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}
	for _, rb := range []*rbacv1.RoleBinding{
		{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Subjects: subjects,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"}},
		{ObjectMeta: metav1.ObjectMeta{Name: role.Name, Namespace: ns}, Subjects: subjects,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name}},
	} {
		if _, err := e.Kube.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); ignoreExists(err) != nil {
			return fmt.Errorf("create rolebinding %s/%s: %w", ns, rb.Name, err)
		}
	}
	return nil
}

// waitAuthorized waits until the identity may do, in its namespace, what
// installing ebb needs: the authorizer's caches and kube-controller-manager's
// aggregation of `admin` are both asynchronous.
func (a *NamespaceAdmin) waitAuthorized(ctx context.Context, timeout time.Duration) error {
	checks := []authzv1.ResourceAttributes{
		{Verb: "patch", Group: "apps", Resource: "deployments"},
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "roles"},
		{Verb: "patch", Resource: "pods", Subresource: "resize"},
		{Verb: "list", Group: "metrics.k8s.io", Resource: "pods"},
	}
	return Eventually(ctx, "namespace admin of "+a.Namespace+" authorized", timeout, 100*time.Millisecond, func(ctx context.Context) error {
		for _, c := range checks {
			c.Namespace = a.Namespace
			r, err := a.Kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx,
				&authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &c}}, metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("access review %s %s/%s: %w", c.Verb, c.Group, c.Resource, err)
			}
			if !r.Status.Allowed {
				return fmt.Errorf("may not %s %s %s/%s yet", c.Verb, c.Group, c.Resource, c.Subresource)
			}
		}
		return nil
	})
}

// DecodeManifests splits a multi-document YAML stream (kustomize or helm
// output) into objects; empty and comment-only documents are skipped.
func DecodeManifests(data []byte) ([]*unstructured.Unstructured, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []*unstructured.Unstructured
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read YAML document %d: %w", i, err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			return nil, fmt.Errorf("decode YAML document %d: %w", i, err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if obj.GetKind() == "" || obj.GetName() == "" {
			return nil, fmt.Errorf("YAML document %d: kind %q, name %q: both are required", i, obj.GetKind(), obj.GetName())
		}
		out = append(out, obj)
	}
}

// Applied is the outcome of applying one manifest object.
type Applied struct {
	Kind, Name, Namespace string
	Resource              schema.GroupVersionResource
	Err                   error // nil when the API server accepted the object
}

func (p Applied) String() string {
	return fmt.Sprintf("%s %s/%s", p.Kind, p.Namespace, p.Name)
}

// ApplyAs server-side-applies every object with the namespace admin's
// identity, so the API server validates, admits and authorizes each one
// (RBAC's escalation check included). Namespaced objects without a namespace
// go to a.Namespace; a cluster-scoped kind is not sent (Err is
// ErrClusterScoped). Every object is tried; the outcomes come back in order.
func (a *NamespaceAdmin) ApplyAs(ctx context.Context, mapper meta.RESTMapper, objs []*unstructured.Unstructured) []Applied {
	out := make([]Applied, 0, len(objs))
	for _, obj := range objs {
		out = append(out, a.applyOne(ctx, mapper, obj))
	}
	return out
}

func (a *NamespaceAdmin) applyOne(ctx context.Context, mapper meta.RESTMapper, obj *unstructured.Unstructured) Applied {
	res := Applied{Kind: obj.GetKind(), Name: obj.GetName(), Namespace: obj.GetNamespace()}
	gvk := obj.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		res.Err = fmt.Errorf("map %s: %w", gvk, err)
		return res
	}
	res.Resource = m.Resource
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		res.Err = ErrClusterScoped
		return res
	}
	if res.Namespace == "" {
		res.Namespace = a.Namespace
		obj = obj.DeepCopy()
		obj.SetNamespace(res.Namespace)
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		res.Err = fmt.Errorf("encode: %w", err)
		return res
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: "ebb-e2e-nsadmin", Force: &force}
	_, res.Err = a.Dynamic.Resource(m.Resource).Namespace(res.Namespace).Patch(ctx, res.Name, types.ApplyPatchType, data, opts)
	return res
}
