package metricsource

import (
	"fmt"
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
