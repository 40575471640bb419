package simulate

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseTrace reads a CSV `t_seconds,demand_cores`. Empty lines, lines
// starting with '#' and a first line that is not numeric (the header) are
// skipped. Errors name the line and the value.
func ParseTrace(r io.Reader) ([]Point, error) {
	var out []Point
	sc := bufio.NewScanner(r)
	line, seen := 0, false
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		first := !seen
		seen = true
		fields := strings.Split(text, ",")
		if len(fields) != 2 {
			if first {
				continue // header
			}
			return nil, fmt.Errorf("trace line %d: want 2 fields t_seconds,demand_cores, got %d in %q", line, len(fields), text)
		}
		t, errT := strconv.ParseFloat(strings.TrimSpace(fields[0]), 64)
		d, errD := strconv.ParseFloat(strings.TrimSpace(fields[1]), 64)
		if first && (errT != nil || errD != nil) {
			continue // header
		}
		switch {
		case errT != nil || math.IsNaN(t) || math.IsInf(t, 0) || t < 0 || t > 1e9:
			return nil, fmt.Errorf("trace line %d: t_seconds %q is not a number of seconds in [0, 1e9]", line, fields[0])
		case errD != nil || math.IsNaN(d) || math.IsInf(d, 0) || d < 0:
			return nil, fmt.Errorf("trace line %d: demand_cores %q is not a finite number >= 0", line, fields[1])
		}
		p := Point{T: time.Duration(math.Round(t * float64(time.Second))), Demand: d}
		if n := len(out); n > 0 && p.T <= out[n-1].T {
			return nil, fmt.Errorf("trace line %d: t_seconds %q is not after the previous row's %v", line, fields[0], out[n-1].T.Seconds())
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read trace: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("trace: no data rows")
	}
	return out, nil
}
