package report

import (
	"io"
	"strings"
)

// mdEscape makes s safe inside a Markdown table cell; "<unknown>" would
// otherwise vanish as an HTML tag.
var mdEscape = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "\n", " ", "\r", "")

func mdTable(ew *errWriter, header []string, rows [][]string) {
	ew.printf("| %s |\n", strings.Join(header, " | "))
	ew.printf("|%s\n", strings.Repeat(" --- |", len(header)))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = mdEscape.Replace(c)
		}
		ew.printf("| %s |\n", strings.Join(cells, " | "))
	}
}

func renderMarkdown(w io.Writer, r Report) error {
	ew := &errWriter{w: w}
	ew.printf("# ebb report: %s\n\nGenerated %s.\n\n", mdEscape.Replace(r.Namespace), generatedAt(r.GeneratedAt))
	if len(r.Targets) == 0 {
		ew.printf("No targets.\n")
		return ew.err
	}
	header, rows := summary(r)
	mdTable(ew, header, rows)
	for _, t := range r.Targets {
		mdTarget(ew, t)
	}
	return ew.err
}

func mdTarget(ew *errWriter, t Target) {
	ew.printf("\n## %s (%s)\n\n", mdEscape.Replace(t.Ref()), t.Mode)
	if t.Message != "" {
		ew.printf("%s\n\n", mdEscape.Replace(t.Message))
	}
	for _, s := range t.ShapedBy {
		ew.printf("- Shaped by: %s\n", mdEscape.Replace(s))
	}
	for _, c := range t.Blocking {
		ew.printf("- **Blocked**: %s\n", mdEscape.Replace(c.String()))
	}
	for _, c := range t.Notes {
		ew.printf("- Note: %s\n", mdEscape.Replace(c.String()))
	}
	hpa := hpaLines(t)
	for _, l := range hpa {
		ew.printf("- %s\n", mdEscape.Replace(l))
	}
	if t.Forecast != nil {
		ew.printf("- Forecast: %s\n", mdEscape.Replace(t.Forecast.String()))
	}
	if len(t.ShapedBy)+len(t.Blocking)+len(t.Notes)+len(hpa) > 0 || t.Forecast != nil {
		ew.printf("\n")
	}
	if len(t.Metrics) > 0 {
		rows := make([][]string, 0, len(t.Metrics))
		for _, m := range t.Metrics {
			rows = append(rows, metricRow(m))
		}
		mdTable(ew, metricHeader, rows)
	}
	if len(t.Vertical) > 0 {
		if len(t.Metrics) > 0 {
			ew.printf("\n")
		}
		rows := make([][]string, 0, len(t.Vertical))
		for _, c := range t.Vertical {
			rows = append(rows, containerRow(c))
		}
		mdTable(ew, containerHeader, rows)
	}
}
