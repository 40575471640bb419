package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// The HTML format is one self-contained page: inline CSS and SVG, no
// script, no font, image or stylesheet fetched from anywhere, so it opens
// offline and can be mailed or attached to a ticket. It shows a summary
// table, then per target its details, its charts over the history (one
// point for a single pass) and copy-paste YAML of the vertical requests.

// htmlPage is the view of a Report the template renders.
type htmlPage struct {
	Namespace, Generated, Span string
	Targets                    []htmlTarget
}

type htmlTarget struct {
	ID, Ref, Mode, Replicas, Reason, Message, HPA, HPAClass, Vertical string
	ShapedBy, Blocking, Notes                                         []string
	MetricHeader, ContainerHeader                                     []string
	Metrics, Containers                                               [][]string
	Charts                                                            []template.HTML
	YAML, PatchCommand                                                string
}

func renderHTML(w io.Writer, r Report) error {
	page := htmlPage{Namespace: r.Namespace, Generated: generatedAt(r.GeneratedAt), Span: span(r)}
	for i, t := range r.Targets {
		ht, err := newHTMLTarget(r, t, i)
		if err != nil {
			return fmt.Errorf("target %s: %w", t.Ref(), err)
		}
		page.Targets = append(page.Targets, ht)
	}
	return pageTemplate.Execute(w, page)
}

func newHTMLTarget(r Report, t Target, i int) (htmlTarget, error) {
	charts, err := targetCharts(r, t)
	if err != nil {
		return htmlTarget{}, err
	}
	ht := htmlTarget{ID: fmt.Sprintf("target-%d", i), Ref: t.Ref(), Mode: t.Mode,
		Replicas: replicas(t.Current) + " → " + replicas(t.Desired), Reason: dash(t.Reason), Message: t.Message,
		ShapedBy: t.ShapedBy, MetricHeader: metricHeader, ContainerHeader: containerHeader, Charts: charts,
		Vertical: verticalSummary(t.Vertical)}
	ht.HPA, ht.HPAClass = hpaCell(t)
	for _, c := range t.Blocking {
		ht.Blocking = append(ht.Blocking, c.String())
	}
	for _, c := range t.Notes {
		ht.Notes = append(ht.Notes, c.String())
	}
	if t.Forecast != nil {
		ht.Notes = append(ht.Notes, "Forecast: "+t.Forecast.String())
	}
	for _, m := range t.Metrics {
		ht.Metrics = append(ht.Metrics, metricRow(m))
	}
	for _, c := range t.Vertical {
		ht.Containers = append(ht.Containers, containerRow(c))
	}
	ht.YAML, ht.PatchCommand = requestsYAML(r.Namespace, t)
	return ht, nil
}

// span says what the charts cover.
func span(r Report) string {
	var first, last time.Time
	n := 0
	for _, t := range r.Targets {
		for _, s := range t.History {
			if n == 0 || s.Time.Before(first) {
				first = s.Time
			}
			if n == 0 || s.Time.After(last) {
				last = s.Time
			}
			n++
		}
	}
	if n == 0 {
		return "one pass: each chart shows a single point (`ebb status -o html` charts the leader's recent history)"
	}
	return fmt.Sprintf("%s to %s (%s, %d samples)", generatedAt(first), generatedAt(last), last.Sub(first), n)
}

// hpaCell is the summary's agreement with the shadowed HPA and its CSS
// class.
func hpaCell(t Target) (string, string) {
	switch t.Agreement() {
	case AgreementAgrees:
		return "agrees (" + replicas(t.HPA.Desired) + ")", "agrees"
	case AgreementDiffers:
		return "differs: HPA " + replicas(t.HPA.Desired), "differs"
	case AgreementUnknown:
		return "HPA " + replicas(t.HPA.Desired) + ", ebb " + replicas(t.Desired), "unknown"
	default:
		return "-", ""
	}
}

// verticalSummary is the summary's vertical cell: each container's
// recommended requests.
func verticalSummary(cs []Container) string {
	var parts []string
	for _, c := range cs {
		var rs []string
		if c.Target.CPUMilli != nil {
			rs = append(rs, "cpu "+cpu(c.Target.CPUMilli))
		}
		if c.Target.MemoryBytes != nil {
			rs = append(rs, "memory "+memory(c.Target.MemoryBytes, nil))
		}
		if len(rs) > 0 {
			parts = append(parts, c.Name+": "+strings.Join(rs, ", "))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "; ")
}

// requestsYAML is a strategic merge patch setting each container's
// requests to the recommended targets, and the kubectl command applying
// it; empty when there is no recommendation.
func requestsYAML(namespace string, t Target) (string, string) {
	var b strings.Builder
	for _, c := range t.Vertical {
		if c.Target.CPUMilli == nil && c.Target.MemoryBytes == nil {
			continue
		}
		fmt.Fprintf(&b, "      - name: %s\n        resources:\n          requests:\n", c.Name)
		if p := c.Target.CPUMilli; p != nil && *p < Unbounded {
			fmt.Fprintf(&b, "            cpu: %s\n", cpuQuantity(*p))
		}
		if p := c.Target.MemoryBytes; p != nil && *p < Unbounded {
			fmt.Fprintf(&b, "            memory: %s\n", memQuantity(*p))
		}
	}
	if b.Len() == 0 {
		return "", ""
	}
	file := "ebb-" + strings.ToLower(t.Kind) + "-" + t.Name + ".yaml"
	return "spec:\n  template:\n    spec:\n      containers:\n" + b.String(),
		fmt.Sprintf("kubectl patch %s %s -n %s --patch-file %s", strings.ToLower(t.Kind), t.Name, namespace, file)
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ebb report: {{.Namespace}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:24px;color:#222;background:#fff;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 6px;border-top:1px solid #ddd;padding-top:16px}
h3{font-size:14px;margin:16px 0 6px}.meta{color:#666;font-size:13px;margin:0 0 16px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right}.mode{font-weight:600}
.agrees{color:#087a3c}.differs{color:#b35c00;font-weight:600}.unknown{color:#666}
.blocked{color:#b00020}ul{margin:6px 0;padding-left:20px;font-size:13px}
.charts svg{display:block;max-width:100%;height:auto;margin:8px 0;border:1px solid #eee}
pre{background:#f6f8fa;border:1px solid #ddd;padding:8px 12px;font-size:12px;overflow-x:auto;user-select:all}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
</style>
</head>
<body>
<h1>ebb report: {{.Namespace}}</h1>
<p class="meta">Generated {{.Generated}}. Charts: {{.Span}}.</p>
{{if not .Targets}}<p>No targets.</p>{{else}}
<table class="summary">
<thead><tr><th>Target</th><th>Mode</th><th>Replicas (current → desired)</th><th>Reason</th><th>HPA</th><th>Vertical requests</th></tr></thead>
<tbody>
{{range .Targets}}<tr><td><a href="#{{.ID}}">{{.Ref}}</a></td><td class="mode">{{.Mode}}</td><td class="num">{{.Replicas}}</td><td>{{.Reason}}</td><td class="{{.HPAClass}}">{{.HPA}}</td><td>{{.Vertical}}</td></tr>
{{end}}</tbody>
</table>
{{range .Targets}}
<section class="target" id="{{.ID}}" data-target="{{.Ref}}">
<h2>{{.Ref}} <span class="mode">({{.Mode}})</span></h2>
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if or .ShapedBy .Blocking .Notes}}<ul>{{range .ShapedBy}}<li>Shaped by: {{.}}</li>{{end}}{{range .Blocking}}<li class="blocked">Blocked: {{.}}</li>{{end}}{{range .Notes}}<li>Note: {{.}}</li>{{end}}</ul>{{end}}
{{if .Metrics}}<table class="metrics"><thead><tr>{{range .MetricHeader}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Metrics}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody></table>{{end}}
{{if .Containers}}<table class="containers"><thead><tr>{{range .ContainerHeader}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Containers}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</tbody></table>{{end}}
<div class="charts">
{{range .Charts}}{{.}}{{else}}<p class="meta">Nothing to chart: no replica count, metric or recommendation was observed.</p>{{end}}</div>
{{if .YAML}}<h3>Recommended requests</h3>
<p class="meta">Save as a file and apply with <code>{{.PatchCommand}}</code>.</p>
<pre class="yaml"><code>{{.YAML}}</code></pre>{{end}}
</section>
{{end}}{{end}}
</body>
</html>
`))
