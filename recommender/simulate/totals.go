package simulate

import (
	"math"
	"time"
)

// accounts sums the totals of a run exactly, whatever intervals a world
// integrates over: times as integer nanoseconds, pod time as whole
// pod-seconds plus pod-nanoseconds (no overflow at 10,000 pods for 30
// days), and the demand per trace row (its nanoseconds times its demand,
// added in row order when the row is done), so that two worlds that split
// a run differently report the very same numbers.
type accounts struct {
	podSecs, podNanos int64
	underNanos        int64
	demandRow         int // the row whose time is being summed
	demandNanos       int64
	demandCoreSecs    float64 // rows before demandRow
}

// addPods accounts n pods existing for d.
func (a *accounts) addPods(n int, d time.Duration) {
	a.podSecs += int64(n) * int64(d/time.Second)
	a.podNanos += int64(n) * int64(d%time.Second)
	if a.podNanos >= int64(time.Second) {
		a.podSecs += a.podNanos / int64(time.Second)
		a.podNanos %= int64(time.Second)
	}
}

// addDemand accounts d of trace row `row` (rows come in order), under
// provisioned or not.
func (a *accounts) addDemand(tr []Point, row int, d time.Duration, under bool) {
	if row != a.demandRow {
		a.flushDemand(tr)
		a.demandRow = row
	}
	a.demandNanos += int64(d)
	if under {
		a.underNanos += int64(d)
	}
}

func (a *accounts) flushDemand(tr []Point) {
	a.demandCoreSecs += tr[a.demandRow].Demand * time.Duration(a.demandNanos).Seconds()
	a.demandNanos = 0
}

// fill writes the totals that a holds into t for a run of secs seconds
// with pods of request millicores, each serving capacity of the demand
// (its request in cores in a CPU world).
func (a *accounts) fill(t *Totals, tr []Point, secs float64, request int64, capacity float64) {
	a.flushDemand(tr)
	podSecs := float64(a.podSecs) + float64(a.podNanos)/1e9
	// Products of exact sums: report them to the micro unit.
	micro := func(v float64) float64 { return math.Round(v*1e6) / 1e6 }
	t.CoreSeconds = micro(podSecs * float64(request) / 1000)
	t.UnderProvisionedSeconds = time.Duration(a.underNanos).Seconds()
	cores := float64(request) / 1000
	if capacity == cores {
		t.DemandCoreSeconds = micro(a.demandCoreSecs)
	} else {
		t.DemandCoreSeconds = micro(a.demandCoreSecs / capacity * cores)
	}
	t.Seconds = secs
	if secs > 0 {
		t.AveragePods = podSecs / secs
	}
	if t.CoreSeconds > 0 {
		t.DemandOverRequested = t.DemandCoreSeconds / t.CoreSeconds
	}
}
