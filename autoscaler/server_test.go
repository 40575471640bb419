package autoscaler

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newMetrics(reg)
	m.leader.Set(1)
	ready := &Readiness{}
	health := &fakeHealth{}
	srv := httptest.NewServer(Handler(reg, ready, health))
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, path string
		ready      bool
		unhealthy  error
		wantCode   int
		wantBody   string
	}{
		{name: "healthz before ready", path: "/healthz", wantCode: 200, wantBody: "ok"},
		{name: "healthz of a stalled loop", path: "/healthz", unhealthy: errors.New("no pass completed for 1m0s"),
			wantCode: 500, wantBody: "unhealthy: no pass completed for 1m0s"},
		{name: "readyz before sync", path: "/readyz", wantCode: 503, wantBody: "not ready"},
		{name: "readyz after sync", path: "/readyz", ready: true, wantCode: 200, wantBody: "ok"},
		{name: "metrics from the injected registry", path: "/metrics", wantCode: 200, wantBody: "ebb_leader 1"},
		{name: "unknown path", path: "/debug", wantCode: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready.Set(tc.ready)
			health.err = tc.unhealthy
			code, body := get(tc.path)
			if code != tc.wantCode || !strings.Contains(body, tc.wantBody) {
				t.Errorf("GET %s = %d %q, want %d containing %q", tc.path, code, body, tc.wantCode, tc.wantBody)
			}
		})
	}
}

type fakeHealth struct{ err error }

func (h *fakeHealth) Healthy(time.Time) error { return h.err }
