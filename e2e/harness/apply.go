package harness

import (
	"bytes"
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// ApplyYAML server-side-applies every document of a multi-document YAML
// stream (kustomize or helm output) with the admin identity; namespaced
// objects without a namespace go to defaultNamespace. Documents are applied
// in order; a CR may follow its CRD (discovery is refreshed once on a miss,
// but the CRD must be Established first: apply them in two calls if not).
func (e *Env) ApplyYAML(ctx context.Context, data []byte, defaultNamespace string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for i, doc := range bytes.Split(data, []byte("\n---")) {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			return out, fmt.Errorf("decode YAML document %d: %w", i, err)
		}
		if len(obj.Object) == 0 {
			continue // empty document or comments only
		}
		applied, err := e.applyObject(ctx, obj, defaultNamespace)
		if err != nil {
			return out, fmt.Errorf("document %d (%s %s): %w", i, obj.GetKind(), obj.GetName(), err)
		}
		out = append(out, applied)
	}
	return out, nil
}

func (e *Env) applyObject(ctx context.Context, obj *unstructured.Unstructured, defaultNamespace string) (*unstructured.Unstructured, error) {
	gvk := obj.GroupVersionKind()
	m, err := e.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		e.Mapper.Reset() // a CRD applied just before: refresh discovery once
		m, err = e.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", gvk, err)
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	force := true
	opts := metav1.PatchOptions{FieldManager: "ebb-e2e", Force: &force}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = defaultNamespace
		}
		return e.Dynamic.Resource(m.Resource).Namespace(ns).Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
	}
	return e.Dynamic.Resource(m.Resource).Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
}
