package tools

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// repoRoot is ebb's checkout, two levels above this module.
const repoRoot = "../.."

func samples() map[string]string {
	return map[string]string{
		"datasource": "prometheus", "namespace": "shop", "target": "Deployment/web", "container": "app",
		"__rate_interval": "1m", "__interval": "15s", "__range": "1h",
	}
}

func loadDocs(t *testing.T) map[string]MetricDoc {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	docs, err := ParseMetricsDoc(f)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func loadDashboard(t *testing.T, path string) Dashboard {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDashboard(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

func TestShippedDashboards(t *testing.T) {
	docs := loadDocs(t)
	for _, tc := range []struct {
		file      string
		variables []string
		mustUse   []string // the panels the issue asks for, by the metric they chart
	}{
		{
			file:      "overview.json",
			variables: []string{"namespace", "target"},
			mustUse: []string{
				"ebb_actuations_total", "ebb_applied_replicas", "ebb_current_replicas", "ebb_decision_reason",
				"ebb_desired_replicas", "ebb_pass_duration_seconds", "ebb_metric_target", "ebb_metric_value",
				"ebb_recommended_replicas", "ebb_source_errors_total", "ebb_stabilized_total",
				"ebb_forecast_demand", "ebb_forecast_observed_demand", "ebb_forecast_replicas", "ebb_forecast_error",
				"ebb_forecast_gate_open",
			},
		},
		{
			file:      "vertical.json",
			variables: []string{"namespace", "target", "container"},
			mustUse: []string{
				"ebb_vertical_recommendation_cpu_cores", "ebb_vertical_recommendation_memory_bytes",
				"ebb_vertical_request_cpu_cores", "ebb_vertical_request_memory_bytes",
				"ebb_vertical_usage_cpu_cores", "ebb_vertical_usage_memory_bytes",
			},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			d := loadDashboard(t, filepath.Join(repoRoot, "deploy", "grafana", tc.file))
			req := Requirements{MinSchemaVersion: 39, Variables: tc.variables, Samples: samples()}
			used, err := CheckDashboard(d, req, docs)
			if err != nil {
				t.Fatal(err)
			}
			var missing []string
			for _, m := range tc.mustUse {
				if !slices.Contains(used, m) {
					missing = append(missing, m)
				}
			}
			if diff := cmp.Diff([]string(nil), missing); diff != "" {
				t.Errorf("metrics no panel charts (-want +got):\n%s", diff)
			}
		})
	}
}

// The chart cannot read files outside its folder, so it carries copies.
func TestHelmDashboardsMatchGrafana(t *testing.T) {
	for _, tc := range []struct{ grafana, chart string }{
		{"overview.json", "ebb-overview.json"},
		{"vertical.json", "ebb-vertical.json"},
	} {
		t.Run(tc.chart, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "grafana", tc.grafana))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "helm", "ebb", "dashboards", tc.chart))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("deploy/helm/ebb/dashboards/%s differs from deploy/grafana/%s; copy it over", tc.chart, tc.grafana)
			}
		})
	}
}

// validDashboard is a minimal dashboard that passes every check; the cases
// below break it one way each.
const validDashboard = `{
  "uid": "u", "title": "t", "schemaVersion": 39,
  "templating": {"list": [
    {"name": "datasource", "type": "datasource", "query": "prometheus"},
    {"name": "namespace", "type": "query", "query": {"query": "label_values(ebb_current_replicas, namespace)"}}
  ]},
  "panels": [
    {"id": 1, "type": "row", "title": "r", "panels": []},
    {"id": 2, "type": "timeseries", "title": "p", "datasource": {"type": "prometheus", "uid": "${datasource}"},
     "targets": [{"refId": "A", "expr": EXPR}]}
  ]
}`

func TestCheckDashboardRejects(t *testing.T) {
	docs := loadDocs(t)
	same := func(s string) string { return s }
	replace := func(old, new string) func(string) string {
		return func(s string) string { return strings.Replace(s, old, new, 1) }
	}
	okExpr := `sum by (target) (rate(ebb_actuations_total{namespace=~"$namespace", dry_run="true"}[$__rate_interval]))`
	for _, tc := range []struct {
		name    string
		expr    string              // the panel query; okExpr when empty
		edit    func(string) string // an edit of the dashboard JSON; none when nil
		wantErr string              // "" means the dashboard must pass
	}{
		{name: "valid"},
		{name: "histogram series", expr: `histogram_quantile(0.9, sum by (le) (rate(ebb_pass_duration_seconds_bucket[5m])))`},
		{name: "undocumented metric", expr: `ebb_actuation_total`, wantErr: "ebb_actuation_total is not in docs/metrics.md"},
		{name: "bucket of a gauge", expr: `ebb_current_replicas_bucket`, wantErr: "ebb_current_replicas_bucket is not in docs/metrics.md"},
		{name: "undocumented label", expr: `ebb_actuations_total{dryrun="true"}`, wantErr: `label "dryrun"`},
		{name: "namespace on a global metric", expr: `ebb_leader{namespace="$namespace"}`, wantErr: `label "namespace"`},
		{name: "invalid PromQL", expr: `rate(ebb_actuations_total[$__rate_interval]`, wantErr: "parse PromQL"},
		{name: "unknown variable", expr: `ebb_current_replicas{namespace="$nmspace"}`, wantErr: "unknown Grafana variable(s) nmspace"},
		{name: "empty query", expr: " ", wantErr: "empty expr"},
		{name: "variable on a missing label", edit: replace("ebb_current_replicas, namespace", "ebb_current_replicas, pod_name"), wantErr: `has no label "pod_name"`},
		{name: "variable on an unknown metric", edit: replace("ebb_current_replicas,", "ebb_replicas,"), wantErr: "ebb_replicas is not in docs/metrics.md"},
		{name: "missing namespace variable", edit: replace(`"name": "namespace"`, `"name": "ns"`), wantErr: "variable namespace: missing"},
		{name: "no datasource variable", edit: replace(`"type": "datasource"`, `"type": "custom"`), wantErr: "variable datasource"},
		{name: "old schema", edit: replace(`"schemaVersion": 39`, `"schemaVersion": 27`), wantErr: "schemaVersion 27"},
		{name: "hard-coded datasource", edit: replace(`"uid": "${datasource}"`, `"uid": "P1809F7CD0C75ACF3"`), wantErr: "datasource must be the ${datasource} variable"},
		{name: "duplicate panel id", edit: replace(`"id": 2`, `"id": 1`), wantErr: "id also used by"},
		{name: "panel without queries", edit: replace(`[{"refId": "A", "expr": EXPR}]`, `[]`), wantErr: "no queries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expr, edit := tc.expr, tc.edit
			if expr == "" {
				expr = okExpr
			}
			if edit == nil {
				edit = same
			}
			quoted, err := json.Marshal(expr)
			if err != nil {
				t.Fatal(err)
			}
			d, err := ParseDashboard([]byte(strings.Replace(edit(validDashboard), "EXPR", string(quoted), 1)))
			if err != nil {
				t.Fatal(err)
			}
			_, err = CheckDashboard(d, Requirements{MinSchemaVersion: 39, Variables: []string{"namespace"}, Samples: samples()}, docs)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("CheckDashboard() = %v, want no error", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("CheckDashboard() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestParseMetricsDoc(t *testing.T) {
	docs := loadDocs(t)
	for _, tc := range []struct {
		name string
		want MetricDoc
	}{
		{"ebb_applied_replicas", MetricDoc{Type: "gauge", Labels: []string{"namespace", "target", "dry_run"}}},
		{"ebb_pass_duration_seconds", MetricDoc{Type: "histogram"}},
		{"ebb_actuations_total", MetricDoc{Type: "counter", Labels: []string{"namespace", "target", "result", "dry_run"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, docs[tc.name]); diff != "" {
				t.Errorf("docs[%s] (-want +got):\n%s", tc.name, diff)
			}
		})
	}
	for _, tc := range []struct{ name, doc, wantErr string }{
		{"no rows", "# metrics\n", "no metric rows"},
		{"unknown type", "| `ebb_x` | gaug | a | m |\n", `unknown type "gaug"`},
		{"short row", "| `ebb_x` | gauge |\n", "want 4 cells"},
		{"duplicate", "| `ebb_x` | gauge | a | m |\n| `ebb_x` | gauge | a | m |\n", "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseMetricsDoc(strings.NewReader(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseMetricsDoc() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
