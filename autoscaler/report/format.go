package report

import (
	"fmt"
	"strconv"
	"time"
)

// unknown is how a value ebb could not observe or compute is shown.
const unknown = "<unknown>"

func replicas(p *int32) string {
	if p == nil {
		return unknown
	}
	return strconv.FormatInt(int64(*p), 10)
}

// milli formats a milli-unit value like a Kubernetes quantity: "2", "1500m".
func milli(v int64) string {
	if v%1000 == 0 {
		return strconv.FormatInt(v/1000, 10)
	}
	return strconv.FormatInt(v, 10) + "m"
}

// observed is the metric's observed value as kubectl shows it.
func observed(m Metric) string {
	if m.Utilization != nil {
		return fmt.Sprintf("%d%%", *m.Utilization)
	}
	if m.Value == nil {
		return unknown
	}
	return milli(*m.Value)
}

// target is the metric's target as kubectl shows it; AverageValue targets
// carry "(avg)".
func target(m Metric) string {
	switch m.TargetType {
	case "Utilization":
		return fmt.Sprintf("%d%%", m.Target)
	case "AverageValue":
		return milli(m.Target) + " (avg)"
	default:
		return milli(m.Target)
	}
}

func cpu(p *int64) string {
	if p == nil {
		return unknown
	}
	return milli(*p)
}

// memory formats bytes with the largest binary suffix that divides them
// exactly, like a Kubernetes quantity ("256Mi", "1536Ki").
func memory(p *int64) string {
	if p == nil {
		return unknown
	}
	v := *p
	for _, s := range []struct {
		suffix string
		size   int64
	}{{"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}} {
		if v != 0 && v%s.size == 0 {
			return strconv.FormatInt(v/s.size, 10) + s.suffix
		}
	}
	return strconv.FormatInt(v, 10)
}

func confidence(c float64) string { return strconv.FormatFloat(c, 'f', 2, 64) }

func history(d Duration) string { return time.Duration(d).String() }

func generatedAt(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// metricsCell summarizes a target's metrics in one cell:
// "Resource/cpu 85%/80%, Pods/rps <unknown>/10 (avg)".
func metricsCell(ms []Metric) string {
	s := ""
	for i, m := range ms {
		if i > 0 {
			s += ", "
		}
		s += m.Name + " " + observed(m) + "/" + target(m)
	}
	return s
}
