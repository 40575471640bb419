package metricsource

import (
	"context"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// bodyTransport answers every request with a fixed status and body, in
// memory: the real client_golang decoding path without a socket.
type bodyTransport struct {
	status int
	body   string
}

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: b.status, Status: http.StatusText(b.status), Request: r,
		Header: http.Header{"Content-Type": []string{"application/json"}},
		Body:   io.NopCloser(strings.NewReader(b.body)),
	}, nil
}

func promOverBody(t testing.TB, status int, body string) *Prometheus {
	c, err := api.NewClient(api.Config{Address: "http://prometheus.invalid", RoundTripper: bodyTransport{status, body}})
	if err != nil {
		t.Fatal(err)
	}
	return NewPrometheus(promv1.NewAPI(c), WithRangeLimits(5, 24*time.Hour))
}

// FuzzDecodeResult feeds arbitrary API response bodies through the client's
// decoder and ours: never a panic, and a nil error always comes with
// finite, non-negative values.
func FuzzDecodeResult(f *testing.F) {
	for _, body := range []string{
		vectorBody(`{"metric":{"pod":"web-1"},"value":[1700000000,"1.5"]}`),
		vectorBody(`{"metric":{"pod":"web-1"},"value":[1700000000,"NaN"]}`),
		vectorBody(``),
		vectorBody(`{"metric":{},"value":[1700000000,"-Inf"]}`),
		`{"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"a"},"values":[[1700000000,"1"],[1700000015,"NaN"]]}]}}`,
		`{"status":"success","data":{"resultType":"string","result":[1700000000,"x"]}}`,
		`{"status":"error","errorType":"bad_data","error":"parse error"}`,
		`{"status":"success","warnings":["w"],"data":{"resultType":"vector","result":null}}`,
		`{"status":"success","data":{"resultType":"vector","result":[null]}}`,
		`not json`,
	} {
		f.Add(200, body)
	}
	f.Add(400, `{"status":"error","errorType":"bad_data","error":"x"}`)
	f.Add(503, `unavailable`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 599 {
			status = 200
		}
		p := promOverBody(t, status, body)
		ctx := context.Background()
		at := time.Unix(1700000000, 0)
		if pv, err := p.PodValues(ctx, "q", at); err == nil {
			if len(pv) == 0 {
				t.Error("PodValues() = empty without error")
			}
			for pod, v := range pv {
				checkFinite(t, "PodValues["+pod+"]", v)
			}
		} else if !strings.Contains(err.Error(), `"q"`) {
			t.Errorf("PodValues() error %q does not name the query", err)
		}
		if v, err := p.Scalar(ctx, "q", at); err == nil {
			checkFinite(t, "Scalar", v)
		}
		if series, err := p.RangeQuery(ctx, "q", at, at.Add(time.Minute), 15*time.Second); err == nil {
			for _, s := range series {
				for _, smp := range s.Samples {
					checkFinite(t, "RangeQuery sample", smp.Value)
				}
			}
		}
	})
}

func checkFinite(t *testing.T, what string, v float64) {
	t.Helper()
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		t.Errorf("%s = %v without error", what, v)
	}
}
