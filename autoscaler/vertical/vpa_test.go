package vertical

import (
	"errors"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	discoveryfake "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
)

// vpa is a VerticalPodAutoscaler of testNS targeting apiVersion/kind/name;
// mode "" leaves updatePolicy out (Auto).
func vpa(name, apiVersion, kind, target, mode string) *unstructured.Unstructured {
	spec := map[string]any{"targetRef": map[string]any{"apiVersion": apiVersion, "kind": kind, "name": target}}
	if mode != "" {
		spec["updatePolicy"] = map[string]any{"updateMode": mode}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
		"metadata": map[string]any{"name": name, "namespace": testNS}, "spec": spec}}
}

// vpaAPI is a fake discovery that serves the VPA API when served is true.
func vpaAPI(served bool) *discoveryfake.FakeDiscovery {
	d := &discoveryfake.FakeDiscovery{Fake: &clienttesting.Fake{}}
	if served {
		d.Resources = []*metav1.APIResourceList{{GroupVersion: "autoscaling.k8s.io/v1",
			APIResources: []metav1.APIResource{{Name: "verticalpodautoscalers", Namespaced: true, Kind: "VerticalPodAutoscaler"}}}}
	}
	return d
}

func newDynamic(objs ...runtime.Object) *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{VPAResource: "VerticalPodAutoscalerList"}, objs...)
}

func TestVPAConflict(t *testing.T) {
	deploy := schema.GroupKind{Group: "apps", Kind: "Deployment"}
	for _, tc := range []struct {
		name string
		vpas []runtime.Object
		want string
	}{
		{name: "no VPA", want: ""},
		{name: "Auto", vpas: []runtime.Object{vpa("web", "apps/v1", "Deployment", "web", "Auto")}, want: "web"},
		{name: "no updatePolicy is Auto", vpas: []runtime.Object{vpa("web", "apps/v1", "Deployment", "web", "")}, want: "web"},
		{name: "Initial changes requests too", vpas: []runtime.Object{vpa("web", "apps/v1", "Deployment", "web", "Initial")}, want: "web"},
		{name: "InPlaceOrRecreate", vpas: []runtime.Object{vpa("web", "apps/v1", "Deployment", "web", "InPlaceOrRecreate")}, want: "web"},
		{name: "Off only recommends", vpas: []runtime.Object{vpa("web", "apps/v1", "Deployment", "web", "Off")}},
		{name: "another workload", vpas: []runtime.Object{vpa("api", "apps/v1", "Deployment", "api", "Auto")}},
		{name: "another kind of the same name", vpas: []runtime.Object{vpa("web", "apps/v1", "StatefulSet", "web", "Auto")}},
		{name: "another group", vpas: []runtime.Object{vpa("web", "argoproj.io/v1alpha1", "Deployment", "web", "Auto")}},
		{name: "the first by name of several", vpas: []runtime.Object{vpa("web-b", "apps/v1", "Deployment", "web", "Auto"),
			vpa("web-a", "apps/v1", "Deployment", "web", "Recreate")}, want: "web-a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := DiscoverVPAs(t.Context(), vpaAPI(true), newDynamic(tc.vpas...), testNS, 5*time.Second)
			if v == nil {
				t.Fatal("DiscoverVPAs() = nil, want a watcher")
			}
			got, err := v.Conflict(deploy, "web")
			if err != nil || got != tc.want {
				t.Errorf("Conflict() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestVPAAPIAbsentOrForbidden(t *testing.T) {
	v := DiscoverVPAs(t.Context(), vpaAPI(false), newDynamic(), testNS, time.Second)
	if v != nil {
		t.Fatalf("no VPA API: DiscoverVPAs() = %v, want nil", v)
	}
	if got, err := v.Conflict(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web"); got != "" || err != nil {
		t.Errorf("nil VPAs: Conflict() = %q, %v; want no conflict", got, err)
	}

	dyn := newDynamic()
	dyn.PrependReactor("list", "verticalpodautoscalers", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(VPAResource.GroupResource(), "", errors.New("no rule"))
	})
	v = DiscoverVPAs(t.Context(), vpaAPI(true), dyn, testNS, 100*time.Millisecond)
	if _, err := v.Conflict(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web"); !errors.Is(err, ErrVPAsUnknown) {
		t.Errorf("forbidden: Conflict() error = %v, want ErrVPAsUnknown", err)
	}

	broken := vpaAPI(true)
	broken.PrependReactor("get", "resource", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("connection refused")
	})
	v = DiscoverVPAs(t.Context(), broken, newDynamic(), testNS, time.Second)
	if _, err := v.Conflict(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web"); err == nil {
		t.Error("discovery failed: Conflict() = no error, want the discovery error (unknown, never no conflict)")
	}
}
