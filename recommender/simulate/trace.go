package simulate

import (
	"bufio"
	"errors"
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
	err := readCSV(r, "trace", []string{"t_seconds", "demand_cores"}, func(line int, v []float64, f []string) error {
		switch {
		case math.IsNaN(v[0]) || math.IsInf(v[0], 0) || v[0] < 0 || v[0] > 1e9:
			return fmt.Errorf("trace line %d: t_seconds %q is not a number of seconds in [0, 1e9]", line, f[0])
		case math.IsNaN(v[1]) || math.IsInf(v[1], 0) || v[1] < 0:
			return fmt.Errorf("trace line %d: demand_cores %q is not a finite number >= 0", line, f[1])
		}
		p := Point{T: seconds(v[0]), Demand: v[1]}
		if n := len(out); n > 0 && p.T <= out[n-1].T {
			return fmt.Errorf("trace line %d: t_seconds %q is not after the previous row's %v", line, f[0], out[n-1].T.Seconds())
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// readCSV reads a numeric CSV of the given columns, calling row for each
// data line with its numbers and fields; a field that is not a number is an
// error naming the line, the column and the value. Empty lines, lines
// starting with '#' and a first line that is not numeric (the header) are
// skipped; no data line at all is an error.
func readCSV(r io.Reader, what string, columns []string, row func(line int, v []float64, fields []string) error) error {
	sc := bufio.NewScanner(r)
	line, seen, rows := 0, false, 0
	v := make([]float64, len(columns))
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		first := !seen
		seen = true
		fields := strings.Split(text, ",")
		if len(fields) != len(columns) {
			if first {
				continue // header
			}
			return fmt.Errorf("%s line %d: want %d fields %s, got %d in %q", what, line, len(columns), strings.Join(columns, ","), len(fields), text)
		}
		var errs []error
		for i, f := range fields {
			fields[i] = strings.TrimSpace(f)
			var err error
			if v[i], err = strconv.ParseFloat(fields[i], 64); err != nil {
				errs = append(errs, fmt.Errorf("%s line %d: %s %q is not a number", what, line, columns[i], fields[i]))
			}
		}
		if first && len(errs) > 0 {
			continue // header
		}
		if len(errs) > 0 {
			return errs[0]
		}
		if err := row(line, v, fields); err != nil {
			return err
		}
		rows++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", what, err)
	}
	if rows == 0 {
		return errors.New(what + ": no data rows")
	}
	return nil
}
