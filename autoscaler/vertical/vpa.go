package vertical

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
)

// VPAResource is the VerticalPodAutoscaler API ebb looks for. ebb does not
// depend on the VPA's client: it reads the two fields it needs from the
// dynamic client's unstructured objects.
var VPAResource = schema.GroupVersionResource{Group: "autoscaling.k8s.io", Version: "v1", Resource: "verticalpodautoscalers"}

// VPAs finds VerticalPodAutoscalers that change the requests of a target:
// any update mode but Off (Auto, Recreate, InPlaceOrRecreate, Initial; a
// VPA without updatePolicy is Auto). Two writers of one pod template or of
// pods' requests fight, so such a target is a vertical conflict, handled
// like the HPA conflict: ebb stays in dry-run for its vertical side.
type VPAs struct {
	informer cache.SharedIndexInformer
	lister   cache.GenericNamespaceLister
	err      error // discovery failed: every answer is unknown
}

// DiscoverVPAs returns a watcher of namespace's VerticalPodAutoscalers, or
// nil when the cluster serves no autoscaling.k8s.io/v1
// verticalpodautoscalers (no VPA installed: nothing can conflict; the API
// is looked up once, at start). The informer runs until ctx is done; its
// first list is awaited at most syncTimeout, after which Conflict reports
// the API as unknown until it syncs (e.g. while ebb's Role lacks list and
// watch on verticalpodautoscalers). When discovery itself fails, every
// Conflict answer is that error: unknown, never "no conflict".
func DiscoverVPAs(ctx context.Context, disc discovery.DiscoveryInterface, dyn dynamic.Interface, namespace string, syncTimeout time.Duration) *VPAs {
	list, err := disc.ServerResourcesForGroupVersion(VPAResource.GroupVersion().String())
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return &VPAs{err: fmt.Errorf("discover %s: %w", VPAResource.GroupVersion(), err)}
	}
	if !slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == VPAResource.Resource }) {
		return nil
	}
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 10*time.Minute, namespace, nil)
	gi := f.ForResource(VPAResource)
	v := &VPAs{informer: gi.Informer(), lister: gi.Lister().ByNamespace(namespace)}
	f.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	cache.WaitForCacheSync(syncCtx.Done(), v.informer.HasSynced)
	return v
}

// ErrVPAsUnknown means the VerticalPodAutoscalers could not be listed yet.
var ErrVPAsUnknown = errors.New("verticalpodautoscalers.autoscaling.k8s.io not listed yet " +
	"(ebb's Role needs get, list and watch on them)")

// Conflict returns the name of a VerticalPodAutoscaler of the namespace
// whose targetRef is group/kind/name and whose update mode is not Off, or
// "". A nil VPAs (no VPA API) never conflicts.
func (v *VPAs) Conflict(gk schema.GroupKind, name string) (string, error) {
	if v == nil {
		return "", nil
	}
	if v.err != nil {
		return "", v.err
	}
	if !v.informer.HasSynced() {
		return "", ErrVPAsUnknown
	}
	objs, err := v.lister.List(labels.Everything())
	if err != nil {
		return "", fmt.Errorf("list verticalpodautoscalers: %w", err)
	}
	var found []string
	for _, o := range objs {
		u, ok := o.(*unstructured.Unstructured)
		if ok && actuates(u, gk, name) {
			found = append(found, u.GetName())
		}
	}
	slices.Sort(found)
	if len(found) == 0 {
		return "", nil
	}
	return found[0], nil
}

// actuates reports whether VPA u targets gk/name with an update mode that
// changes requests.
func actuates(u *unstructured.Unstructured, gk schema.GroupKind, name string) bool {
	apiVersion, _, _ := unstructured.NestedString(u.Object, "spec", "targetRef", "apiVersion")
	kind, _, _ := unstructured.NestedString(u.Object, "spec", "targetRef", "kind")
	target, _, _ := unstructured.NestedString(u.Object, "spec", "targetRef", "name")
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil || gv.Group != gk.Group || kind != gk.Kind || target != name {
		return false
	}
	mode, found, _ := unstructured.NestedString(u.Object, "spec", "updatePolicy", "updateMode")
	return !found || mode != "Off"
}
