package tools

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// MetricDoc is one row of docs/metrics.md.
type MetricDoc struct {
	Type   string   // gauge, counter, histogram
	Labels []string // the metric's own labels; empty for "—"
}

// Names a selector may use for this metric: the name itself, plus _bucket,
// _sum and _count for histograms.
func (m MetricDoc) seriesSuffixes() []string {
	if m.Type == "histogram" {
		return []string{"_bucket", "_sum", "_count"}
	}
	return nil
}

// ParseMetricsDoc reads the metric table of docs/metrics.md: rows of the form
// "| `name` | type | labels | meaning |". It fails when a row is malformed
// or a name repeats, and when the table has no rows at all.
func ParseMetricsDoc(r io.Reader) (map[string]MetricDoc, error) {
	docs := map[string]MetricDoc{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 4 {
			return nil, fmt.Errorf("metrics doc line %d: want 4 cells (name, type, labels, meaning), got %d", n, len(cells))
		}
		name := strings.Trim(strings.TrimSpace(cells[0]), "`")
		typ := strings.TrimSpace(cells[1])
		switch typ {
		case "gauge", "counter", "histogram", "summary":
		default:
			return nil, fmt.Errorf("metrics doc line %d: metric %s has unknown type %q", n, name, typ)
		}
		if _, dup := docs[name]; dup {
			return nil, fmt.Errorf("metrics doc line %d: metric %s listed twice", n, name)
		}
		docs[name] = MetricDoc{Type: typ, Labels: splitLabels(cells[2])}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics doc: %w", err)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("metrics doc: no metric rows found")
	}
	return docs, nil
}

func splitLabels(cell string) []string {
	var out []string
	for _, l := range strings.Split(cell, ",") {
		l = strings.TrimSpace(l)
		if l != "" && l != "—" && l != "-" {
			out = append(out, l)
		}
	}
	return out
}

// lookupSeries resolves a series name used in PromQL (ebb_x, ebb_x_bucket,
// ...) to its documented metric.
func lookupSeries(docs map[string]MetricDoc, series string) (string, MetricDoc, bool) {
	if d, ok := docs[series]; ok {
		return series, d, true
	}
	for name, d := range docs {
		for _, s := range d.seriesSuffixes() {
			if series == name+s {
				return name, d, true
			}
		}
	}
	return "", MetricDoc{}, false
}
