package simulate

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
	"github.com/google/go-cmp/cmp"
)

// peerDir holds what the real upstream HorizontalController
// (kube-controller-manager v1.36.3) decided in the trace world of
// simulation-model.md: one CSV row per sync and the totals per run (see its
// README.md). The files are vendored from ../shared/reference/hpa-peer/.
const peerDir = "testdata/hpa-peer"

// sharedPeerDir finds the original of peerDir, shared/reference/hpa-peer in
// a directory above the checkout (development machines); CI's clean clone
// may not have it ("" then).
func sharedPeerDir() string {
	dir, err := filepath.Abs(".")
	if err != nil {
		return ""
	}
	for {
		cand := filepath.Join(dir, "shared", "reference", "hpa-peer")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

var (
	peerTraces = []string{"step", "diurnal", "spike", "worldcup98-cores", "nasa-cores"}
	peerSpecs  = []string{"hpa", "hpa-behavior"}
)

// peerSpec returns the two HPA specs of the peer runs, as
// testdata/hpa-peer/specs/*.yaml state them after API defaulting:
// min 2, max 40, CPU 60 %; hpa-behavior adds the explicit behavior.
func peerSpec(name string) horizontal.Spec {
	s := cpuSpec(2, 40, 60)
	if name == "hpa-behavior" {
		s.Behavior = &horizontal.Behavior{
			ScaleUp: horizontal.ScalingRules{SelectPolicy: horizontal.SelectMax, Policies: []horizontal.ScalingPolicy{
				{Type: horizontal.PercentPolicy, Value: 100, Period: 15 * time.Second},
				{Type: horizontal.PodsPolicy, Value: 4, Period: 15 * time.Second},
			}},
			ScaleDown: horizontal.ScalingRules{StabilizationWindow: 300 * time.Second, SelectPolicy: horizontal.SelectMax,
				Policies: []horizontal.ScalingPolicy{{Type: horizontal.PercentPolicy, Value: 10, Period: 60 * time.Second}}},
		}
	}
	return s
}

// peerRow is the part of one peer CSV row the world must reproduce.
type peerRow struct {
	T       float64
	Desired int32
	Pods    int
	Ready   int
	Util    string // the utilization the HPA observed; "" when none
	Event   string // "up A->B", "down A->B" or ""
}

// peerTotals are the peer's JSON totals the world must reproduce.
type peerTotals struct {
	Syncs        int     `json:"syncs"`
	ScaleEvents  int     `json:"scale_events"`
	ScaleUps     int     `json:"scale_ups"`
	ScaleDowns   int     `json:"scale_downs"`
	CoreSeconds  float64 `json:"core_seconds_requested"`
	DemandCoreS  float64 `json:"core_seconds_demand"`
	UnderProvS   float64 `json:"seconds_util_over_100pct"`
	MaxPods      int     `json:"max_pods"`
	AveragePods  float64 `json:"avg_pods"`
	VirtualSecs  float64 `json:"virtual_seconds"`
	Trace        string  `json:"trace"`
	HPA          string  `json:"hpa"`
	MinReplicas  int32   `json:"min_replicas"`
	MaxReplicas  int32   `json:"max_replicas"`
	TargetUtilPc int32   `json:"target_utilization_pct"`
}

func readGzip(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// peerWorld returns the world of one peer run: the model's defaults, the
// vendored trace and spec.
func peerWorld(t testing.TB, trace, spec string) World {
	t.Helper()
	tr, err := ParseTrace(bytes.NewReader(readGzip(t, filepath.Join(peerDir, "traces", trace+".csv.gz"))))
	if err != nil {
		t.Fatal(err)
	}
	w := DefaultWorld()
	w.Spec, w.Trace = peerSpec(spec), tr
	return w
}

func readPeerRows(t testing.TB, path string) []peerRow {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(readGzip(t, path))).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var out []peerRow
	for i, r := range recs[1:] {
		num := func(name string) float64 {
			v, err := strconv.ParseFloat(r[col[name]], 64)
			if err != nil {
				t.Fatalf("%s row %d: %s %q: %v", path, i+2, name, r[col[name]], err)
			}
			return v
		}
		out = append(out, peerRow{T: num("t_s"), Desired: int32(num("desired_replicas")), Pods: int(num("pods")),
			Ready: int(num("ready_pods")), Util: r[col["util_hpa_pct"]], Event: r[col["scale_event"]]})
	}
	return out
}

func readPeerTotals(t testing.TB, path string) peerTotals {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var pt peerTotals
	if err := json.Unmarshal(b, &pt); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pt
}

// worldRows renders a run in the peer's row shape.
func worldRows(res Result) []peerRow {
	out := make([]peerRow, 0, len(res.Syncs))
	for _, r := range res.Syncs {
		pr := peerRow{T: r.T.Seconds(), Desired: r.Desired, Pods: r.Pods, Ready: r.Ready}
		if r.Utilization != nil {
			pr.Util = strconv.Itoa(int(*r.Utilization))
		}
		if r.Desired != r.Current {
			dir := "up"
			if r.Desired < r.Current {
				dir = "down"
			}
			pr.Event = fmt.Sprintf("%s %d->%d", dir, r.Current, r.Desired)
		}
		out = append(out, pr)
	}
	return out
}

// TestPeerReproduction runs every <trace>.<spec> of the upstream controller
// peer through the world and requires the same decisions at every sync (the
// desired size, the pods and Ready pods the sync saw, the utilization it
// observed, the scale events) and the same totals (counts exactly,
// core-seconds and under-provisioned seconds within 0.01 %).
func TestPeerReproduction(t *testing.T) {
	for _, trace := range peerTraces {
		for _, spec := range peerSpecs {
			name := trace + "." + spec
			t.Run(name, func(t *testing.T) {
				if testing.Short() && (trace == "worldcup98-cores" || trace == "nasa-cores") {
					t.Skip("long trace in -short mode")
				}
				want := readPeerTotals(t, filepath.Join(peerDir, name+".json"))
				if got, wantT := want.Trace+" "+want.HPA, "traces/"+trace+".csv specs/"+spec+".yaml"; got != wantT {
					t.Fatalf("%s.json describes %q, want %q", name, got, wantT)
				}
				w := peerWorld(t, trace, spec)
				if w.Spec.MinReplicas != want.MinReplicas || w.Spec.MaxReplicas != want.MaxReplicas ||
					w.Spec.Metrics[0].Target.Utilization != want.TargetUtilPc {
					t.Fatalf("peer spec %d..%d at %d%%, test spec %+v", want.MinReplicas, want.MaxReplicas, want.TargetUtilPc, w.Spec)
				}
				res, err := Run(w)
				if err != nil {
					t.Fatal(err)
				}
				comparePeerRows(t, readPeerRows(t, filepath.Join(peerDir, name+".csv.gz")), worldRows(res))
				got := res.Totals
				if got.Syncs != want.Syncs || got.ScaleEvents != want.ScaleEvents || got.ScaleUps != want.ScaleUps ||
					got.ScaleDowns != want.ScaleDowns || got.MaxPods != want.MaxPods || got.Seconds != want.VirtualSecs {
					t.Errorf("counts: got syncs %d, events %d (up %d, down %d), max pods %d, seconds %v; peer %d, %d (%d, %d), %d, %v",
						got.Syncs, got.ScaleEvents, got.ScaleUps, got.ScaleDowns, got.MaxPods, got.Seconds,
						want.Syncs, want.ScaleEvents, want.ScaleUps, want.ScaleDowns, want.MaxPods, want.VirtualSecs)
				}
				for _, c := range []struct {
					name      string
					got, want float64
				}{
					{"core-seconds", got.CoreSeconds, want.CoreSeconds},
					{"under-provisioned seconds", got.UnderProvisionedSeconds, want.UnderProvS},
					{"demand core-seconds", got.DemandCoreSeconds, want.DemandCoreS},
					{"average pods", got.AveragePods, want.AveragePods},
				} {
					if !within(c.got, c.want, 1e-4) {
						t.Errorf("%s: got %v, peer %v (more than 0.01 %% apart)", c.name, c.got, c.want)
					}
				}
			})
		}
	}
}

func within(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), 1e-9)
}

// comparePeerRows reports the first differing syncs (a whole-table diff of
// 40k rows would drown the cause).
func comparePeerRows(t *testing.T, want, got []peerRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("syncs: got %d rows, peer %d", len(got), len(want))
	}
	bad := 0
	for i := range min(len(got), len(want)) {
		if diff := cmp.Diff(want[i], got[i]); diff != "" {
			if bad < 5 {
				t.Errorf("sync %d (-peer +world):\n%s", i, diff)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d syncs differ from the peer", bad, len(want))
	}
}

// TestPeerVendoredCopies checks the vendored peer files equal the originals
// when the shared reference directory exists (development machines).
func TestPeerVendoredCopies(t *testing.T) {
	shared := sharedPeerDir()
	if shared == "" {
		t.Skip("no shared/reference/hpa-peer above the checkout (clean clone): the vendored copies are the reference")
	}
	n := 0
	err := filepath.WalkDir(shared, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		rel, _ := filepath.Rel(shared, path)
		orig, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var vendored []byte
		if strings.HasSuffix(rel, ".csv") {
			vendored = readGzip(t, filepath.Join(peerDir, rel+".gz"))
		} else if vendored, err = os.ReadFile(filepath.Join(peerDir, rel)); err != nil {
			return err
		}
		if !bytes.Equal(vendored, orig) {
			t.Errorf("%s: the vendored copy differs from %s", rel, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 2*len(peerTraces)*len(peerSpecs) {
		t.Errorf("compared only %d files of %s", n, shared)
	}
}
