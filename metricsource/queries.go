package metricsource

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"sigs.k8s.io/yaml"
)

// CPUUsageQuery is the PromQL for per-container CPU usage in cores of the
// pods matching podRegex (a PodRegex value) in namespace, from the cAdvisor
// counter container_cpu_usage_seconds_total, as a rate over rateWindow.
func CPUUsageQuery(namespace, podRegex string, rateWindow time.Duration) string {
	return fmt.Sprintf(`sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{namespace="%s",pod=~"%s",container!="",container!="POD"}[%s]))`,
		escapePromQLString(namespace), podRegex, model.Duration(rateWindow))
}

// MemoryWorkingSetQuery is the PromQL for per-container working-set memory
// in bytes (container_memory_working_set_bytes, what the kubelet evicts on).
func MemoryWorkingSetQuery(namespace, podRegex string) string {
	return fmt.Sprintf(`max by (namespace, pod, container) (container_memory_working_set_bytes{namespace="%s",pod=~"%s",container!="",container!="POD"})`,
		escapePromQLString(namespace), podRegex)
}

// PodCPURequestQuery is the PromQL for the CPU request (cores) of each pod
// matching podRegex (a PodRegex value) in namespace, from kube-state-metrics'
// kube_pod_container_resource_requests summed over the pod's containers.
func PodCPURequestQuery(namespace, podRegex string) string {
	return fmt.Sprintf(`sum by (namespace, pod) (kube_pod_container_resource_requests{namespace="%s",pod=~"%s",resource="cpu"})`,
		escapePromQLString(namespace), podRegex)
}

// WorkloadReplicasQuery is the PromQL for a kube-state-metrics workload
// series (e.g. kube_deployment_status_replicas) of every workload of
// namespace: one query serves all the namespace's targets.
func WorkloadReplicasQuery(metric, namespace string) string {
	return fmt.Sprintf(`max by (namespace, %s) (%s{namespace="%s"})`, workloadLabel(metric), metric, escapePromQLString(namespace))
}

// workloadLabel is the label naming the workload in a kube-state-metrics
// workload metric: "deployment" for kube_deployment_*, "statefulset" for
// kube_statefulset_*, ...
func workloadLabel(metric string) string {
	rest, _ := strings.CutPrefix(metric, "kube_")
	kind, _, _ := strings.Cut(rest, "_")
	return kind
}

// DecodeHTTPConfig decodes the policy file's prometheus.httpConfig (a
// generic map, written like Prometheus' own http client settings:
// tls_config, bearer_token_file, basic_auth, authorization, proxy_url, …)
// into config.HTTPClientConfig and validates it. Nil or empty gives
// Prometheus' defaults.
func DecodeHTTPConfig(m map[string]any) (config.HTTPClientConfig, error) {
	if len(m) == 0 {
		return config.DefaultHTTPClientConfig, nil
	}
	raw, err := yaml.Marshal(m)
	if err != nil {
		return config.HTTPClientConfig{}, fmt.Errorf("httpConfig: %w", err)
	}
	cfg, err := config.LoadHTTPConfig(string(raw))
	if err != nil {
		return config.HTTPClientConfig{}, fmt.Errorf("httpConfig: %w", err)
	}
	return *cfg, nil
}
