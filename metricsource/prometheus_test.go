package metricsource

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/config"
)

// promResponse is what the fake Prometheus answers for one query.
type promResponse struct {
	status int
	body   string
	delay  time.Duration
}

// fakePrometheus serves /api/v1/query and /api/v1/query_range from a map
// keyed by the query string and counts requests.
type fakePrometheus struct {
	responses map[string]promResponse
	requests  atomic.Int64
	auth      string // required Authorization header, if set
}

func (f *fakePrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if f.auth != "" && r.Header.Get("Authorization") != f.auth {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp, ok := f.responses[r.Form.Get("query")]
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"unknown query in fake"}`))
		return
	}
	if resp.delay > 0 {
		select {
		case <-time.After(resp.delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if resp.status != 0 {
		w.WriteHeader(resp.status)
	}
	_, _ = w.Write([]byte(resp.body))
}

func startFake(t *testing.T, f *fakePrometheus) string {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}

func vectorBody(samples string) string {
	return `{"status":"success","data":{"resultType":"vector","result":[` + samples + `]}}`
}

const (
	qPods    = `sum by (pod) (rate(http_requests_total[2m]))`
	qScalar  = `scalar(sum(queue_length))`
	qOne     = `sum(queue_length)`
	qEmpty   = `sum(absent_metric)`
	qNaN     = `sum by (pod) (nan_metric)`
	qNeg     = `sum by (pod) (neg_metric)`
	qInf     = `sum(inf_metric)`
	qNoPod   = `sum(http_requests_total)`
	qDupPod  = `http_requests_total`
	qMany    = `sum by (job) (up)`
	qBadJSON = `sum(rate(x[5m])`
	q503     = `sum(unavailable)`
	qSlow    = `sum(slow)`
	qWarn    = `sum by (pod) (warned)`
	qMatrix  = `up[5m]`
)

func standardResponses() map[string]promResponse {
	return map[string]promResponse{
		qPods:   {body: vectorBody(`{"metric":{"pod":"web-1"},"value":[1700000000,"1.5"]},{"metric":{"pod":"web-2"},"value":[1700000000,"0"]}`)},
		qScalar: {body: `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}}`},
		qOne:    {body: vectorBody(`{"metric":{},"value":[1700000000,"7.25"]}`)},
		qEmpty:  {body: vectorBody(``)},
		qNaN:    {body: vectorBody(`{"metric":{"pod":"web-1"},"value":[1700000000,"NaN"]}`)},
		qNeg:    {body: vectorBody(`{"metric":{"pod":"web-3"},"value":[1700000000,"-1"]}`)},
		qInf:    {body: vectorBody(`{"metric":{"job":"api"},"value":[1700000000,"+Inf"]}`)},
		qNoPod:  {body: vectorBody(`{"metric":{"job":"api"},"value":[1700000000,"3"]}`)},
		qDupPod: {body: vectorBody(`{"metric":{"pod":"web-1","code":"200"},"value":[1700000000,"3"]},{"metric":{"pod":"web-1","code":"500"},"value":[1700000000,"1"]}`)},
		qMany:   {body: vectorBody(`{"metric":{"job":"a"},"value":[1700000000,"1"]},{"metric":{"job":"b"},"value":[1700000000,"1"]}`)},
		qBadJSON: {status: http.StatusBadRequest,
			body: `{"status":"error","errorType":"bad_data","error":"1:25: parse error: unclosed left parenthesis"}`},
		q503:    {status: http.StatusServiceUnavailable, body: `Service Unavailable`},
		qSlow:   {delay: 5 * time.Second, body: vectorBody(``)},
		qWarn:   {body: `{"status":"success","warnings":["PromQL info: metric might not be a counter"],"data":{"resultType":"vector","result":[{"metric":{"pod":"web-1"},"value":[1700000000,"2"]}]}}`},
		qMatrix: {body: `{"status":"success","data":{"resultType":"matrix","result":[]}}`},
	}
}

func newTestPrometheus(t *testing.T, url string, opts ...Option) *Prometheus {
	t.Helper()
	p, err := NewPrometheusClient(url, config.DefaultHTTPClientConfig, 200*time.Millisecond, opts...)
	if err != nil {
		t.Fatalf("NewPrometheusClient: %v", err)
	}
	return p
}

func TestPrometheusPodValues(t *testing.T) {
	p := newTestPrometheus(t, startFake(t, &fakePrometheus{responses: standardResponses()}))
	for _, tc := range []struct {
		name     string
		query    string
		want     PodValues
		wantErr  error
		wantText []string
	}{
		{name: "vector by pod, zero kept as a value", query: qPods, want: PodValues{"web-1": 1.5, "web-2": 0}},
		{name: "empty vector is no data", query: qEmpty, wantErr: ErrNoData, wantText: []string{qEmpty}},
		{name: "NaN names the series", query: qNaN, wantErr: ErrBadData, wantText: []string{`{pod="web-1"}`, "NaN"}},
		{name: "negative names the series", query: qNeg, wantErr: ErrBadData, wantText: []string{`{pod="web-3"}`, "-1"}},
		{name: "series without pod label", query: qNoPod, wantErr: ErrBadData, wantText: []string{`job="api"`, "sum by (pod)"}},
		{name: "two series for one pod", query: qDupPod, wantErr: ErrBadData, wantText: []string{"web-1", "more than one series"}},
		{name: "scalar is the wrong shape", query: qScalar, wantErr: ErrBadData, wantText: []string{"got scalar"}},
		{name: "error JSON from Prometheus", query: qBadJSON, wantText: []string{"parse error: unclosed left parenthesis"}},
		{name: "503 is unavailable", query: q503, wantErr: ErrUnavailable, wantText: []string{"503"}},
		{name: "slow query times out", query: qSlow, wantErr: context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.PodValues(context.Background(), tc.query, time.Unix(1700000000, 0))
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("PodValues() (-want +got):\n%s", d)
			}
			checkErr(t, err, tc.want == nil, tc.wantErr, append(tc.wantText, "prometheus", tc.query))
		})
	}
}

func TestPrometheusScalar(t *testing.T) {
	p := newTestPrometheus(t, startFake(t, &fakePrometheus{responses: standardResponses()}))
	for _, tc := range []struct {
		name     string
		query    string
		want     float64
		wantErr  error
		wantText []string
	}{
		{name: "scalar", query: qScalar, want: 42},
		{name: "single-element vector", query: qOne, want: 7.25},
		{name: "empty vector is no data", query: qEmpty, wantErr: ErrNoData},
		{name: "+Inf names the series", query: qInf, wantErr: ErrBadData, wantText: []string{`job="api"`, "+Inf"}},
		{name: "more than one series", query: qMany, wantErr: ErrBadData, wantText: []string{"got 2"}},
		{name: "matrix is the wrong shape", query: qMatrix, wantErr: ErrBadData, wantText: []string{"got matrix"}},
		{name: "slow query times out", query: qSlow, wantErr: context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Scalar(context.Background(), tc.query, time.Unix(1700000000, 0))
			if got != tc.want {
				t.Errorf("Scalar() = %v, want %v", got, tc.want)
			}
			checkErr(t, err, tc.want == 0, tc.wantErr, append(tc.wantText, "prometheus", tc.query))
		})
	}
}

// checkErr checks err: present iff wantFail, wrapping wantErr, containing
// each of texts.
func checkErr(t *testing.T, err error, wantFail bool, wantErr error, texts []string) {
	t.Helper()
	if !wantFail {
		if err != nil {
			t.Fatalf("error = %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatal("error = nil, want an error")
	}
	if wantErr != nil && !errors.Is(err, wantErr) {
		t.Errorf("error = %v, want errors.Is %v", err, wantErr)
	}
	for _, s := range texts {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func TestPrometheusWarningsLogged(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	p := newTestPrometheus(t, startFake(t, &fakePrometheus{responses: standardResponses()}), WithLogger(log))
	got, err := p.PodValues(context.Background(), qWarn, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(PodValues{"web-1": 2}, got); d != "" {
		t.Errorf("PodValues() (-want +got):\n%s", d)
	}
	for _, s := range []string{"level=WARN", "metric might not be a counter", qWarn, "warned"} {
		if !strings.Contains(buf.String(), s) {
			t.Errorf("log %q does not contain %q", buf.String(), s)
		}
	}
}

func TestPrometheusConnectionRefusedIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := newTestPrometheus(t, url).Scalar(context.Background(), qOne, time.Unix(1700000000, 0))
	checkErr(t, err, true, ErrUnavailable, []string{qOne})
}

func TestPrometheusHTTPConfig(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url := startFake(t, &fakePrometheus{responses: standardResponses(), auth: "Bearer s3cret"})
	for _, tc := range []struct {
		name    string
		cfg     map[string]any
		wantErr bool
	}{
		{name: "bearer token file", cfg: map[string]any{"bearer_token_file": tokenFile}},
		{name: "authorization credentials file", cfg: map[string]any{"authorization": map[string]any{"credentials_file": tokenFile}}},
		{name: "no credentials is refused by the server", cfg: nil, wantErr: true},
		{name: "wrong basic auth is refused", cfg: map[string]any{"basic_auth": map[string]any{"username": "u", "password": "p"}}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := DecodeHTTPConfig(tc.cfg)
			if err != nil {
				t.Fatalf("DecodeHTTPConfig: %v", err)
			}
			p, err := NewPrometheusClient(url, cfg, time.Second)
			if err != nil {
				t.Fatalf("NewPrometheusClient: %v", err)
			}
			_, err = p.Scalar(context.Background(), qOne, time.Unix(1700000000, 0))
			if gotErr := err != nil; gotErr != tc.wantErr {
				t.Errorf("Scalar() error = %v, want error: %v", err, tc.wantErr)
			}
		})
	}
}

func TestDecodeHTTPConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  map[string]any
		want string
	}{
		{name: "unknown field", cfg: map[string]any{"bearer_tokn_file": "x"}, want: "bearer_tokn_file"},
		{name: "two credentials", cfg: map[string]any{"bearer_token": "a", "bearer_token_file": "b"}, want: "at most one"},
		{name: "bad proxy url", cfg: map[string]any{"proxy_url": "://x"}, want: "://x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeHTTPConfig(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeHTTPConfig() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestNewPrometheusClientErrors(t *testing.T) {
	if _, err := NewPrometheusClient("", config.DefaultHTTPClientConfig, time.Second); err == nil {
		t.Error("empty url: error = nil")
	}
	for _, url := range []string{"http://[::1", "localhost:9090", "ftp://x", "http://"} {
		if _, err := NewPrometheusClient(url, config.DefaultHTTPClientConfig, time.Second); err == nil || !strings.Contains(err.Error(), url) {
			t.Errorf("NewPrometheusClient(%q) error = %v, want one naming the url", url, err)
		}
	}
}

func TestSourceMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	sm := NewSourceMetrics(reg)
	p := newTestPrometheus(t, startFake(t, &fakePrometheus{responses: standardResponses()}), WithMetrics(sm))
	at := time.Unix(1700000000, 0)
	ctx := context.Background()
	_, _ = p.PodValues(ctx, qPods, at)
	_, _ = p.Scalar(ctx, qOne, at)
	_, _ = p.Scalar(ctx, qEmpty, at)
	_, _ = p.PodValues(ctx, qNaN, at)
	_, _ = p.Scalar(ctx, q503, at)
	_, _ = p.Scalar(ctx, qBadJSON, at)
	ms := NewMetricsServer(newFakeMetrics(t).MetricsV1beta1(), WithMetrics(sm))
	_, _ = ms.PodUsage(ctx, "empty", nil)

	want := `
# HELP ebb_source_errors_total Failed requests to a metric source by kind (transport, no_data, bad_data, unavailable).
# TYPE ebb_source_errors_total counter
ebb_source_errors_total{kind="bad_data",source="prometheus"} 1
ebb_source_errors_total{kind="no_data",source="metrics-server"} 1
ebb_source_errors_total{kind="no_data",source="prometheus"} 1
ebb_source_errors_total{kind="transport",source="prometheus"} 1
ebb_source_errors_total{kind="unavailable",source="prometheus"} 1
# HELP ebb_source_requests_total Requests to a metric source by result (success, error).
# TYPE ebb_source_requests_total counter
ebb_source_requests_total{result="error",source="metrics-server"} 1
ebb_source_requests_total{result="error",source="prometheus"} 4
ebb_source_requests_total{result="success",source="prometheus"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ebb_source_requests_total", "ebb_source_errors_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.CollectAndCount(sm.duration, "ebb_source_request_duration_seconds"); got != 2 {
		t.Errorf("duration histograms = %d, want 2 (one per source)", got)
	}
}
