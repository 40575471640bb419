package tools

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// Object is one decoded Kubernetes manifest.
type Object map[string]any

// Kind is the object's kind.
func (o Object) Kind() string { s, _ := o["kind"].(string); return s }

// Name is metadata.name.
func (o Object) Name() string {
	m, _ := o["metadata"].(map[string]any)
	s, _ := m["name"].(string)
	return s
}

// String names the object as Kind/name.
func (o Object) String() string { return o.Kind() + "/" + o.Name() }

// Path reads a nested field, e.g. Path("spec", "template", "spec").
func (o Object) Path(keys ...string) any {
	var cur any = map[string]any(o)
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// SplitManifests decodes a multi-document YAML stream (kustomize build or
// helm template output), skipping empty documents. Every document must have
// apiVersion, kind and metadata.name.
func SplitManifests(data []byte) ([]Object, error) {
	var out []Object
	for i, doc := range docSeparator.Split(string(data), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var o Object
		if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if o["apiVersion"] == nil || o.Kind() == "" || o.Name() == "" {
			return nil, fmt.Errorf("document %d: apiVersion, kind and metadata.name are required, got %q", i, o.String())
		}
		out = append(out, o)
	}
	return out, nil
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// namespacedKinds are the kinds ebb's manifests may contain: all namespaced,
// so a namespace admin can apply them.
var namespacedKinds = []string{"ServiceAccount", "Role", "RoleBinding", "ConfigMap", "Deployment", "Service", "ServiceMonitor", "PodMonitor"}

// CheckNamespaceScoped fails for any object whose kind is not one of the
// known namespaced kinds (ClusterRole, CustomResourceDefinition, APIService,
// Namespace, webhooks...), or that sets a namespace other than want ("" for
// manifests that must leave the namespace to the installer).
func CheckNamespaceScoped(objs []Object, want string) error {
	var errs []error
	for _, o := range objs {
		if !slices.Contains(namespacedKinds, o.Kind()) {
			errs = append(errs, fmt.Errorf("%s: kind %s is not one of the namespaced kinds %v", o, o.Kind(), namespacedKinds))
		}
		if ns, _ := o.Path("metadata", "namespace").(string); ns != want {
			errs = append(errs, fmt.Errorf("%s: metadata.namespace %q, want %q", o, ns, want))
		}
	}
	return errors.Join(errs...)
}

// Find returns the one object of kind whose name ends with suffix.
func Find(objs []Object, kind, suffix string) (Object, error) {
	var found []Object
	for _, o := range objs {
		if o.Kind() == kind && strings.HasSuffix(o.Name(), suffix) {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("want exactly one %s named *%s, found %d", kind, suffix, len(found))
	}
	return found[0], nil
}
