package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ebb-autoscaler/ebb/e2e/cluster"
	"github.com/ebb-autoscaler/ebb/e2e/loadapp"
)

// LoadApp is the load app exporter served by the test process and scraped
// by the cluster's Prometheus (job loadapp).
type LoadApp struct {
	*loadapp.Exporter
	Addr string
	srv  *http.Server

	unregister func() error
}

// StartLoadApp serves a new exporter on a free 127.0.0.1 port and adds it
// to Prometheus' loadapp targets (its own registration: load apps of tests
// running in parallel are scraped side by side) until Close.
func (e *Env) StartLoadApp() (*LoadApp, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for load app: %w", err)
	}
	a := &LoadApp{Exporter: loadapp.New(time.Now), Addr: l.Addr().String()}
	a.srv = &http.Server{Handler: a.Exporter, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = a.srv.Serve(l) }() // returns ErrServerClosed on Close
	id := ScrapeID(a.Addr)
	if err := e.Cluster.AddScrapeTarget(cluster.JobLoadApp, id, a.Addr, nil); err != nil {
		a.srv.Close()
		return nil, err
	}
	a.unregister = func() error { return e.Cluster.RemoveScrapeTarget(cluster.JobLoadApp, id) }
	return a, nil
}

// Close removes the scrape target and stops serving.
func (a *LoadApp) Close() error { return errors.Join(a.unregister(), a.srv.Close()) }

// Driver re-applies a total load to the current ready pods of a workload
// every Interval: the request rate (closed loop: rate per pod = total /
// ready pods) or the emulated CPU (annotation usage-cpu = total / pods), so
// the load per pod falls as replicas rise.
type Driver struct {
	env      *Env
	ns       string
	sel      labels.Selector
	app      *LoadApp // request-rate driver when set
	interval time.Duration
	log      *slog.Logger

	mu    sync.Mutex
	total float64 // rps, or CPU millicores
	last  map[string]string
	stop  context.CancelFunc
	done  chan struct{}
}

// RequestLoad starts a driver spreading total requests/s over the ready pods
// of sel through app.
func (e *Env) RequestLoad(ctx context.Context, app *LoadApp, ns string, sel labels.Selector, total float64) *Driver {
	return e.startDriver(ctx, &Driver{env: e, ns: ns, sel: sel, app: app, total: total})
}

// CPULoad starts a driver spreading total CPU millicores over the ready pods
// of sel by patching their kwok usage annotation.
func (e *Env) CPULoad(ctx context.Context, ns string, sel labels.Selector, totalMilli float64) *Driver {
	return e.startDriver(ctx, &Driver{env: e, ns: ns, sel: sel, total: totalMilli})
}

func (e *Env) startDriver(ctx context.Context, d *Driver) *Driver {
	d.interval, d.log, d.last, d.done = 500*time.Millisecond, slog.Default(), map[string]string{}, make(chan struct{})
	ctx, d.stop = context.WithCancel(ctx)
	go d.loop(ctx)
	return d
}

// Set changes the total load; it is applied within one interval.
func (d *Driver) Set(total float64) {
	d.mu.Lock()
	d.total = total
	d.mu.Unlock()
}

// Stop ends the driver (the last applied load stays).
func (d *Driver) Stop() {
	d.stop()
	<-d.done
}

func (d *Driver) loop(ctx context.Context) {
	defer close(d.done)
	for {
		if err := d.apply(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("load driver", "namespace", d.ns, "selector", d.sel.String(), "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(d.interval):
		}
	}
}

func (d *Driver) apply(ctx context.Context) error {
	pods, err := d.env.ReadyPods(ctx, d.ns, d.sel)
	if err != nil {
		return err
	}
	d.mu.Lock()
	total := d.total
	d.mu.Unlock()
	share := loadapp.Spread(total, pods)
	if d.app != nil {
		return d.app.SetRates(d.ns, share)
	}
	for pod, milli := range share {
		v := strconv.FormatInt(int64(milli+0.5), 10) + "m"
		if d.last[pod] == v {
			continue
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{UsageCPUAnnotation: v}}})
		if _, err := d.env.Kube.CoreV1().Pods(d.ns).Patch(ctx, pod, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("set cpu usage of %s/%s to %s: %w", d.ns, pod, v, err)
		}
		d.last[pod] = v
	}
	return nil
}
