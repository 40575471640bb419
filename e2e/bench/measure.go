package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ebb-autoscaler/ebb/e2e/harness"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat
// (100 on every Linux architecture Go supports).
const clockTicks = 100

// ProcStats is what /proc tells about one process.
type ProcStats struct {
	CPUSeconds float64 // user + system time so far
	PeakRSS    int64   // VmHWM: the largest resident set so far, bytes
}

// readProcStats reads /proc/<pid>/stat and /proc/<pid>/status.
func readProcStats(pid int) (ProcStats, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcStats{}, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	cpu, err := parseStatCPU(stat)
	if err != nil {
		return ProcStats{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcStats{}, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	hwm, err := parseStatusKB(status, "VmHWM")
	if err != nil {
		return ProcStats{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	return ProcStats{CPUSeconds: cpu, PeakRSS: hwm * 1024}, nil
}

// parseStatCPU returns utime + stime of a /proc/<pid>/stat line in
// seconds. The command name (field 2) may hold spaces and parentheses, so
// fields are counted from the last ')'.
func parseStatCPU(stat []byte) (float64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no ')' after the command name")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command name, want at least 13", len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("stat utime/stime: %w", err)
	}
	return float64(utime+stime) / clockTicks, nil
}

// parseStatusKB returns the value in kB of field name in /proc/<pid>/status.
func parseStatusKB(status []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != name {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("status %s: %q, want '<n> kB'", name, v)
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("status: no %s line", name)
}

// RequestKey is one row of the API request table.
type RequestKey struct {
	User     string // the authenticated user, shortened (see shortUser)
	Verb     string // audit verb: get, list, watch, update, patch, create...
	Resource string // group/resource[/subresource], "" group for core
}

func (k RequestKey) String() string { return k.User + " " + k.Verb + " " + k.Resource }

// auditEvent is the part of an audit.k8s.io/v1 Event the count needs.
type auditEvent struct {
	AuditID  string    `json:"auditID"`
	Stage    string    `json:"stage"`
	Verb     string    `json:"verb"`
	Received time.Time `json:"requestReceivedTimestamp"`
	User     struct {
		Username string `json:"username"`
	} `json:"user"`
	ObjectRef *struct {
		APIGroup    string `json:"apiGroup"`
		Resource    string `json:"resource"`
		Subresource string `json:"subresource"`
	} `json:"objectRef"`
	RequestURI string `json:"requestURI"`
}

// CountAudit reads audit events (JSON lines) and counts requests of users
// received in [from, to) by user, verb and resource; each request counts
// once (a long-running request logs ResponseStarted and ResponseComplete
// under one auditID). Lines that do not decode are an error naming the
// line.
func CountAudit(r io.Reader, users map[string]bool, from, to time.Time) (map[RequestKey]int, error) {
	out := map[RequestKey]int{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var ev auditEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("audit log line %d: %w", line, err)
		}
		if !users[ev.User.Username] || ev.Stage == "RequestReceived" || seen[ev.AuditID] ||
			ev.Received.Before(from) || !ev.Received.Before(to) {
			continue
		}
		seen[ev.AuditID] = true
		out[RequestKey{User: shortUser(ev.User.Username), Verb: ev.Verb, Resource: ev.resource()}]++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return out, nil
}

func (ev auditEvent) resource() string {
	if ev.ObjectRef == nil {
		return ev.RequestURI // a non-resource URL such as /api or /apis
	}
	s := ev.ObjectRef.APIGroup + "/" + ev.ObjectRef.Resource
	if ev.ObjectRef.Subresource != "" {
		s += "/" + ev.ObjectRef.Subresource
	}
	return s
}

// shortUser drops the system:serviceaccount: prefix.
func shortUser(u string) string { return strings.TrimPrefix(u, "system:serviceaccount:") }

// Scrape is one parsed Prometheus text exposition.
type Scrape map[string]*dto.MetricFamily

// ParseScrape parses the text exposition format.
func ParseScrape(body []byte) (Scrape, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse metrics: %w", err)
	}
	return Scrape(mfs), nil
}

// Sum adds every counter, gauge or untyped sample of name whose labels
// include match.
func (s Scrape) Sum(name string, match map[string]string) float64 {
	var sum float64
	mf := s[name]
	if mf == nil {
		return 0
	}
	for _, m := range mf.GetMetric() {
		if !harness.LabelsMatch(m.GetLabel(), match) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum
}

// Histogram is a cumulative histogram: Buckets[i] observations <= Bounds[i].
type Histogram struct {
	Bounds  []float64 // upper bounds, ascending, +Inf last
	Buckets []float64 // cumulative counts
	Count   float64
	Sum     float64
}

// Histogram merges every series of histogram name whose labels include
// match (they must share bucket bounds).
func (s Scrape) Histogram(name string, match map[string]string) (Histogram, error) {
	var h Histogram
	mf := s[name]
	if mf == nil {
		return h, fmt.Errorf("no metric %s", name)
	}
	for _, m := range mf.GetMetric() {
		if m.Histogram == nil || !harness.LabelsMatch(m.GetLabel(), match) {
			continue
		}
		mh := m.GetHistogram()
		bounds := make([]float64, 0, len(mh.GetBucket())+1)
		counts := make([]float64, 0, len(mh.GetBucket())+1)
		for _, b := range mh.GetBucket() {
			bounds = append(bounds, b.GetUpperBound())
			counts = append(counts, float64(b.GetCumulativeCount()))
		}
		if len(bounds) == 0 || !math.IsInf(bounds[len(bounds)-1], 1) {
			bounds = append(bounds, math.Inf(1))
			counts = append(counts, float64(mh.GetSampleCount()))
		}
		if h.Bounds == nil {
			h.Bounds, h.Buckets = bounds, make([]float64, len(bounds))
		}
		if len(bounds) != len(h.Bounds) {
			return Histogram{}, fmt.Errorf("%s: series with different buckets", name)
		}
		for i := range counts {
			h.Buckets[i] += counts[i]
		}
		h.Count += float64(mh.GetSampleCount())
		h.Sum += mh.GetSampleSum()
	}
	if h.Bounds == nil {
		return h, fmt.Errorf("no %s series with labels %v", name, match)
	}
	return h, nil
}

// Minus is h - earlier (observations between two scrapes of one process).
func (h Histogram) Minus(earlier Histogram) Histogram {
	if earlier.Bounds == nil {
		return h
	}
	out := Histogram{Bounds: h.Bounds, Buckets: make([]float64, len(h.Buckets)), Count: h.Count - earlier.Count, Sum: h.Sum - earlier.Sum}
	for i := range h.Buckets {
		out.Buckets[i] = h.Buckets[i] - earlier.Buckets[i]
	}
	return out
}

// Mean is Sum/Count (NaN without observations).
func (h Histogram) Mean() float64 {
	if h.Count == 0 {
		return math.NaN()
	}
	return h.Sum / h.Count
}

// Quantile estimates the q-quantile as Prometheus' histogram_quantile does:
// linear within the bucket holding it, the lower bound of the first bucket
// taken as 0, and the highest finite bound when it falls in +Inf.
func (h Histogram) Quantile(q float64) float64 {
	if h.Count == 0 || len(h.Bounds) == 0 {
		return math.NaN()
	}
	rank := q * h.Count
	i := sort.Search(len(h.Buckets), func(i int) bool { return h.Buckets[i] >= rank })
	if i >= len(h.Bounds) {
		i = len(h.Bounds) - 1
	}
	if math.IsInf(h.Bounds[i], 1) {
		if i == 0 {
			return math.NaN()
		}
		return h.Bounds[i-1]
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = h.Bounds[i-1], h.Buckets[i-1]
	}
	in := h.Buckets[i] - below
	if in == 0 {
		return h.Bounds[i]
	}
	return lower + (h.Bounds[i]-lower)*(rank-below)/in
}
