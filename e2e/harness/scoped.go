package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// EbbServiceAccount is the identity ebb runs with in a test namespace.
const EbbServiceAccount = "ebb"

// ReadRole reads the Role ebb ships (deploy/kustomize/role.yaml): the first
// YAML document of kind Role in the file.
func ReadRole(path string) (*rbacv1.Role, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ebb's Role (written by the deploy/ owner): %w", err)
	}
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		var r rbacv1.Role
		if err := yaml.Unmarshal(doc, &r); err != nil {
			return nil, fmt.Errorf("decode %s: %w", path, err)
		}
		if r.Kind == "Role" {
			return &r, nil
		}
	}
	return nil, fmt.Errorf("%s holds no document of kind Role", path)
}

// ignoreExists maps AlreadyExists to nil (create-or-keep).
func ignoreExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// ScopedKubeconfig creates ServiceAccount "ebb" in ns, the Role from rolePath
// (its namespace replaced by ns), a RoleBinding of the two, requests a token
// for the ServiceAccount (valid 2 h) and writes a kubeconfig using it to
// dir/ebb-<ns>.kubeconfig, whose path it returns. The identity has no
// cluster-scoped permission at all. Objects that already exist are kept (the
// Role is updated), so a demo namespace can be reused.
func (e *Env) ScopedKubeconfig(ctx context.Context, ns, rolePath, dir string) (string, error) {
	return e.ScopedKubeconfigAs(ctx, ns, EbbServiceAccount, rolePath, dir)
}

// ScopedKubeconfigAs is ScopedKubeconfig for ServiceAccount sa: a second
// identity of the namespace (the read-only one of `ebb report`, say) with
// its own Role and binding, written to dir/<sa>-<ns>.kubeconfig. Its Role
// must be named apart from the other identities' Roles (the binding takes
// the Role's name).
func (e *Env) ScopedKubeconfigAs(ctx context.Context, ns, sa, rolePath, dir string) (string, error) {
	role, err := ReadRole(rolePath)
	if err != nil {
		return "", err
	}
	role.Namespace, role.ResourceVersion, role.UID = ns, "", ""
	acct := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}}
	if _, err := e.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, acct, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return "", fmt.Errorf("create serviceaccount %s/%s: %w", ns, sa, err)
	}
	_, err = e.Kube.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = e.Kube.RbacV1().Roles(ns).Update(ctx, role, metav1.UpdateOptions{})
	}
	if err != nil {
		return "", fmt.Errorf("create role %s/%s from %s: %w", ns, role.Name, rolePath, err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name, Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: ns}},
	}
	if _, err := e.Kube.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return "", fmt.Errorf("create rolebinding %s/%s: %w", ns, rb.Name, err)
	}
	exp := int64(7200)
	tr, err := e.Kube.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("request token for %s/%s: %w", ns, sa, err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{Server: e.Cluster.Server(), CertificateAuthority: e.Cluster.CAFile()}
	cfg.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: sa, Namespace: ns}
	cfg.CurrentContext = "e2e"
	path := filepath.Join(dir, sa+"-"+ns+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", fmt.Errorf("write scoped kubeconfig: %w", err)
	}
	return path, nil
}
