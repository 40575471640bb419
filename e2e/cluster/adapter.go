package cluster

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// AdapterName is the component name of prometheus-adapter.
const AdapterName = "prometheus-adapter"

// adapterRules is the adapter's rules file: the load app's request rate as a
// Pods metric, an Object metric on a Service and an External metric, all
// named http_requests_per_second.
//
//go:embed adapter/rules.yaml
var adapterRules []byte

// adapterAPIServices are the APIServices the adapter serves, registered like
// metrics-server's (recipe §5): an ExternalName Service in front of
// 127.0.0.1 and insecureSkipTLSVerify.
var adapterAPIServices = []struct{ group, version string }{
	{"custom.metrics.k8s.io", "v1beta1"},
	{"custom.metrics.k8s.io", "v1beta2"},
	{"external.metrics.k8s.io", "v1beta1"},
}

// StartAdapter starts prometheus-adapter (BinDir/prometheus-adapter, built
// by `build.sh adapter`) against the cluster's Prometheus with the rules of
// adapter/rules.yaml, registers it behind the aggregation layer for
// custom.metrics.k8s.io and external.metrics.k8s.io, and waits until every
// APIService is Available. It is not part of Up: only the tests that read
// the metrics APIs pay for it. StopComponent(AdapterName) stops it (fault
// injection), StartComponent(ctx, AdapterName) brings it back, Down stops it.
func (c *Cluster) StartAdapter(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.opts.BinDir, AdapterName)); err != nil {
		return fmt.Errorf("prometheus-adapter: %w (run `e2e/cluster/build.sh adapter`)", err)
	}
	if c.opts.NoPrometheus {
		return fmt.Errorf("prometheus-adapter needs the cluster's Prometheus (NoPrometheus is set)")
	}
	if c.State.Ports.Adapter == 0 {
		p, err := freePorts(1)
		if err != nil {
			return err
		}
		c.State.Ports.Adapter = p[0]
	}
	if err := os.WriteFile(c.adapterRulesPath(), adapterRules, 0o644); err != nil {
		return fmt.Errorf("write adapter rules: %w", err)
	}
	if err := c.createAdapterObjects(ctx); err != nil {
		return err
	}
	if err := c.StartComponent(ctx, AdapterName); err != nil {
		return err
	}
	for _, as := range adapterAPIServices {
		if err := c.waitAPIServiceNamed(ctx, as.version+"."+as.group, AdapterName); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) adapterRulesPath() string { return filepath.Join(c.Dir, "adapter-rules.yaml") }

func (c *Cluster) adapterComponent() component {
	kc, k := c.AdminKubeconfig(), c.pki.Path
	return component{AdapterName, filepath.Join(c.opts.BinDir, AdapterName), []string{
		"--lister-kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--bind-address", "127.0.0.1", "--secure-port", itoa(c.State.Ports.Adapter),
		"--tls-cert-file", k("serving.crt"), "--tls-private-key-file", k("serving.key"),
		"--prometheus-url", c.PrometheusURL(), "--config", c.adapterRulesPath(),
		// New series (a new load app, new pods' Service label) are found
		// within seconds, not the default 10 minutes.
		"--metrics-relist-interval", "5s", "--metrics-max-age", "1m",
	}}
}

// createAdapterObjects creates the ExternalName Service kube-system/
// prometheus-adapter and the adapter's APIServices.
func (c *Cluster) createAdapterObjects(ctx context.Context) error {
	kc, dc, err := c.AdminClients()
	if err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: AdapterName, Namespace: "kube-system"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "127.0.0.1"},
	}
	if _, err := kc.CoreV1().Services("kube-system").Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create %s service: %w", AdapterName, err)
	}
	for _, a := range adapterAPIServices {
		name := a.version + "." + a.group
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
			"metadata": map[string]any{"name": name},
			"spec": map[string]any{
				"group": a.group, "version": a.version,
				"service":               map[string]any{"namespace": "kube-system", "name": AdapterName, "port": int64(c.State.Ports.Adapter)},
				"insecureSkipTLSVerify": true, "groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			},
		}}
		if _, err := dc.Resource(apiServiceGVR).Create(ctx, obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create APIService %s: %w", name, err)
		}
	}
	return nil
}
