package simulate

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/google/go-cmp/cmp"
)

// TestRunEqualsPerSecondOnPeerRuns: the event-driven world gives the very
// rows and totals of the per-second reference on every peer run.
func TestRunEqualsPerSecondOnPeerRuns(t *testing.T) {
	for _, trace := range peerTraces {
		for _, spec := range peerSpecs {
			t.Run(trace+"."+spec, func(t *testing.T) {
				if testing.Short() && (trace == "worldcup98-cores" || trace == "nasa-cores") {
					t.Skip("long trace in -short mode")
				}
				compareWorlds(t, peerWorld(t, trace, spec), nil)
			})
		}
	}
}

// compareWorlds runs w in both worlds (each with its own decider from
// newDecider, when given) and reports any difference.
func compareWorlds(t *testing.T, w World, newDecider func() Decider) {
	t.Helper()
	if newDecider != nil {
		w.Decider = newDecider()
	}
	want, errWant := runPerSecond(w)
	if newDecider != nil {
		w.Decider = newDecider()
	}
	got, errGot := Run(w)
	if (errWant == nil) != (errGot == nil) || errWant != nil && errWant.Error() != errGot.Error() {
		t.Fatalf("errors: per-second %v, event-driven %v", errWant, errGot)
	}
	if diff := cmp.Diff(want.Totals, got.Totals); diff != "" {
		t.Errorf("totals (-per-second +event-driven):\n%s", diff)
	}
	if len(want.Syncs) != len(got.Syncs) {
		t.Fatalf("syncs: per-second %d, event-driven %d", len(want.Syncs), len(got.Syncs))
	}
	bad := 0
	for i := range want.Syncs {
		if diff := cmp.Diff(want.Syncs[i], got.Syncs[i]); diff != "" {
			if bad < 3 {
				t.Errorf("sync %d (-per-second +event-driven):\n%s", i, diff)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d syncs differ", bad, len(want.Syncs))
	}
}

// randomWorld draws a world from r: trace rows at any nanosecond (also
// before and after whole and half seconds), spiky demand, any request, whole
// or fractional startup and pending times, resolution, phase, sync period,
// duration and repeat, with or without a behavior, and sometimes a decider
// that jumps between random sizes (returned as a constructor so that each
// world gets a fresh one).
func randomWorld(r *rand.Rand) (World, func() Decider) {
	w := DefaultWorld()
	n := 1 + r.IntN(40)
	at := time.Duration(0)
	if r.IntN(3) == 0 {
		at = time.Duration(r.Int64N(int64(20 * time.Second)))
	}
	scale := []float64{0.3, 2, 10}[r.IntN(3)]
	for range n {
		d := r.Float64() * scale
		if r.IntN(4) == 0 {
			d = float64(r.IntN(8)) / 4 // exact values that land on millicores
		}
		w.Trace = append(w.Trace, Point{T: at, Demand: d})
		switch r.IntN(3) {
		case 0:
			at += time.Duration(1+r.IntN(120)) * time.Second
		case 1:
			at += time.Duration(1+r.IntN(8)) * 500 * time.Millisecond
		default:
			at += 1 + time.Duration(r.Int64N(int64(90*time.Second)))
		}
	}
	minR := int32(1 + r.IntN(4))
	w.Spec = cpuSpec(minR, minR+int32(r.IntN(30)), int32(20+r.IntN(100)))
	if r.IntN(2) == 0 {
		w.Spec.Metrics[0].Type, w.Spec.Metrics[0].Container = horizontal.ContainerResourceMetric, containerName
	}
	if r.IntN(2) == 0 {
		b := horizontal.DefaultBehavior(w.Options)
		b.ScaleDown.StabilizationWindow = time.Duration(r.IntN(5)) * 30 * time.Second
		b.ScaleDown.Policies = []horizontal.ScalingPolicy{{Type: horizontal.PercentPolicy, Value: int32(10 + r.IntN(90)), Period: 15 * time.Second}}
		w.Spec.Behavior = &b
	}
	w.Request = int64(50 + r.IntN(2000))
	w.Startup = time.Duration(r.IntN(90)) * time.Second
	if r.IntN(3) == 0 {
		w.Startup += time.Duration(r.Int64N(int64(time.Second)))
	}
	w.Pending = time.Duration(r.Int64N(int64(w.Startup) + 1))
	w.Resolution = time.Duration(1+r.IntN(60)) * time.Second
	w.Phase = time.Duration(r.IntN(int(w.Resolution/time.Second))) * time.Second
	w.SyncPeriod = time.Duration(1+r.IntN(30)) * time.Second
	w.Options.DownscaleStabilization = time.Duration(r.IntN(6)) * 30 * time.Second
	w.Options.CPUInitializationPeriod = time.Duration(r.IntN(6)) * time.Minute
	w.Options.InitialReadinessDelay = time.Duration(r.IntN(60)) * time.Second
	if r.IntN(3) == 0 {
		w.Duration = time.Duration(1 + r.Int64N(int64(at+time.Minute)))
	}
	if r.IntN(4) == 0 {
		w.Repeat = 2 + r.IntN(3)
	}
	if r.IntN(4) != 0 {
		return w, nil
	}
	seed := r.Uint64()
	maxR := w.Spec.MaxReplicas
	return w, func() Decider {
		dr := rand.New(rand.NewPCG(seed, 0))
		return DeciderFunc(func(o horizontal.Observation, h *horizontal.History) horizontal.Decision {
			if dr.IntN(3) > 0 {
				return horizontal.Decision{Replicas: o.CurrentReplicas}
			}
			return horizontal.Decision{Replicas: int32(dr.IntN(int(maxR) + 1))}
		})
	}
}

// TestRunEqualsPerSecondOnRandomWorlds is the property on 300 random worlds.
func TestRunEqualsPerSecondOnRandomWorlds(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 2026))
	for i := range 300 {
		w, dec := randomWorld(r)
		t.Run("", func(t *testing.T) {
			compareWorlds(t, w, dec)
			if t.Failed() {
				t.Logf("world %d: %+v", i, w)
			}
		})
	}
}

// FuzzRunEqualsPerSecond draws random worlds from the fuzzer's seeds.
func FuzzRunEqualsPerSecond(f *testing.F) {
	for _, s := range []uint64{1, 2, 3, 42, 1 << 40} {
		f.Add(binary.LittleEndian.AppendUint64(nil, s))
	}
	f.Fuzz(func(t *testing.T, seed []byte) {
		var a, b uint64
		for i, c := range seed {
			if i < 8 {
				a = a<<8 | uint64(c)
			} else {
				b = b<<8 | uint64(c)
			}
		}
		w, dec := randomWorld(rand.New(rand.NewPCG(a, b)))
		compareWorlds(t, w, dec)
	})
}
