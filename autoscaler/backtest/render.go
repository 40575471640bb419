package backtest

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

// The formats are the report's (report.Formats): table, json, csv,
// markdown, html.
const (
	FormatTable    = report.FormatTable
	FormatJSON     = report.FormatJSON
	FormatCSV      = report.FormatCSV
	FormatMarkdown = report.FormatMarkdown
	FormatHTML     = report.FormatHTML
)

// table is a header and rows of cells.
type table struct {
	title  string
	header []string
	rows   [][]string
}

// tables lays the result out: per target the actual run and each replay;
// per container the vertical comparison; the targets that failed.
func tables(r Result) []table {
	h := table{title: "Horizontal", header: []string{"TARGET", "RUN", "CORE-HOURS", "DEMAND/REQUESTED", "UNDER-PROVISIONED MIN", "SCALE EVENTS", "MAX REPLICAS"}}
	v := table{title: "Vertical", header: []string{"TARGET", "CONTAINER", "CPU REQUEST", "CPU RECOMMENDED", "CPU DIFF",
		"MEMORY REQUEST", "MEMORY RECOMMENDED", "MEMORY DIFF", "SLACK CORE-HOURS", "SLACK GIB-HOURS", "CPU EXCEEDED MIN", "MEMORY EXCEEDED MIN"}}
	e := table{title: "Not backtested", header: []string{"TARGET", "ERROR"}}
	for _, t := range r.Targets {
		if t.Err != "" {
			e.rows = append(e.rows, []string{t.Target, t.Err})
			continue
		}
		a := t.Actual
		ratio := 0.0
		if a.CoreSeconds > 0 {
			ratio = a.DemandCoreSeconds / a.CoreSeconds
		}
		h.rows = append(h.rows, []string{t.Target, "actual", hours(a.CoreSeconds), num(ratio, 2), minutes(a.UnderProvisionedSeconds),
			strconv.Itoa(a.ScaleEvents), strconv.Itoa(a.MaxReplicas)})
		for _, p := range t.Replays {
			if p.Err != "" {
				h.rows = append(h.rows, []string{t.Target, p.Name, "error: " + p.Err, "", "", "", ""})
				continue
			}
			x := p.Totals
			h.rows = append(h.rows, []string{t.Target, p.Name, hours(x.CoreSeconds), num(x.DemandOverRequested, 2),
				minutes(x.UnderProvisionedSeconds), strconv.Itoa(x.ScaleEvents), strconv.Itoa(x.MaxPods)})
		}
		for _, c := range t.Containers {
			v.rows = append(v.rows, []string{t.Target, c.Name,
				millis(c.CurrentCPUMillis), millis(c.RecommendedCPUMillis), diff(c.CurrentCPUMillis, c.RecommendedCPUMillis, millis),
				mebi(c.CurrentMemoryBytes), mebi(c.RecommendedMemoryBytes), diff(c.CurrentMemoryBytes, c.RecommendedMemoryBytes, mebi),
				num(c.SlackCoreHours, 2), num(c.SlackGiBHours, 2), num(c.CPUExceededMinutes, 0), num(c.MemoryExceededMinutes, 0)})
		}
	}
	out := []table{h}
	if len(v.rows) > 0 {
		out = append(out, v)
	}
	if len(e.rows) > 0 {
		out = append(out, e)
	}
	return out
}

func num(v float64, prec int) string { return strconv.FormatFloat(v, 'f', prec, 64) }
func hours(secs float64) string      { return num(secs/3600, 1) }
func minutes(secs float64) string    { return num(secs/60, 1) }

func millis(v int64) string {
	if v == 0 {
		return "-"
	}
	return strconv.FormatInt(v, 10) + "m"
}

func mebi(v int64) string {
	if v == 0 {
		return "-"
	}
	return num(float64(v)/(1<<20), 0) + "Mi"
}

// diff is recommended − current, signed, or "-" when either is unset.
func diff(current, recommended int64, unit func(int64) string) string {
	switch d := recommended - current; {
	case current == 0 || recommended == 0:
		return "-"
	case d > 0:
		return "+" + unit(d)
	case d < 0:
		return "-" + unit(-d)
	}
	return "0"
}

// Render writes r in format f.
func Render(w io.Writer, f report.Format, r Result) error {
	var err error
	switch f {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		err = enc.Encode(r)
	case FormatCSV:
		err = renderCSV(w, r)
	case FormatMarkdown:
		err = renderMarkdown(w, r)
	case FormatHTML:
		err = renderHTML(w, r)
	case FormatTable:
		err = renderTable(w, r)
	default:
		return fmt.Errorf("unknown format %q", f)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f, err)
	}
	return nil
}

func window(r Result) string {
	return fmt.Sprintf("%s to %s, step %v", r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339), r.Step)
}

func renderTable(w io.Writer, r Result) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "Backtest %s (%d queries)\n", window(r), r.Queries)
	for _, t := range tables(r) {
		fmt.Fprintf(tw, "\n%s\n%s\n", t.title, strings.Join(t.header, "\t"))
		for _, row := range t.rows {
			fmt.Fprintln(tw, strings.Join(row, "\t"))
		}
	}
	notes(tw, r)
	return tw.Flush()
}

// notes lists what each target's reconstruction assumed.
func notes(w io.Writer, r Result) {
	first := true
	for _, t := range r.Targets {
		for _, n := range t.Notes {
			if first {
				fmt.Fprintln(w, "\nNotes")
				first = false
			}
			fmt.Fprintf(w, "%s: %s\n", t.Target, n)
		}
	}
}

func renderMarkdown(w io.Writer, r Result) error {
	fmt.Fprintf(w, "# Backtest\n\n%s, %d queries.\n", window(r), r.Queries)
	esc := strings.NewReplacer("|", `\|`, "\n", " ")
	for _, t := range tables(r) {
		fmt.Fprintf(w, "\n## %s\n\n| %s |\n|%s\n", t.title, strings.Join(t.header, " | "), strings.Repeat(" --- |", len(t.header)))
		for _, row := range t.rows {
			cells := make([]string, len(row))
			for i, c := range row {
				cells[i] = esc.Replace(c)
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
		}
	}
	var ns strings.Builder
	notes(&ns, r)
	if ns.Len() > 0 {
		fmt.Fprintf(w, "\n## Notes\n\n")
		for _, l := range strings.Split(strings.TrimSpace(ns.String()), "\n")[1:] {
			fmt.Fprintf(w, "- %s\n", esc.Replace(l))
		}
	}
	return nil
}

// renderCSV writes one CSV table per section, separated by an empty line,
// each with its header (the horizontal one first).
func renderCSV(w io.Writer, r Result) error {
	cw := csv.NewWriter(w)
	for i, t := range tables(r) {
		if i > 0 {
			cw.Flush()
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := cw.Write(t.header); err != nil {
			return err
		}
		if err := cw.WriteAll(t.rows); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

var page = template.Must(template.New("backtest").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ebb backtest</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#f3f3f3}td:first-child,td:nth-child(2){text-align:left}</style>
</head><body><h1>ebb backtest</h1><p>{{.Window}}, {{.Queries}} queries.</p>
{{range .Tables}}<h2>{{.Title}}</h2><table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{if .Notes}}<h2>Notes</h2><ul>{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body></html>
`))

func renderHTML(w io.Writer, r Result) error {
	type tbl struct {
		Title  string
		Header []string
		Rows   [][]string
	}
	data := struct {
		Window  string
		Queries int
		Tables  []tbl
		Notes   []string
	}{Window: window(r), Queries: r.Queries}
	for _, t := range tables(r) {
		data.Tables = append(data.Tables, tbl{t.title, t.header, t.rows})
	}
	for _, t := range r.Targets {
		for _, n := range t.Notes {
			data.Notes = append(data.Notes, t.Target+": "+n)
		}
	}
	return page.Execute(w, data)
}
