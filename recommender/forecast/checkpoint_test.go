package forecast

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// dailyShape is 2 cores at night and 10 from 8:00 to 12:00.
func dailyShape(at time.Duration) float64 {
	tod := at % (24 * time.Hour)
	if tod >= 8*time.Hour && tod < 12*time.Hour {
		return 10
	}
	return 2
}

// TestCheckpointRoundTrip: a model restored from its checkpoint (through
// JSON) has the same history, season, accuracy and trend fit: fed the same
// recent samples it forecasts the same.
func TestCheckpointRoundTrip(t *testing.T) {
	m := newModel(t)
	// Forecasts at every sample score predictions, so that the accuracy
	// and the trend fit (the daily steps have slopes) are not empty.
	last := forecastEvery(t, m, 3*24*time.Hour+8*time.Hour-time.Minute, time.Minute, dailyShape)
	now := last.Now
	if m.TrendFit().GG <= 0 || m.Accuracy().Scored == 0 {
		t.Fatalf("trend fit %+v, accuracy %+v after 3 days of forecasts, want both", m.TrendFit(), m.Accuracy())
	}
	c := m.Checkpoint()
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(js) > 8*1024 {
		t.Errorf("checkpoint of 3 days is %d bytes of JSON, want under 8 KiB", len(js))
	}
	var back Checkpoint
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(DefaultOptions(), back)
	if err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if diff := cmp.Diff(m.Accuracy(), r.Accuracy()); diff != "" {
		t.Errorf("accuracy (-original +restored):\n%s", diff)
	}
	if diff := cmp.Diff(m.TrendFit(), r.TrendFit()); diff != "" {
		t.Errorf("trend fit (-original +restored):\n%s", diff)
	}
	if got, want := r.History(now), m.History(now); got != want {
		t.Errorf("History = %v, want %v", got, want)
	}
	// The restored model has no recent samples: feed both the next minute.
	for at := now.Add(15 * time.Second); !at.After(now.Add(time.Minute)); at = at.Add(15 * time.Second) {
		for _, x := range []*Model{m, r} {
			if ok, err := x.Observe(Sample{At: at, Value: 2}); !ok || err != nil {
				t.Fatalf("Observe at %v: %v %v", at, ok, err)
			}
		}
	}
	later := now.Add(time.Minute)
	got, want := r.Forecast(later, 10*time.Minute), m.Forecast(later, 10*time.Minute)
	if got.Period != 24*time.Hour || math.Abs(got.Demand-want.Demand) > 1e-6*want.Demand || got.Demand <= 2 {
		t.Errorf("restored forecast %+v,\nwant %+v (a rising seasonal forecast)", got, want)
	}
}

func TestRestoreErrors(t *testing.T) {
	m := newModel(t)
	feed(t, m, time.Hour, func(time.Duration) float64 { return 1 })
	good := m.Checkpoint()
	for _, tc := range []struct {
		name   string
		mutate func(*Checkpoint)
		want   string
	}{
		{"other step", func(c *Checkpoint) { c.StepSecs = 60 }, "step 60s, the model's is 5m0s"},
		{"version", func(c *Checkpoint) { c.Version = 9 }, "version 9"},
		{"not base64", func(c *Checkpoint) { c.Means = "%%%" }, "means: illegal base64"},
		{"torn bytes", func(c *Checkpoint) { c.Means = "AAAAAAA=" }, "not a whole number of buckets"},
		{"negative accuracy", func(c *Checkpoint) { c.Accuracy.Num = -1 }, "accuracy"},
		{"negative trend fit", func(c *Checkpoint) { c.Trend.GG = -1 }, "trend fit"},
		{"first before start", func(c *Checkpoint) { c.First = c.Start.Add(-time.Hour) }, "first sample is before the first bucket"},
		{"last before first", func(c *Checkpoint) { c.Last = c.First.Add(-time.Second) }, "after the last sample"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mutate(&c)
			if _, err := Restore(DefaultOptions(), c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Restore error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if r, err := Restore(DefaultOptions(), Checkpoint{}); err != nil || r.History(t0) != 0 {
		t.Errorf("Restore(zero) = %v, %v; want an empty model", r, err)
	}
}

// TestObserveHistory: a range query fills the long history, so the season
// is found before any live sample; overlapping history is not counted twice,
// and invalid values are skipped.
func TestObserveHistory(t *testing.T) {
	m := newModel(t)
	var past []Sample
	for at := time.Duration(0); at < 3*24*time.Hour; at += time.Minute {
		past = append(past, Sample{At: t0.Add(at), Value: dailyShape(at)})
	}
	past = append(past, Sample{At: t0.Add(3 * 24 * time.Hour), Value: math.NaN()})
	added, skipped := m.ObserveHistory(past)
	if added != 3*24*60 || skipped != 1 {
		t.Fatalf("ObserveHistory = %d added, %d skipped; want %d, 1", added, skipped, 3*24*60)
	}
	if again, _ := m.ObserveHistory(past[:100]); again != 0 {
		t.Errorf("the same history again added %d samples, want 0", again)
	}
	now := t0.Add(3*24*time.Hour + 8*time.Hour - time.Minute)
	if ok, err := m.Observe(Sample{At: now, Value: 2}); !ok || err != nil {
		t.Fatalf("Observe: %v %v", ok, err)
	}
	if f := m.Forecast(now, 10*time.Minute); f.Period != 24*time.Hour || f.Seasonal <= 2 {
		t.Errorf("forecast after the bootstrap = %+v, want the daily season anticipating the rise", f)
	}
	if ok, _ := m.Observe(Sample{At: t0, Value: 1}); ok {
		t.Error("a sample older than the history was taken")
	}
}

// TestObserveHistoryBeforeLive: a bootstrap that succeeds after live
// samples arrived adds the history before them, and skips what overlaps.
func TestObserveHistoryBeforeLive(t *testing.T) {
	m := newModel(t)
	live := t0.Add(3 * 24 * time.Hour)
	for at := live; at.Before(live.Add(time.Hour)); at = at.Add(15 * time.Second) {
		m.Observe(Sample{At: at, Value: 2})
	}
	var past []Sample
	for at := time.Duration(0); at < 3*24*time.Hour+30*time.Minute; at += time.Minute {
		past = append(past, Sample{At: t0.Add(at), Value: dailyShape(at)})
	}
	added, invalid := m.ObserveHistory(past)
	if added != 3*24*60 || invalid != 0 {
		t.Errorf("ObserveHistory = %d added, %d invalid; want %d (the 30 overlapping minutes skipped), 0", added, invalid, 3*24*60)
	}
	if h := m.History(live.Add(time.Hour)); h != 3*24*time.Hour+time.Hour {
		t.Errorf("History = %v, want 73h", h)
	}
	if got, ok := m.profile(t0.Add(9 * time.Hour)); !ok || got != 10 {
		t.Errorf("profile at 9:00 of day 0 = %v %v, want 10 from the history", got, ok)
	}
}
