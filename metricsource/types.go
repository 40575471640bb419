package metricsource

import (
	"errors"
	"time"
)

// ErrNoData means the source answered but had nothing usable: no series, an
// empty vector, a target without pods, or no PodMetrics. It is never a zero.
// (A NaN sample is ErrBadData, naming the series.)
var ErrNoData = errors.New("no data")

// ContainerUsage is one container's usage in one metrics-server sample.
type ContainerUsage struct {
	Name        string
	CPUMilli    int64 // millicores
	MemoryBytes int64
}

// PodUsage is one pod's metrics-server sample: the usage of each container
// averaged over Window, ending at Timestamp.
type PodUsage struct {
	Name       string
	Labels     map[string]string
	Timestamp  time.Time
	Window     time.Duration
	Containers []ContainerUsage
	// Excluded says why the pod's sample was refused (negative or
	// malformed usage); Containers is then empty and IndexPodUsage leaves
	// the pod out: it is missing, never zero.
	Excluded string
}

// PodValues is a per-pod result of a PromQL query (a vector by pod): value by
// pod name. Pods without a series are absent (missing), never zero.
type PodValues map[string]float64

// ErrBadData means the source answered with values ebb refuses to use: NaN,
// ±Inf, negative usage, a series without a pod label, or a result of the
// wrong shape. The error wrapping it names the series.
var ErrBadData = errors.New("bad data")

// ErrUnavailable means the source itself is not there: the metrics.k8s.io
// APIService is missing or unavailable (404/503), or Prometheus refuses
// connections or answers 503.
var ErrUnavailable = errors.New("source unavailable")
