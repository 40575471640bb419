package tools

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// grafanaVar matches Grafana variable references: $name, ${name} and
// ${name:format}.
var grafanaVar = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

// scrapeLabels are labels Prometheus attaches at scrape time (job, instance,
// and the Prometheus Operator's pod/service/endpoint target labels); a
// selector on an ebb_* metric may always match them. namespace and container
// are left out on purpose: a plain scrape config does not add them, so only
// metrics that carry them themselves may be filtered by them.
var scrapeLabels = []string{"__name__", "job", "instance", "pod", "service", "endpoint"}

// Substitute replaces every Grafana variable reference in expr by its
// sample value from vars. An unknown variable is an error naming it.
func Substitute(expr string, vars map[string]string) (string, error) {
	var unknown []string
	out := grafanaVar.ReplaceAllStringFunc(expr, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		v, ok := vars[name]
		if !ok {
			unknown = append(unknown, name)
			return m
		}
		return v
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown Grafana variable(s) %s in %q", strings.Join(unknown, ", "), expr)
	}
	return out, nil
}

// CheckExpr parses a PromQL expression (variables already substituted) and
// checks each ebb_* series it selects: the name must be documented, and each
// label matcher must use one of the metric's documented labels or a scrape
// label. It returns the documented metric names the expression uses.
func CheckExpr(expr string, docs map[string]MetricDoc) ([]string, error) {
	ast, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, fmt.Errorf("parse PromQL %q: %w", expr, err)
	}
	var used []string
	var errs []error
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name, err := checkSelector(vs, docs)
		if err != nil {
			errs = append(errs, err)
		}
		if name != "" && !slices.Contains(used, name) {
			used = append(used, name)
		}
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("PromQL %q: %w", expr, err)
	}
	return used, nil
}

// checkSelector returns the documented metric a selector picks (empty for a
// non-ebb series) or an error naming the undocumented name or label.
func checkSelector(vs *parser.VectorSelector, docs map[string]MetricDoc) (string, error) {
	series := vs.Name
	if series == "" {
		for _, m := range vs.LabelMatchers {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				series = m.Value
			}
		}
	}
	if !strings.HasPrefix(series, "ebb_") {
		return "", nil
	}
	name, doc, ok := lookupSeries(docs, series)
	if !ok {
		return "", fmt.Errorf("series %s is not in docs/metrics.md", series)
	}
	var errs []error
	for _, m := range vs.LabelMatchers {
		allowed := slices.Contains(doc.Labels, m.Name) || slices.Contains(scrapeLabels, m.Name) ||
			(m.Name == "le" && doc.Type == "histogram")
		if !allowed {
			errs = append(errs, fmt.Errorf("series %s: label %q is not one of its documented labels %v", series, m.Name, doc.Labels))
		}
	}
	return name, errors.Join(errs...)
}

// labelValuesQuery matches a Grafana variable query label_values(selector, label).
var labelValuesQuery = regexp.MustCompile(`^\s*label_values\((.*),\s*(\w+)\s*\)\s*$`)

// CheckVariableQuery checks a Grafana query variable: label_values(sel,
// label) has its selector checked like a panel query and its label must be
// a documented label of that metric; any other query is checked as PromQL.
func CheckVariableQuery(query string, docs map[string]MetricDoc) ([]string, error) {
	m := labelValuesQuery.FindStringSubmatch(query)
	if m == nil {
		return CheckExpr(query, docs)
	}
	used, err := CheckExpr(m[1], docs)
	if err != nil {
		return nil, err
	}
	for _, name := range used {
		if !slices.Contains(docs[name].Labels, m[2]) {
			return nil, fmt.Errorf("variable query %q: %s has no label %q (documented: %v)", query, name, m[2], docs[name].Labels)
		}
	}
	return used, nil
}
