package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/scale"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	customclient "k8s.io/metrics/pkg/client/custom_metrics"
	externalclient "k8s.io/metrics/pkg/client/external_metrics"

	"github.com/ebb-autoscaler/ebb/metricsource"
	"github.com/ebb-autoscaler/ebb/metricsource/metricsapi"
)

// clusterOptions are the flags of every command that talks to a cluster:
// kubectl's connection flags (--kubeconfig, --context, -n/--namespace,
// --as, …) from cli-runtime, resolved exactly as kubectl resolves them
// ($KUBECONFIG, the current context and its namespace; the pod's service
// account and namespace when running in a cluster with no kubeconfig), plus
// ebb's client rate limits and log level.
type clusterOptions struct {
	kube     *genericclioptions.ConfigFlags
	qps      float64
	burst    int
	timeout  time.Duration
	logLevel string
}

func newClusterOptions() *clusterOptions {
	kube := genericclioptions.NewConfigFlags(true)
	kube.CacheDir = nil // ebb keeps discovery in memory; no --cache-dir
	return &clusterOptions{kube: kube, qps: 50, burst: 100, timeout: 10 * time.Second, logLevel: "info"}
}

// connectionFlag annotates the flags the help lists under "Kubernetes
// connection flags".
const connectionFlag = "ebb_connection_flag"

// addFlags adds the connection flags and --log-level to cmd, and a usage
// that lists the connection flags apart from the command's own.
func (o *clusterOptions) addFlags(cmd *cobra.Command) {
	conn := pflag.NewFlagSet("connection", pflag.ContinueOnError)
	o.kube.AddFlags(conn)
	conn.Float64Var(&o.qps, "kube-api-qps", o.qps, "queries per second to the API server (Deployments, StatefulSets and ReplicaSets come from informers; one scale GET per pass per target of another kind)")
	conn.IntVar(&o.burst, "kube-api-burst", o.burst, "burst of queries to the API server")
	conn.DurationVar(&o.timeout, "kube-api-timeout", o.timeout, "timeout of every API request (watches excepted)")
	conn.VisitAll(func(f *pflag.Flag) {
		f.Annotations = map[string][]string{connectionFlag: {"true"}}
	})
	cmd.Flags().AddFlagSet(conn)
	cmd.Flags().StringVar(&o.logLevel, "log-level", o.logLevel, "log level: debug, info, warn, error")
	cmd.SetUsageFunc(clusterUsage)
}

// clusterUsage is the usage of a command that talks to a cluster: cobra's
// layout with the connection flags after the command's own.
func clusterUsage(c *cobra.Command) error {
	own := pflag.NewFlagSet("own", pflag.ContinueOnError)
	conn := pflag.NewFlagSet("connection", pflag.ContinueOnError)
	c.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if _, ok := f.Annotations[connectionFlag]; ok {
			conn.AddFlag(f)
		} else {
			own.AddFlag(f)
		}
	})
	w := c.OutOrStderr()
	fmt.Fprintf(w, "Usage:\n  %s\n", c.UseLine())
	if c.HasExample() {
		fmt.Fprintf(w, "\nExamples:\n%s\n", c.Example)
	}
	fmt.Fprintf(w, "\nFlags:\n%s", own.FlagUsages())
	_, err := fmt.Fprintf(w, "\nKubernetes connection flags (as kubectl's; $KUBECONFIG and the current context apply):\n%s", conn.FlagUsages())
	return err
}

// validate checks the flags that need no cluster.
func (o *clusterOptions) validate() error {
	if _, err := parseLevel(o.logLevel); err != nil {
		return err
	}
	if o.qps <= 0 || o.burst <= 0 {
		return fmt.Errorf("--kube-api-qps %g, --kube-api-burst %d: both must be greater than 0", o.qps, o.burst)
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--kube-api-timeout %v: must be greater than 0", o.timeout)
	}
	return nil
}

// resolve returns the REST config and namespace the flags select, as
// kubectl would: --kubeconfig, else $KUBECONFIG, else ~/.kube/config, else
// the in-cluster service account; --context, else the current context;
// -n, else the context's namespace, else the pod's namespace in a cluster,
// else "default". It contacts nothing.
func (o *clusterOptions) resolve() (*rest.Config, string, error) {
	loader := o.kube.ToRawKubeConfigLoader()
	ns, _, err := loader.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("namespace: %w", err)
	}
	cfg, err := o.kube.ToRESTConfig()
	if err != nil {
		return nil, "", fmt.Errorf("kubernetes config: %w", err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "ebb"
	cfg.QPS, cfg.Burst = float32(o.qps), o.burst
	cfg.Timeout = o.timeout
	return cfg, ns, nil
}

// kubeClient resolves the flags and returns a client and the namespace;
// a resolution error is bad input, a client error a failure.
func (o *clusterOptions) kubeClient() (kubernetes.Interface, string, error) {
	cfg, ns, err := o.resolve()
	if err != nil {
		return nil, "", badInput(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", failure(fmt.Errorf("kubernetes client: %w", err))
	}
	return kube, ns, nil
}

// parseLevel parses a --log-level value.
func parseLevel(level string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return l, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return l, nil
}

// newLogger returns a JSON slog logger at level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	l, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// clients are the API clients ebb uses. Every request has cfg.Timeout
// (--kube-api-timeout) except the informers' long-running watches, which
// use watch: the same config without it.
type clients struct {
	kube    kubernetes.Interface
	watch   kubernetes.Interface // for informers: no client timeout
	metrics metricsclient.Interface
	scales  scale.ScalesGetter
	mapper  meta.RESTMapper // a DeferredDiscoveryRESTMapper in production
	// custom and external read the metrics APIs (as the HPA does);
	// customVersions is the custom metrics client's discovery cache.
	custom         customclient.CustomMetricsClient
	customVersions customclient.AvailableAPIsGetter
	external       externalclient.ExternalMetricsClient
	// disc and dynWatch find and watch VerticalPodAutoscalers
	// (autoscaling.k8s.io) if the cluster serves them; nil disc skips the
	// lookup. dynWatch has no client timeout (its informer watches).
	disc     discovery.DiscoveryInterface
	dynWatch dynamic.Interface
}

func newClients(cfg *rest.Config) (*clients, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	wcfg := rest.CopyConfig(cfg)
	wcfg.Timeout = 0 // a watch lasts minutes; client-go bounds it with timeoutSeconds
	watch, err := kubernetes.NewForConfig(wcfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
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
	scales, err := scale.NewForConfig(rest.CopyConfig(cfg), mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(disc))
	if err != nil {
		return nil, fmt.Errorf("scale client: %w", err)
	}
	dynWatch, err := dynamic.NewForConfig(wcfg)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	c := &clients{kube: kube, watch: watch, metrics: mc, scales: scales, mapper: mapper, disc: disc, dynWatch: dynWatch}
	// The metrics APIs' clients take no context: bound each call.
	mcfg := rest.CopyConfig(cfg)
	mcfg.Timeout = metricsource.DefaultTimeout
	c.custom, c.customVersions = metricsapi.NewCustomMetricsClient(mcfg, mapper, disc)
	if c.external, err = metricsapi.NewExternalMetricsClient(mcfg); err != nil {
		return nil, err
	}
	return c, nil
}
