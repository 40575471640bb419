package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// csvHeader is the single header of the CSV format. Every row repeats the
// target columns; the "row" column says what the rest describes: "target"
// (a target without metrics or containers), "metric" (one metric of the
// target) or "container" (one vertical recommendation). Unknown values are
// empty cells; the CSV carries raw numbers (milli-units, bytes, seconds),
// the metric's unit beside them, and "inf" for an unbounded vertical bound
// (as strconv.ParseFloat and spreadsheet tools read it).
var csvHeader = []string{
	"generated_at", "namespace", "kind", "name", "mode",
	"current", "recommended", "stabilized", "desired", "min", "max",
	"reason", "message", "shaped_by", "blocking", "notes", "forecast_replicas", "forecast_gate", "row",
	"metric", "target_type", "target", "unit", "utilization", "value_milli", "proposed", "error",
	"container", "cpu_target_milli", "cpu_lower_milli", "cpu_upper_milli", "cpu_request_milli", "cpu_usage_milli",
	"memory_target_bytes", "memory_lower_bytes", "memory_upper_bytes", "memory_request_bytes", "memory_usage_bytes",
	"history_seconds", "confidence",
}

// The widths of the metric and container blocks of a CSV row.
const (
	csvMetricCols    = 8
	csvContainerCols = 13
)

func renderCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, t := range r.Targets {
		base := csvTarget(r, t)
		rows := make([][]string, 0, len(t.Metrics)+len(t.Vertical)+1)
		for _, m := range t.Metrics {
			rows = append(rows, csvRow(base, "metric", csvMetric(m), make([]string, csvContainerCols)))
		}
		for _, c := range t.Vertical {
			rows = append(rows, csvRow(base, "container", make([]string, csvMetricCols), csvContainer(c)))
		}
		if len(rows) == 0 {
			rows = append(rows, csvRow(base, "target", make([]string, csvMetricCols), make([]string, csvContainerCols)))
		}
		if err := cw.WriteAll(rows); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func csvRow(base []string, kind string, metric, container []string) []string {
	row := make([]string, 0, len(csvHeader))
	row = append(row, base...)
	row = append(row, kind)
	row = append(row, metric...)
	return append(row, container...)
}

func csvTarget(r Report, t Target) []string {
	var fcReplicas, fcGate string
	if f := t.Forecast; f != nil {
		fcReplicas, fcGate = strconv.Itoa(int(f.Replicas)), f.Gate.Reason
	}
	return []string{generatedAt(r.GeneratedAt), r.Namespace, t.Kind, t.Name, t.Mode,
		optInt32(t.Current), optInt32(t.Recommended), optInt32(t.Stabilized), optInt32(t.Desired),
		strconv.Itoa(int(t.Min)), strconv.Itoa(int(t.Max)), t.Reason, t.Message,
		strings.Join(t.ShapedBy, "; "), joinConditions(t.Blocking), joinConditions(t.Notes), fcReplicas, fcGate}
}

func joinConditions(cs []Condition) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.String()
	}
	return strings.Join(s, "; ")
}

func csvMetric(m Metric) []string {
	return []string{m.Name, m.TargetType, strconv.FormatInt(m.Target, 10), string(m.Unit), optInt32(m.Utilization),
		optInt64(m.Value), optInt32(m.Replicas), m.Error}
}

func csvContainer(c Container) []string {
	return []string{c.Name, csvAmount(c.Target.CPUMilli), csvAmount(c.LowerBound.CPUMilli),
		csvAmount(c.UpperBound.CPUMilli), csvAmount(c.Request.CPUMilli), csvAmount(c.Usage.CPUMilli),
		csvAmount(c.Target.MemoryBytes), csvAmount(c.LowerBound.MemoryBytes), csvAmount(c.UpperBound.MemoryBytes),
		csvAmount(c.Request.MemoryBytes), csvAmount(c.Usage.MemoryBytes),
		strconv.FormatFloat(float64(c.History)/1e9, 'f', -1, 64), strconv.FormatFloat(c.Confidence, 'f', -1, 64)}
}

func optInt32(p *int32) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(int64(*p), 10)
}

// csvAmount is a resource amount, "inf" when unbounded.
func csvAmount(p *int64) string {
	if p != nil && *p >= Unbounded {
		return "inf"
	}
	return optInt64(p)
}

func optInt64(p *int64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatInt(*p, 10)
}
