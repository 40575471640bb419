package metricsource

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"
)

// QueryVars are the variables of a PromQL template. String values are
// escaped for use inside a double-quoted PromQL string, so
// `namespace="{{.Namespace}}"` and `pod=~"{{.PodRegex}}"` are always valid.
type QueryVars struct {
	Namespace string   // the target's namespace
	Target    string   // the scale target's name
	Kind      string   // the scale target's kind, e.g. Deployment
	Pods      []string // the target's pod names
	Selector  string   // the target's label selector, e.g. "app=web"
	// PodPattern, when set, is what PodRegex gives instead of the pods'
	// names: a regular expression (unescaped) covering more pods, e.g.
	// those the workload had in the past (a backtest reads history).
	PodPattern string
}

// PodRegex is a regular expression matching exactly the target's pods: the
// sorted, deduplicated names, each regexp.QuoteMeta'd, joined by "|" (or
// PodPattern when set), escaped for a PromQL string.
// Prometheus anchors label regexes (^(?:…)$), so no anchors are added.
// Without pods it fails with ErrNoData (a query over no pods has no value;
// an empty regex would match series without a pod label).
func (v QueryVars) PodRegex() (string, error) {
	if v.PodPattern != "" {
		return escapePromQLString(v.PodPattern), nil
	}
	if len(v.Pods) == 0 {
		return "", fmt.Errorf("target has no pods: %w", ErrNoData)
	}
	names := slices.Clone(v.Pods)
	slices.Sort(names)
	names = slices.Compact(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte('|')
		}
		b.WriteString(regexp.QuoteMeta(n))
	}
	return escapePromQLString(b.String()), nil
}

// promQLEscaper escapes text for a double-quoted PromQL string literal.
var promQLEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`)

func escapePromQLString(s string) string { return promQLEscaper.Replace(s) }

// RenderQuery executes the PromQL template tmpl with vars. Unknown fields
// and keys are errors (missingkey=error); errors name the template.
func RenderQuery(tmpl string, vars QueryVars) (string, error) {
	t, err := template.New("query").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("parse query template %s: %w", shorten(tmpl), err)
	}
	escaped := QueryVars{
		Namespace: escapePromQLString(vars.Namespace),
		Target:    escapePromQLString(vars.Target),
		Kind:      escapePromQLString(vars.Kind),
		Pods:      vars.Pods, // PodRegex escapes; raw names stay usable with range
		Selector:  escapePromQLString(vars.Selector),
		// PodRegex escapes the pattern.
		PodPattern: vars.PodPattern,
	}
	var b strings.Builder
	if err := t.Execute(&b, escaped); err != nil {
		return "", fmt.Errorf("render query template %s: %w", shorten(tmpl), err)
	}
	return b.String(), nil
}

// shorten quotes a template for an error message, cutting long ones.
func shorten(tmpl string) string {
	const limit = 120
	if r := []rune(tmpl); len(r) > limit {
		return fmt.Sprintf("%q…", string(r[:limit]))
	}
	return fmt.Sprintf("%q", tmpl)
}
