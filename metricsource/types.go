package metricsource

import (
	"errors"
	"time"
)

// ErrNoData means the source answered but had nothing usable: no series, an
// empty vector, a stale or NaN sample, or no PodMetrics. It is never a zero.
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
}

// PodValues is a per-pod result of a PromQL query (a vector by pod): value by
// pod name. Pods without a series are absent (missing), never zero.
type PodValues map[string]float64
