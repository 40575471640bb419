package cluster

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Scrape jobs whose targets callers set at run time (file_sd), see
// Cluster.SetScrapeTargets.
const (
	JobLoadApp = "loadapp" // the test's load app exporter; honor_labels keeps its namespace/pod labels
	JobEbb     = "ebb"     // ebb's own /metrics
)

// prometheusConfig renders prometheus.yml: 2 s scrapes, file_sd jobs for the
// load app and ebb (files in sdDir), kwok's per-node resource metrics and
// metrics-server's own /metrics (bearer admin token, TLS not verified).
func prometheusConfig(sdDir string, ports Ports, nodes []string, adminToken string) string {
	var b strings.Builder
	b.WriteString("global: {scrape_interval: 2s, evaluation_interval: 2s, scrape_timeout: 2s}\nscrape_configs:\n")
	for _, job := range []string{JobLoadApp, JobEbb} {
		fmt.Fprintf(&b, "- job_name: %s\n  honor_labels: %t\n  file_sd_configs: [{files: [%q], refresh_interval: 1s}]\n",
			job, job == JobLoadApp, filepath.Join(sdDir, job+".json"))
	}
	b.WriteString("- job_name: kwok\n  static_configs:\n")
	for _, n := range nodes {
		fmt.Fprintf(&b, "  - targets: ['127.0.0.1:%d']\n    labels: {node: %q, __metrics_path__: %q}\n",
			ports.Kwok, n, "/metrics/nodes/"+n+"/metrics/resource")
	}
	fmt.Fprintf(&b, "- job_name: metrics-server\n  scheme: https\n  tls_config: {insecure_skip_verify: true}\n"+
		"  authorization: {credentials: %q}\n  static_configs: [{targets: ['127.0.0.1:%d']}]\n", adminToken, ports.MetricsServer)
	return b.String()
}

// writeScrapeTargets atomically replaces the file_sd file of job.
func writeScrapeTargets(sdDir, job string, targets []string) error {
	if targets == nil {
		targets = []string{}
	}
	data, err := json.Marshal([]map[string]any{{"targets": targets, "labels": map[string]string{}}})
	if err != nil {
		return fmt.Errorf("encode %s targets: %w", job, err)
	}
	tmp := filepath.Join(sdDir, "."+job+".json.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s targets: %w", job, err)
	}
	if err := os.Rename(tmp, filepath.Join(sdDir, job+".json")); err != nil {
		return fmt.Errorf("install %s targets: %w", job, err)
	}
	return nil
}
