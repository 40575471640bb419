package metricsource

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// Querier is the one method the Prometheus source needs for instant
// queries; promv1.API satisfies it.
type Querier interface {
	Query(ctx context.Context, query string, ts time.Time, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

// RangeQuerier runs range queries (history); promv1.API satisfies it.
type RangeQuerier interface {
	QueryRange(ctx context.Context, query string, r promv1.Range, opts ...promv1.Option) (model.Value, promv1.Warnings, promv1.Infos, error)
}

// Prometheus evaluates PromQL through the Prometheus HTTP API.
type Prometheus struct {
	q   Querier
	rq  RangeQuerier // nil if q cannot run range queries
	set settings
}

// NewPrometheus returns a source over q. If q also implements RangeQuerier
// (promv1.API does), RangeQuery uses it.
func NewPrometheus(q Querier, opts ...Option) *Prometheus {
	rq, _ := q.(RangeQuerier)
	return &Prometheus{q: q, rq: rq, set: applyOptions(opts)}
}

// NewPrometheusClient connects to the Prometheus at url with the HTTP
// settings Prometheus itself uses (TLS, bearer token file, basic auth,
// proxy) and a per-query timeout (<= 0: DefaultTimeout).
func NewPrometheusClient(url string, httpCfg config.HTTPClientConfig, timeout time.Duration, opts ...Option) (*Prometheus, error) {
	if u, err := neturl.Parse(url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus url %q: want http(s)://host[:port][/path]", url)
	}
	if err := httpCfg.Validate(); err != nil {
		return nil, fmt.Errorf("prometheus httpConfig: %w", err)
	}
	rt, err := config.NewRoundTripperFromConfig(httpCfg, "ebb")
	if err != nil {
		return nil, fmt.Errorf("prometheus httpConfig: %w", err)
	}
	c, err := api.NewClient(api.Config{Address: url, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus url %q: %w", url, err)
	}
	return NewPrometheus(promv1.NewAPI(c), append(opts, WithTimeout(timeout))...), nil
}

// PodValues evaluates promQL at time at and returns its vector by the "pod"
// label. Pods without a series are absent (missing, never zero). An empty
// vector is ErrNoData; NaN, ±Inf, negative values, series without a pod
// label and duplicate pods are ErrBadData naming the series.
func (p *Prometheus) PodValues(ctx context.Context, promQL string, at time.Time) (PodValues, error) {
	v, err := p.podValues(ctx, promQL, at)
	return v, wrapQueryError(ctx, promQL, err)
}

// Scalar evaluates promQL at time at and returns a scalar or the value of a
// single-element vector. Empty is ErrNoData; NaN, ±Inf, negative values and
// more than one series are ErrBadData.
func (p *Prometheus) Scalar(ctx context.Context, promQL string, at time.Time) (float64, error) {
	v, err := p.scalar(ctx, promQL, at)
	return v, wrapQueryError(ctx, promQL, err)
}

func (p *Prometheus) podValues(ctx context.Context, promQL string, at time.Time) (PodValues, error) {
	return queryDecoded(ctx, p, promQL, at, DecodePodValues)
}

func (p *Prometheus) scalar(ctx context.Context, promQL string, at time.Time) (float64, error) {
	return queryDecoded(ctx, p, promQL, at, DecodeScalar)
}

// queryDecoded runs one instant query, decodes its result and records the
// request (duration and outcome, decoding included) in the source metrics.
func queryDecoded[T any](ctx context.Context, p *Prometheus, promQL string, at time.Time, decode func(model.Value) (T, error)) (T, error) {
	start := time.Now()
	v, err := p.query(ctx, promQL, at)
	var out T
	if err == nil {
		out, err = decode(v)
	}
	p.set.metrics.observe(SourcePrometheus, time.Since(start), err)
	return out, err
}

// query runs one instant query with the per-query timeout and logs the
// warnings Prometheus returns.
func (p *Prometheus) query(ctx context.Context, promQL string, at time.Time) (model.Value, error) {
	ctx, cancel := context.WithTimeout(ctx, p.set.timeout)
	defer cancel()
	v, warnings, infos, err := p.q.Query(ctx, promQL, at, promv1.WithTimeout(p.set.timeout))
	p.logAnnotations(ctx, promQL, warnings, infos)
	if err != nil {
		return nil, classifyPromError(err)
	}
	return v, nil
}

func (p *Prometheus) logAnnotations(ctx context.Context, promQL string, warnings promv1.Warnings, infos promv1.Infos) {
	for _, w := range warnings {
		p.set.log.WarnContext(ctx, "prometheus query warning", "query", promQL, "warning", w)
	}
	for _, i := range infos {
		p.set.log.DebugContext(ctx, "prometheus query info", "query", promQL, "info", i)
	}
}

// classifyPromError marks refused connections and HTTP 503 as
// ErrUnavailable.
func classifyPromError(err error) error {
	var perr *promv1.Error
	if errors.Is(err, syscall.ECONNREFUSED) ||
		(errors.As(err, &perr) && perr.Type == promv1.ErrServer && perr.Msg == "server error: 503") {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// wrapQueryError names the source and the query. The caller names the
// target: one query may serve several targets (the loop runs each distinct
// query once per pass).
func wrapQueryError(ctx context.Context, promQL string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: query %q: %w", SourcePrometheus, promQL, err)
}
