package metricsapi

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	customclient "k8s.io/metrics/pkg/client/custom_metrics"
	externalclient "k8s.io/metrics/pkg/client/external_metrics"

	"github.com/ebb-autoscaler/ebb/metricsource"
)

// NewCustomMetricsClient returns the custom metrics client kube-controller-manager gives
// the HPA controller: it asks discovery for the preferred custom.metrics.k8s.io version
// (cached until Invalidate) and maps kinds to resources with mapper. Call
// customclient.PeriodicallyInvalidate on the returned getter once per sync period, as
// kube-controller-manager does, so an adapter installed, removed or upgraded later is
// seen. A custom metrics group missing from discovery is ErrUnavailable.
func NewCustomMetricsClient(cfg *rest.Config, mapper meta.RESTMapper, disc discovery.DiscoveryInterface) (customclient.CustomMetricsClient, customclient.AvailableAPIsGetter) {
	apis := unavailableOnError{customclient.NewAvailableAPIsGetter(disc)}
	return customclient.NewForConfig(rest.CopyConfig(cfg), mapper, apis), apis
}

// NewExternalMetricsClient returns the external.metrics.k8s.io client the HPA uses.
func NewExternalMetricsClient(cfg *rest.Config) (externalclient.ExternalMetricsClient, error) {
	c, err := externalclient.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("external metrics client: %w", err)
	}
	return c, nil
}

// unavailableOnError marks a failed discovery of the custom metrics API
// (not registered, or discovery unreachable) as ErrUnavailable.
type unavailableOnError struct {
	customclient.AvailableAPIsGetter
}

func (u unavailableOnError) PreferredVersion() (schema.GroupVersion, error) {
	gv, err := u.AvailableAPIsGetter.PreferredVersion()
	if err != nil {
		return gv, fmt.Errorf("discover custom.metrics.k8s.io: %w: %w", metricsource.ErrUnavailable, err)
	}
	return gv, nil
}
