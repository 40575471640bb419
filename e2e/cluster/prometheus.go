package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Scrape jobs whose targets callers add at run time (file_sd), see
// Cluster.AddScrapeTarget.
const (
	JobLoadApp = "loadapp" // a load app exporter; honor_labels keeps its namespace/pod labels
	JobEbb     = "ebb"     // ebb's own /metrics
)

// prometheusConfig renders prometheus.yml: 2 s scrapes, file_sd jobs for the
// load apps and ebbs (one file per registered target, sdDir/<job>-<id>.json,
// so tests running in parallel each add and remove their own), kwok's
// per-node resource metrics and metrics-server's own /metrics (bearer admin
// token, TLS not verified). Load app series of a Deployment's pods get a
// service label named like the Deployment.
func prometheusConfig(sdDir string, ports Ports, nodes []string, adminToken string) string {
	var b strings.Builder
	b.WriteString("global: {scrape_interval: 2s, evaluation_interval: 2s, scrape_timeout: 2s}\nscrape_configs:\n")
	for _, job := range []string{JobLoadApp, JobEbb} {
		fmt.Fprintf(&b, "- job_name: %s\n  honor_labels: %t\n  file_sd_configs: [{files: [%q], refresh_interval: 1s}]\n",
			job, job == JobLoadApp, filepath.Join(sdDir, job+"-*.json"))
		if job == JobLoadApp {
			// A Deployment's pods (<deployment>-<hash>-<suffix>) get the label
			// service=<deployment>: prometheus-adapter's Object metric on a
			// Service named like its Deployment (adapter/rules.yaml).
			b.WriteString("  metric_relabel_configs:\n  - {source_labels: [pod], regex: '(.+)-[a-z0-9]+-[a-z0-9]+', target_label: service, replacement: '$1'}\n")
		}
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

// scrapeIDPattern is what a scrape target id may hold (it becomes a file name).
var scrapeIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// sdFile is the file_sd file of one registration.
func sdFile(sdDir, job, id string) (string, error) {
	if job != JobLoadApp && job != JobEbb {
		return "", fmt.Errorf("scrape job %q: want %q or %q", job, JobLoadApp, JobEbb)
	}
	if !scrapeIDPattern.MatchString(id) {
		return "", fmt.Errorf("scrape target id %q: want letters, digits, '.', '_' or '-'", id)
	}
	return filepath.Join(sdDir, job+"-"+id+".json"), nil
}

// writeScrapeTarget atomically writes the file_sd file of registration id
// of job: one target group holding addr, with labels.
func writeScrapeTarget(sdDir, job, id, addr string, labels map[string]string) error {
	path, err := sdFile(sdDir, job, id)
	if err != nil {
		return err
	}
	if labels == nil {
		labels = map[string]string{}
	}
	data, err := json.Marshal([]map[string]any{{"targets": []string{addr}, "labels": labels}})
	if err != nil {
		return fmt.Errorf("encode %s target %s: %w", job, id, err)
	}
	tmp := filepath.Join(sdDir, "."+job+"-"+id+".json.tmp") // hidden: the glob does not match it
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s target %s: %w", job, id, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("install %s target %s: %w", job, id, err)
	}
	return nil
}

// removeScrapeTarget deletes the file_sd file of registration id of job; a
// missing file is not an error.
func removeScrapeTarget(sdDir, job, id string) error {
	path, err := sdFile(sdDir, job, id)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s target %s: %w", job, id, err)
	}
	return nil
}
