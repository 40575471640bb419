package simulate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzTrace: parsing any bytes as a trace, and running a parsed trace, must
// never panic.
func FuzzTrace(f *testing.F) {
	files, _ := filepath.Glob("../../docs/traces/*.csv")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{"", "t,d\n", "0,1\n", "0,1e308\n", "0,NaN\n", "1e9,1\n", "0,1\n0.0000001,2\n", "#\n,\n", "0,-0\n3,0\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ParseTrace(bytes.NewReader(data))
		if err != nil {
			return
		}
		w := DefaultWorld()
		w.Spec, w.Trace = cpuSpec(1, 20, 60), tr
		if last := tr[len(tr)-1].T; last > time.Hour {
			w.Duration = time.Hour // keep each input fast
		}
		res, err := Run(w)
		if err != nil {
			return // rejected parameters are fine; a panic is not
		}
		tot := res.Totals
		if tot.UnderProvisionedSeconds < 0 || tot.UnderProvisionedSeconds > tot.Seconds+1e-6 ||
			tot.CoreSeconds < 0 || tot.ScaleEvents != tot.ScaleUps+tot.ScaleDowns || tot.Syncs != len(res.Syncs) {
			t.Errorf("inconsistent totals %+v", tot)
		}
		for _, r := range res.Syncs {
			if r.Desired < w.Spec.MinReplicas || r.Desired > w.Spec.MaxReplicas {
				t.Errorf("sync at %v: desired %d outside [%d, %d]", r.T, r.Desired, w.Spec.MinReplicas, w.Spec.MaxReplicas)
			}
		}
	})
}
