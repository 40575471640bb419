package tools

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Dashboard is the part of a Grafana dashboard JSON model the checks read.
type Dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	Panels        []Panel `json:"panels"`
	Templating    struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Panel is a dashboard panel; rows nest their collapsed panels.
type Panel struct {
	ID         int           `json:"id"`
	Type       string        `json:"type"`
	Title      string        `json:"title"`
	Datasource *Datasource   `json:"datasource"`
	Targets    []Target      `json:"targets"`
	Panels     []Panel       `json:"panels"`
	GridPos    *GridPosition `json:"gridPos"`
}

// GridPosition is a panel's place on the 24-column grid.
type GridPosition struct {
	H, W, X, Y int
}

// Datasource references a data source, here always the datasource variable.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Target is one query of a panel.
type Target struct {
	RefID      string      `json:"refId"`
	Expr       string      `json:"expr"`
	Datasource *Datasource `json:"datasource"`
}

// Variable is a templating variable.
type Variable struct {
	Name  string          `json:"name"`
	Type  string          `json:"type"`
	Query json.RawMessage `json:"query"`
}

// QueryText is the variable's query: a plain string (datasource variables)
// or the {"query": "..."} object query variables use.
func (v Variable) QueryText() (string, error) {
	var s string
	if err := json.Unmarshal(v.Query, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Query string `json:"query"`
	}
	if err := json.Unmarshal(v.Query, &obj); err != nil {
		return "", fmt.Errorf("variable %s: query is neither a string nor {\"query\": ...}: %w", v.Name, err)
	}
	return obj.Query, nil
}

// ParseDashboard decodes a dashboard JSON model, rejecting unknown trailing
// data.
func ParseDashboard(data []byte) (Dashboard, error) {
	var d Dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		return Dashboard{}, fmt.Errorf("decode dashboard JSON: %w", err)
	}
	return d, nil
}

// AllPanels returns every panel, rows' nested panels included.
func (d Dashboard) AllPanels() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// Requirements are what every ebb dashboard must have.
type Requirements struct {
	MinSchemaVersion int
	Variables        []string          // query variables besides the datasource variable
	Samples          map[string]string // sample values for $variables and Grafana's $__ built-ins
}

// CheckDashboard returns every problem of d at once: schema version,
// variables, panel datasources, and each query (substituted, parsed, its
// ebb_* names and labels documented). It also returns the documented metric
// names the panels use.
func CheckDashboard(d Dashboard, req Requirements, docs map[string]MetricDoc) ([]string, error) {
	var errs []error
	if d.UID == "" || d.Title == "" {
		errs = append(errs, fmt.Errorf("uid %q and title %q must both be set", d.UID, d.Title))
	}
	if d.SchemaVersion < req.MinSchemaVersion {
		errs = append(errs, fmt.Errorf("schemaVersion %d, want >= %d", d.SchemaVersion, req.MinSchemaVersion))
	}
	errs = append(errs, checkVariables(d, req, docs)...)
	used, panelErrs := checkPanels(d, req, docs)
	errs = append(errs, panelErrs...)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("dashboard %q: %w", d.UID, err)
	}
	return used, nil
}

func checkVariables(d Dashboard, req Requirements, docs map[string]MetricDoc) []error {
	var errs []error
	byName := map[string]Variable{}
	for _, v := range d.Templating.List {
		byName[v.Name] = v
	}
	ds, ok := byName["datasource"]
	if q, _ := ds.QueryText(); !ok || ds.Type != "datasource" || q != "prometheus" {
		errs = append(errs, fmt.Errorf("variable datasource: want type datasource with query prometheus, got type %q", ds.Type))
	}
	for _, name := range req.Variables {
		v, ok := byName[name]
		if !ok || v.Type != "query" {
			errs = append(errs, fmt.Errorf("variable %s: missing or not a query variable (type %q)", name, v.Type))
			continue
		}
		q, err := v.QueryText()
		if err == nil {
			q, err = Substitute(q, req.Samples)
		}
		if err == nil {
			_, err = CheckVariableQuery(q, docs)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("variable %s: %w", name, err))
		}
	}
	return errs
}

func checkPanels(d Dashboard, req Requirements, docs map[string]MetricDoc) ([]string, []error) {
	var errs []error
	var used []string
	ids := map[int]string{}
	for _, p := range d.AllPanels() {
		where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if prev, dup := ids[p.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: id also used by %q", where, prev))
		}
		ids[p.ID] = p.Title
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			errs = append(errs, fmt.Errorf("%s: no queries", where))
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			errs = append(errs, fmt.Errorf("%s: datasource must be the ${datasource} variable", where))
		}
		for _, t := range p.Targets {
			names, err := checkTarget(t, req.Samples, docs)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s query %s: %w", where, t.RefID, err))
			}
			for _, n := range names {
				if !slices.Contains(used, n) {
					used = append(used, n)
				}
			}
		}
	}
	slices.Sort(used)
	return used, errs
}

func checkTarget(t Target, samples map[string]string, docs map[string]MetricDoc) ([]string, error) {
	if strings.TrimSpace(t.Expr) == "" {
		return nil, errors.New("empty expr")
	}
	if t.Datasource != nil && t.Datasource.UID != "${datasource}" {
		return nil, fmt.Errorf("datasource %q, want ${datasource}", t.Datasource.UID)
	}
	expr, err := Substitute(t.Expr, samples)
	if err != nil {
		return nil, err
	}
	return CheckExpr(expr, docs)
}
