package metricsource

import (
	"io"
	"log/slog"
	"time"
)

// Defaults for the Prometheus source.
const (
	// DefaultTimeout is the per-query timeout when none is given.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxPointsPerQuery is Prometheus' own limit on the points one
	// range query may return per series.
	DefaultMaxPointsPerQuery = 11000
	// DefaultMaxRange bounds the span of one RangeQuery call (all chunks).
	DefaultMaxRange = 31 * 24 * time.Hour
)

// Source names used in errors and in the source metrics' "source" label.
const (
	SourceMetricsServer   = "metrics-server"
	SourcePrometheus      = "prometheus"
	SourceCustomMetrics   = "custom-metrics"   // custom.metrics.k8s.io (an adapter)
	SourceExternalMetrics = "external-metrics" // external.metrics.k8s.io (an adapter)
)

// settings are what the Options of both sources set.
type settings struct {
	log       *slog.Logger
	metrics   *SourceMetrics
	timeout   time.Duration
	maxPoints int
	maxRange  time.Duration
}

func defaultSettings() settings {
	return settings{
		log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		timeout:   DefaultTimeout,
		maxPoints: DefaultMaxPointsPerQuery,
		maxRange:  DefaultMaxRange,
	}
}

// Option configures a MetricsServer or a Prometheus source.
type Option func(*settings)

// WithLogger sets the logger (Prometheus warnings are logged on it). A nil
// logger keeps the default, which discards.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) {
		if l != nil {
			s.log = l
		}
	}
}

// WithMetrics records requests, durations and errors on m. Share one
// SourceMetrics between all sources of a process.
func WithMetrics(m *SourceMetrics) Option {
	return func(s *settings) { s.metrics = m }
}

// WithTimeout sets the per-query timeout of a Prometheus source; d <= 0
// keeps DefaultTimeout.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// WithRangeLimits bounds RangeQuery: at most maxPoints points per series per
// request (longer ranges are split into chunks) and at most maxRange in all.
// Values <= 0 keep the defaults.
func WithRangeLimits(maxPoints int, maxRange time.Duration) Option {
	return func(s *settings) {
		if maxPoints > 1 {
			s.maxPoints = maxPoints
		}
		if maxRange > 0 {
			s.maxRange = maxRange
		}
	}
}

func applyOptions(opts []Option) settings {
	s := defaultSettings()
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	return s
}
