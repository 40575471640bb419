package report

import (
	"fmt"
	"strings"
)

// This file renders the HorizontalPodAutoscaler beside ebb's decision (a
// shadowed HPA, or one in conflict with a policy target) in the table and
// Markdown formats; JSON carries Target.HPA as it is.

// summary is the summary table's header and rows, with a column HPA (the
// HPA's desired replicas and whether ebb agrees) when any target has one.
func summary(r Report) ([]string, [][]string) {
	withHPA := false
	for _, t := range r.Targets {
		withHPA = withHPA || t.HPA != nil
	}
	header := summaryHeader
	if withHPA {
		header = append(header[:len(header):len(header)], "HPA")
	}
	rows := make([][]string, 0, len(r.Targets))
	for _, t := range r.Targets {
		row := summaryRow(t)
		if withHPA {
			row = append(row, hpaColumn(t))
		}
		rows = append(rows, row)
	}
	return header, rows
}

// hpaColumn is "4 agrees", "3 differs", "<unknown> unknown", or "-".
func hpaColumn(t Target) string {
	if t.HPA == nil {
		return "-"
	}
	return replicas(t.HPA.Desired) + " " + string(t.Agreement())
}

// hpaLines describe t's HPA: its decision against ebb's, its conditions
// and the metrics it read; none when t has no HPA.
func hpaLines(t Target) []string {
	h := t.HPA
	if h == nil {
		return nil
	}
	out := []string{fmt.Sprintf("HPA %s: desired %s, ebb desired %s: %s", h.Name, replicas(h.Desired), replicas(t.Desired), t.Agreement())}
	for _, c := range h.Conditions {
		out = append(out, "HPA condition: "+c.String())
	}
	if len(h.Metrics) > 0 {
		read := make([]string, len(h.Metrics))
		for i, m := range h.Metrics {
			read[i] = fmt.Sprintf("%s %s (target %s)", m.Name, observed(m), target(m))
		}
		out = append(out, "HPA read: "+strings.Join(read, "; "))
	}
	return out
}
