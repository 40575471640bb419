package harness

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ScalableGVR is the custom resource of ScalableCRD: a kind with a scale
// subresource and no controller, for scale-through-/scale tests.
var ScalableGVR = schema.GroupVersionResource{Group: "e2e.ebb.dev", Version: "v1", Resource: "scalables"}

// ScalableCRD defines kind Scalable (group e2e.ebb.dev/v1) with a scale
// subresource: spec.replicas, status.replicas, status.selector.
const ScalableCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: scalables.e2e.ebb.dev
spec:
  group: e2e.ebb.dev
  scope: Namespaced
  names: {plural: scalables, singular: scalable, kind: Scalable}
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale:
        specReplicasPath: .spec.replicas
        statusReplicasPath: .status.replicas
        labelSelectorPath: .status.selector
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              replicas: {type: integer}
              selector: {type: string}
          status:
            type: object
            properties:
              replicas: {type: integer}
              selector: {type: string}
`

// ScalableCR is a Scalable named name with replicas whose pods would match
// app=<app>.
func ScalableCR(name string, replicas int32, app string) string {
	return fmt.Sprintf("apiVersion: e2e.ebb.dev/v1\nkind: Scalable\nmetadata: {name: %s}\nspec: {replicas: %d, selector: \"app=%s\"}\n", name, replicas, app)
}

// InstallScalable applies ScalableCRD and waits until a Scalable can be
// created in ns (the CRD is Established and discovery knows it).
func (e *Env) InstallScalable(ctx context.Context, ns, name string, replicas int32, app string) error {
	if _, err := e.ApplyYAML(ctx, []byte(ScalableCRD), ""); err != nil {
		return err
	}
	return Eventually(ctx, "Scalable "+name+" created", 30*time.Second, 200*time.Millisecond, func(ctx context.Context) error {
		e.Mapper.Reset()
		_, err := e.ApplyYAML(ctx, []byte(ScalableCR(name, replicas, app)), ns)
		return err
	})
}
