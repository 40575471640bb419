// Package harness is what ebb's e2e tests use on top of package e2e/cluster:
// clients, workloads (Deployments, StatefulSets, raw YAML), waits on
// readiness, metrics.k8s.io and Prometheus, the namespace-scoped identity ebb
// runs with, the load drivers (request rate and CPU) and ebb as a real
// process. Every wait polls with a timeout and says what it last saw.
package harness

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/ebb-autoscaler/ebb/e2e/cluster"
)

// Env is a running cluster with admin clients.
type Env struct {
	Cluster *cluster.Cluster
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	Metrics metricsclient.Interface
	Mapper  *restmapper.DeferredDiscoveryRESTMapper
}

// NewEnv builds admin clients for c.
func NewEnv(c *cluster.Cluster) (*Env, error) {
	cfg, err := cluster.RESTConfig(c.AdminKubeconfig())
	if err != nil {
		return nil, err
	}
	// One admin client serves every test running in parallel (watchers
	// every 250 ms, load drivers every 500 ms, waits every 100 ms): a
	// client-side limit would delay them all and skew their timings.
	cfg.QPS, cfg.Burst = 1000, 2000
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube client: %w", err)
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	mc, err := metricsclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("metrics client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	return &Env{Cluster: c, Kube: kc, Dynamic: dc, Metrics: mc, Mapper: mapper}, nil
}

// Eventually calls check every interval until it returns nil or timeout
// passes; the error names what and the last failure.
func Eventually(ctx context.Context, what string, timeout, interval time.Duration, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not true after %s: last: %w", what, timeout, err)
		case <-time.After(interval):
		}
	}
}
