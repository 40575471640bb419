package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// errWriter remembers the first write error so the renderers can write
// line after line and check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// row writes cells separated by tabs, ending the line.
func (e *errWriter) row(cells ...string) {
	e.printf("%s\n", strings.Join(cells, "\t"))
}

// table writes one aligned block: the rows go through a tabwriter that is
// flushed at the end, so separate blocks align independently.
func table(w io.Writer, indent string, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	ew := &errWriter{w: tw}
	ew.row(indent + strings.Join(header, "\t"))
	for _, r := range rows {
		ew.row(indent + strings.Join(r, "\t"))
	}
	if ew.err != nil {
		return ew.err
	}
	return tw.Flush()
}

var summaryHeader = []string{"TARGET", "MODE", "CURRENT", "RECOMMENDED", "STABILIZED", "DESIRED", "MIN", "MAX", "REASON"}

func summaryRow(t Target) []string {
	return []string{t.Ref(), t.Mode, replicas(t.Current), replicas(t.Recommended), replicas(t.Stabilized),
		replicas(t.Desired), fmt.Sprint(t.Min), fmt.Sprint(t.Max), dash(t.Reason)}
}

var metricHeader = []string{"METRIC", "OBSERVED", "TARGET", "PROPOSED", "ERROR"}

func metricRow(m Metric) []string {
	return []string{m.Name, observed(m), target(m), replicas(m.Replicas), dash(m.Error)}
}

var containerHeader = []string{"CONTAINER", "CPU TARGET", "CPU LOWER", "CPU UPPER", "CPU REQUEST", "CPU USAGE",
	"MEM TARGET", "MEM LOWER", "MEM UPPER", "MEM REQUEST", "MEM USAGE", "HISTORY", "CONFIDENCE"}

// containerRow shows CPU in millicores and memory in one unit per row,
// chosen by the target (the request when there is none); unbounded upper
// bounds are "∞".
func containerRow(c Container) []string {
	ref := c.Target.MemoryBytes
	if ref == nil {
		ref = c.Request.MemoryBytes
	}
	return []string{c.Name, cpu(c.Target.CPUMilli), cpu(c.LowerBound.CPUMilli), cpu(c.UpperBound.CPUMilli),
		cpu(c.Request.CPUMilli), cpu(c.Usage.CPUMilli), memory(c.Target.MemoryBytes, ref),
		memory(c.LowerBound.MemoryBytes, ref), memory(c.UpperBound.MemoryBytes, ref), memory(c.Request.MemoryBytes, ref),
		memory(c.Usage.MemoryBytes, ref), history(c.History), confidence(c.Confidence)}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func renderTable(w io.Writer, r Report) error {
	ew := &errWriter{w: w}
	ew.printf("Namespace: %s\nGenerated: %s\n\n", r.Namespace, generatedAt(r.GeneratedAt))
	if len(r.Targets) == 0 {
		ew.printf("No targets.\n")
		return ew.err
	}
	if ew.err != nil {
		return ew.err
	}
	header, rows := summary(r)
	if err := table(w, "", header, rows); err != nil {
		return err
	}
	for _, t := range r.Targets {
		if err := targetDetails(w, t); err != nil {
			return fmt.Errorf("target %s: %w", t.Ref(), err)
		}
	}
	return nil
}

// targetDetails writes the per-target block below the summary table.
func targetDetails(w io.Writer, t Target) error {
	ew := &errWriter{w: w}
	ew.printf("\n%s (%s)\n", t.Ref(), t.Mode)
	if t.Message != "" {
		ew.printf("  Message: %s\n", t.Message)
	}
	for _, s := range t.ShapedBy {
		ew.printf("  Shaped by: %s\n", s)
	}
	for _, c := range t.Blocking {
		ew.printf("  Blocked: %s\n", c)
	}
	for _, c := range t.Notes {
		ew.printf("  Note: %s\n", c)
	}
	for _, l := range hpaLines(t) {
		ew.printf("  %s\n", l)
	}
	if t.Forecast != nil {
		ew.printf("  Forecast: %s\n", t.Forecast)
	}
	if ew.err != nil {
		return ew.err
	}
	if len(t.Metrics) > 0 {
		rows := make([][]string, 0, len(t.Metrics))
		for _, m := range t.Metrics {
			rows = append(rows, metricRow(m))
		}
		if err := table(w, "  ", metricHeader, rows); err != nil {
			return err
		}
	}
	if len(t.Vertical) > 0 {
		rows := make([][]string, 0, len(t.Vertical))
		for _, c := range t.Vertical {
			rows = append(rows, containerRow(c))
		}
		if err := table(w, "  ", containerHeader, rows); err != nil {
			return err
		}
	}
	return nil
}
