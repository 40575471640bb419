package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// PanelExpr is one query of one dashboard panel.
type PanelExpr struct {
	Dashboard string // dashboard file name, e.g. overview.json
	Panel     string // panel title
	RefID     string
	Expr      string // as written in the dashboard, variables unsubstituted
}

func (p PanelExpr) String() string {
	return fmt.Sprintf("%s panel %q query %s", p.Dashboard, p.Panel, p.RefID)
}

// dashboardPanel is the part of a Grafana panel the extraction reads; rows
// nest their collapsed panels.
type dashboardPanel struct {
	Title   string `json:"title"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

// DashboardExprs reads a Grafana dashboard JSON file and returns every
// panel query (rows' nested panels included), in panel order. A dashboard
// without any query is an error.
func DashboardExprs(path string) ([]PanelExpr, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read dashboard: %w", err)
	}
	var d struct {
		Panels []dashboardPanel `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("decode dashboard %s: %w", path, err)
	}
	name := path[strings.LastIndex(path, "/")+1:]
	var out []PanelExpr
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				out = append(out, PanelExpr{Dashboard: name, Panel: p.Title, RefID: t.RefID, Expr: t.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	if len(out) == 0 {
		return nil, fmt.Errorf("dashboard %s: no panel queries", path)
	}
	return out, nil
}

// grafanaVar matches Grafana variable references: $name, ${name} and
// ${name:format} (the same rule as deploy/tools).
var grafanaVar = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

// SubstituteVars replaces every Grafana variable reference in expr by its
// value in vars; an unknown variable is an error naming it.
func SubstituteVars(expr string, vars map[string]string) (string, error) {
	var unknown []string
	out := grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		v, ok := vars[sub[1]+sub[2]]
		if !ok {
			unknown = append(unknown, sub[1]+sub[2])
			return m
		}
		return v
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown Grafana variable(s) %s in %q", strings.Join(unknown, ", "), expr)
	}
	return out, nil
}
