package vertical

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWorkload(t *testing.T) {
	cfg := DefaultConfig()
	w := NewWorkload(cfg)
	// Two pods of one container feed the same aggregate; each pod keeps
	// its own deduplication.
	for m := range 1441 {
		ts := startTime.Add(time.Duration(m) * time.Minute)
		for _, pod := range []string{"web-1", "web-2"} {
			if added, err := w.AddCPU(pod, "app", ts, 500); err != nil || !added {
				t.Fatalf("AddCPU(%s, %v) = %v, %v", pod, ts, added, err)
			}
			if _, err := w.AddMemory(pod, "app", ts, 300<<20); err != nil {
				t.Fatal(err)
			}
		}
	}
	if added, _ := w.AddCPU("web-1", "app", startTime, 900); added {
		t.Error("an old sample of web-1 was added")
	}
	if got := w.aggregates["app"].Samples(); got != 2*1441 {
		t.Errorf("samples = %d, want %d", got, 2*1441)
	}
	err := w.RecordOOM("web-1", "app", startTime.Add(-48*time.Hour), 256<<20)
	if !errors.Is(err, ErrStaleOOM) {
		t.Errorf("old OOM: err = %v, want ErrStaleOOM", err)
	}
	now := startTime.Add(24 * time.Hour)
	recs, err := w.Recommend(Policy{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].CPU.Target != 587 {
		t.Errorf("CPU target = %d, want 587", recs[0].CPU.Target)
	}

	// Checkpoint round trip gives the same recommendation.
	b, err := w.Encode(now)
	if err != nil {
		t.Fatal(err)
	}
	r, savedAt, err := RestoreWorkload(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	if !savedAt.Equal(now) {
		t.Errorf("savedAt = %v, want %v", savedAt, now)
	}
	got, err := r.Recommend(Policy{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(recs, got); d != "" {
		t.Errorf("recommendation after restore (-want +got):\n%s", d)
	}

	w.KeepPods(map[string]bool{"web-2": true})
	if len(w.trackers) != 1 {
		t.Errorf("trackers after KeepPods = %d, want 1", len(w.trackers))
	}
	if gone := w.Prune(now.Add(8 * 24 * time.Hour)); !cmp.Equal(gone, []string{"app"}) || len(w.trackers) != 0 {
		t.Errorf("Prune after 8 idle days = %v (trackers %d), want [app] and no trackers", gone, len(w.trackers))
	}
}
