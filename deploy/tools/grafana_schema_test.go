package tools

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// strictDashboard decodes data with the SDK's strict decoder. The decoder
// returns its list of problems as an error even when the list is empty
// (a typed nil), so an empty list is success.
func strictDashboard(data []byte) (dashboard.Dashboard, error) {
	var d dashboard.Dashboard
	err := d.UnmarshalJSONStrict(data)
	if be := (cog.BuildErrors)(nil); errors.As(err, &be) && len(be) == 0 {
		err = nil
	}
	return d, err
}

// TestDashboardsGrafanaSchema strict-decodes every dashboard in
// deploy/grafana with Grafana's own schema (grafana-foundation-sdk, panel
// and query plugins registered): an unknown or mistyped field anywhere,
// panel options included, fails.
func TestDashboardsGrafanaSchema(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	files, err := filepath.Glob(filepath.Join(repoRoot, "deploy", "grafana", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in deploy/grafana (%v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			d, err := strictDashboard(data)
			if err != nil {
				t.Errorf("%s does not match Grafana's dashboard schema:\n%v", f, err)
			}
			if d.Title == nil || *d.Title == "" || len(d.Panels) == 0 {
				t.Errorf("%s decoded to no title or no panels", f)
			}
		})
	}
}

// TestDashboardsGrafanaSchemaCanFail is the control: the shipped overview
// with an unknown panel option and a mistyped field is rejected.
func TestDashboardsGrafanaSchemaCanFail(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	data, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "grafana", "overview.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from, to string }{
		{name: "unknown dashboard field", from: `"panels"`, to: `"panelz": [], "panels"`},
		{name: "mistyped field", from: `"schemaVersion": `, to: `"schemaVersion": "x", "ignored": `},
		{name: "unknown panel option", from: `"showLegend": true`, to: `"showLegend": true, "showLegends": true`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(data), tc.from) {
				t.Fatalf("overview.json has no %q to break", tc.from)
			}
			bad := strings.Replace(string(data), tc.from, tc.to, 1)
			if _, err := strictDashboard([]byte(bad)); err == nil {
				t.Errorf("strict decode accepted a dashboard with %s", tc.name)
			}
		})
	}
}
