package report

import (
	"fmt"
	"math"
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

// decimal formats a milli-unit value as a plain number: "12.5", "10",
// "0.25".
func decimal(v int64) string {
	return strconv.FormatFloat(float64(v)/1000, 'f', -1, 64)
}

// millicores formats CPU always in millicores, so cores never sit next to
// millicores: "250m", "1500m".
func millicores(v int64) string {
	return strconv.FormatInt(v, 10) + "m"
}

// memUnits are the suffixes memory is shown in, largest first.
var memUnits = []struct {
	suffix string
	size   int64
}{{"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}}

// memUnit is the unit memory near ref bytes is shown in: Gi from 1Gi,
// otherwise Mi (Ki and bytes only below 1Mi).
func memUnit(ref int64) (string, int64) {
	for _, u := range memUnits {
		if ref >= u.size {
			return u.suffix, u.size
		}
	}
	return "", 1
}

// bytesIn formats v bytes in the unit chosen for ref, with up to two
// decimals in Gi and one in Mi: "256Mi", "1024Mi", "1.5Gi", "117.7Mi".
func bytesIn(v, ref int64) string {
	suffix, size := memUnit(ref)
	digits := 1.0
	if suffix == "Gi" {
		digits = 2
	}
	f := math.Pow(10, digits)
	return strconv.FormatFloat(math.Round(float64(v)/float64(size)*f)/f, 'f', -1, 64) + suffix
}

// observed is the metric's observed value in the unit of its target.
func observed(m Metric) string {
	if m.Utilization != nil {
		return fmt.Sprintf("%d%%", *m.Utilization)
	}
	if m.Value == nil {
		return unknown
	}
	return metricValue(m, *m.Value)
}

// target is the metric's target; AverageValue targets carry "(avg)".
func target(m Metric) string {
	switch m.TargetType {
	case "Utilization":
		return fmt.Sprintf("%d%%", m.Target)
	case "AverageValue":
		return metricValue(m, m.Target) + " (avg)"
	default:
		return metricValue(m, m.Target)
	}
}

// metricValue formats v milli-units of m's unit, memory in the unit its
// target is shown in.
func metricValue(m Metric, v int64) string {
	switch m.Unit {
	case UnitCores:
		return millicores(v)
	case UnitBytes:
		ref := m.Target / 1000
		if m.TargetType == "Utilization" {
			ref = v / 1000
		}
		return bytesIn(v/1000, ref)
	default:
		return decimal(v)
	}
}

// unbounded is how a vertical bound with no limit is shown.
const unbounded = "∞"

func cpu(p *int64) string {
	switch {
	case p == nil:
		return unknown
	case *p >= Unbounded:
		return unbounded
	default:
		return millicores(*p)
	}
}

// memory formats bytes in the unit chosen for ref (the row's target).
func memory(p *int64, ref *int64) string {
	switch {
	case p == nil:
		return unknown
	case *p >= Unbounded:
		return unbounded
	case ref == nil || *ref >= Unbounded:
		return bytesIn(*p, *p)
	default:
		return bytesIn(*p, *ref)
	}
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
