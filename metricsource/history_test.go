package metricsource

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

func TestSplitRange(t *testing.T) {
	t0 := time.Unix(1700000000, 0).UTC()
	type r struct{ start, end time.Duration }
	for _, tc := range []struct {
		name      string
		span      time.Duration
		step      time.Duration
		maxPoints int
		maxRange  time.Duration
		want      []r // offsets from t0
		wantErr   string
	}{
		{name: "fits in one query", span: 10 * time.Minute, step: time.Minute, maxPoints: 11, maxRange: time.Hour,
			want: []r{{0, 10 * time.Minute}}},
		{name: "one point over splits", span: 11 * time.Minute, step: time.Minute, maxPoints: 11, maxRange: time.Hour,
			want: []r{{0, 10 * time.Minute}, {11 * time.Minute, 11 * time.Minute}}},
		{name: "three chunks", span: 25 * time.Minute, step: time.Minute, maxPoints: 10, maxRange: time.Hour,
			want: []r{{0, 9 * time.Minute}, {10 * time.Minute, 19 * time.Minute}, {20 * time.Minute, 25 * time.Minute}}},
		{name: "a single instant", span: 0, step: time.Minute, maxPoints: 2, maxRange: time.Hour, want: []r{{0, 0}}},
		{name: "zero step", span: time.Minute, step: 0, maxPoints: 10, maxRange: time.Hour, wantErr: "step 0s: must be positive"},
		{name: "end before start", span: -time.Minute, step: time.Second, maxPoints: 10, maxRange: time.Hour, wantErr: "is before start"},
		{name: "too long", span: 2 * time.Hour, step: time.Minute, maxPoints: 10, maxRange: time.Hour, wantErr: "longer than the maximum 1h0m0s"},
		{name: "max points too small", span: time.Hour, step: time.Minute, maxPoints: 1, maxRange: time.Hour, wantErr: "max points per query 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitRange(t0, t0.Add(tc.span), tc.step, tc.maxPoints, tc.maxRange)
			if tc.wantErr != "" {
				checkErr(t, err, true, nil, []string{tc.wantErr})
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want []promv1.Range
			for _, w := range tc.want {
				want = append(want, promv1.Range{Start: t0.Add(w.start), End: t0.Add(w.end), Step: tc.step})
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("SplitRange() (-want +got):\n%s", d)
			}
			for _, c := range got {
				if n := int(c.End.Sub(c.Start)/c.Step) + 1; n > tc.maxPoints {
					t.Errorf("chunk %v has %d points, more than %d", c, n, tc.maxPoints)
				}
			}
		})
	}
}

// rangeServer answers /api/v1/query_range by generating, for each
// requested point, series {pod="web-1"} with value = unix seconds, and
// {pod="web-2"} only before cutoff. Query "neg" gives -1, "nan" gives NaN
// for web-1, "none" no series.
type rangeServer struct {
	cutoff   int64
	requests atomic.Int64
}

func (s *rangeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	start, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
	end, _ := strconv.ParseFloat(r.Form.Get("end"), 64)
	step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
	q := r.Form.Get("query")
	var web1, web2 [][2]any
	for ts := int64(start); step > 0 && float64(ts) <= end; ts += int64(step) {
		v := strconv.FormatInt(ts, 10)
		switch q {
		case "neg":
			v = "-1"
		case "nan":
			v = "NaN"
		}
		web1 = append(web1, [2]any{ts, v})
		if ts < s.cutoff {
			web2 = append(web2, [2]any{ts, "1"})
		}
	}
	var result []map[string]any
	if q != "none" {
		if len(web2) > 0 {
			result = append(result, map[string]any{"metric": map[string]string{"pod": "web-2"}, "values": web2})
		}
		result = append(result, map[string]any{"metric": map[string]string{"pod": "web-1"}, "values": web1})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success",
		"data": map[string]any{"resultType": "matrix", "result": result}})
}

func TestRangeQueryChunksAndMerges(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	rs := &rangeServer{cutoff: t0.Add(30 * time.Second).Unix()}
	srv := httptest.NewServer(rs)
	t.Cleanup(srv.Close)
	p, err := NewPrometheusClient(srv.URL, config.DefaultHTTPClientConfig, time.Second, WithRangeLimits(10, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.RangeQuery(context.Background(), "up", t0, t0.Add(99*time.Second), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if n := rs.requests.Load(); n != 4 { // 34 points, 10 per query
		t.Errorf("range requests = %d, want 4", n)
	}
	var want1 []Sample
	for ts := t0; !ts.After(t0.Add(99 * time.Second)); ts = ts.Add(3 * time.Second) {
		want1 = append(want1, Sample{Time: ts, Value: float64(ts.Unix())})
	}
	var want2 []Sample
	for ts := t0; ts.Before(t0.Add(30 * time.Second)); ts = ts.Add(3 * time.Second) {
		want2 = append(want2, Sample{Time: ts, Value: 1})
	}
	want := []Series{{Labels: map[string]string{"pod": "web-2"}, Samples: want2}, {Labels: map[string]string{"pod": "web-1"}, Samples: want1}}
	if d := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); d != "" {
		t.Errorf("RangeQuery() (-want +got):\n%s", d)
	}
}

func TestRangeQueryBadData(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	srv := httptest.NewServer(&rangeServer{})
	t.Cleanup(srv.Close)
	p, err := NewPrometheusClient(srv.URL, config.DefaultHTTPClientConfig, time.Second, WithRangeLimits(0, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		query    string
		end      time.Duration
		wantErr  error
		wantText []string
	}{
		{name: "negative names series", query: "neg", end: time.Minute, wantErr: ErrBadData, wantText: []string{`{pod="web-1"}`, "-1"}},
		{name: "NaN points only is no data", query: "nan", end: time.Minute, wantErr: ErrNoData},
		{name: "no series", query: "none", end: time.Minute, wantErr: ErrNoData},
		{name: "range over the limit", query: "up", end: 2 * time.Hour, wantText: []string{"longer than the maximum"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.RangeQuery(context.Background(), tc.query, t0, t0.Add(tc.end), 15*time.Second)
			if got != nil {
				t.Errorf("RangeQuery() = %v, want nil", got)
			}
			checkErr(t, err, true, tc.wantErr, append(tc.wantText, tc.query))
		})
	}
}

// queryOnly is a Querier that cannot run range queries.
type queryOnly struct{}

func (queryOnly) Query(context.Context, string, time.Time, ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error) {
	return model.Vector{}, nil, nil, nil
}

func TestRangeQueryNeedsRangeQuerier(t *testing.T) {
	p := NewPrometheus(queryOnly{})
	_, err := p.RangeQuery(context.Background(), "up", time.Unix(0, 0), time.Unix(60, 0), time.Second)
	if err == nil || errors.Is(err, ErrNoData) {
		t.Errorf("RangeQuery() error = %v, want a clear error", err)
	}
}

func TestHistoryQueries(t *testing.T) {
	re, err := QueryVars{Pods: []string{"web-1.a"}}.PodRegex()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, got, want string }{
		{"cpu", CPUUsageQuery("prod", re, 5*time.Minute),
			`sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{namespace="prod",pod=~"web-1\\.a",container!="",container!="POD"}[5m]))`},
		{"memory", MemoryWorkingSetQuery("prod", re),
			`max by (namespace, pod, container) (container_memory_working_set_bytes{namespace="prod",pod=~"web-1\\.a",container!="",container!="POD"})`},
	} {
		if tc.got != tc.want {
			t.Errorf("%s query = %s, want %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestWorkloadQueries(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{WorkloadReplicasQuery("kube_deployment_status_replicas", `p"rod`), `max by (namespace, deployment) (kube_deployment_status_replicas{namespace="p\"rod"})`},
		{WorkloadReplicasQuery("kube_statefulset_replicas", "prod"), `max by (namespace, statefulset) (kube_statefulset_replicas{namespace="prod"})`},
		{PodCPURequestQuery("prod", `web-[0-9]+`), `sum by (namespace, pod) (kube_pod_container_resource_requests{namespace="prod",pod=~"web-[0-9]+",resource="cpu"})`},
	} {
		if tc.got != tc.want {
			t.Errorf("got  %s\nwant %s", tc.got, tc.want)
		}
	}
}
