package forecast

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func newModel(t *testing.T) *Model {
	t.Helper()
	m, err := New(DefaultOptions())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// feed observes f at every 15 s from t0 for d, returning the last time.
func feed(t *testing.T, m *Model, d time.Duration, f func(at time.Duration) float64) time.Time {
	t.Helper()
	var last time.Time
	for at := time.Duration(0); at < d; at += 15 * time.Second {
		last = t0.Add(at)
		if _, err := m.Observe(Sample{At: last, Value: f(at)}); err != nil {
			t.Fatalf("Observe at %v: %v", at, err)
		}
	}
	return last
}

func TestForecastFollowsTrend(t *testing.T) {
	for _, tc := range []struct {
		name     string
		f        func(at time.Duration) float64
		horizon  time.Duration
		want     float64
		wantSlop float64
	}{
		{"constant", func(time.Duration) float64 { return 2 }, time.Minute, 2, 0},
		// 1 per minute: 75 s after the last sample the line is 75/60 higher.
		{"rising 1 per minute", func(at time.Duration) float64 { return 10 + at.Minutes() }, 75 * time.Second, 10 + 29.75 + 1.25, 1.0 / 60},
		// Falling: the highest value of the horizon is right after now.
		{"falling 1 per minute", func(at time.Duration) float64 { return 100 - at.Minutes() }, time.Minute, 100 - 29.75 - 1.0/8, -1.0 / 60},
		{"rising fast", func(at time.Duration) float64 { return 5 * at.Seconds() }, 30 * time.Second, 5 * (1785 + 30), 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(t)
			now := feed(t, m, 30*time.Minute, tc.f)
			got := m.Forecast(now, tc.horizon)
			if !got.OK || math.Abs(got.Demand-tc.want) > 1e-6*math.Max(1, tc.want) || math.Abs(got.Slope-tc.wantSlop) > 1e-9 {
				t.Errorf("Forecast = demand %v slope %v (ok %v), want %v slope %v", got.Demand, got.Slope, got.OK, tc.want, tc.wantSlop)
			}
			if got.Period != 0 {
				t.Errorf("Period = %v after 30 minutes, want none", got.Period)
			}
		})
	}
}

// TestForecastSeasonal: after three days of a daily pattern with a sharp
// morning rise, a forecast made just before the rise anticipates it, which
// the trend alone cannot.
func TestForecastSeasonal(t *testing.T) {
	m := newModel(t)
	rise := 8 * time.Hour
	shape := func(at time.Duration) float64 {
		tod := at % (24 * time.Hour)
		if tod >= rise && tod < rise+4*time.Hour {
			return 10
		}
		return 2
	}
	day := 24 * time.Hour
	now := feed(t, m, 3*day+rise-time.Minute, shape) // one minute before the rise
	got := m.Forecast(now, 10*time.Minute)
	if got.Period != day {
		_, ev := m.Period()
		t.Fatalf("Period = %v, want 24h (evidence %+v)", got.Period, ev)
	}
	// The profile is interpolated between 5-minute bucket centers: a day
	// ago, 1m15s before the rise it read 2 + 8*1.25/5 = 4, and 10 at the
	// horizon's end, so the level 2 grows by 10/4.
	if got.Level != 2 || math.Abs(got.Demand-5) > 1e-9 || got.Seasonal != got.Demand {
		t.Errorf("forecast before the daily rise: level %v, demand %v, seasonal %v; want level 2 and a seasonal demand of 5",
			got.Level, got.Demand, got.Seasonal)
	}
	// An hour into the flat part the season predicts no change.
	m2 := newModel(t)
	now = feed(t, m2, 3*day+2*time.Hour, shape)
	if got := m2.Forecast(now, 10*time.Minute); math.Abs(got.Demand-2) > 1e-9 {
		t.Errorf("forecast in the flat part = %v, want 2", got.Demand)
	}
}

func TestForecastNoSamples(t *testing.T) {
	m := newModel(t)
	if got := m.Forecast(t0, time.Minute); got.OK || got.Demand != 0 {
		t.Errorf("Forecast with no history = %+v, want not OK", got)
	}
}

func TestObserve(t *testing.T) {
	m := newModel(t)
	for _, tc := range []struct {
		name    string
		s       Sample
		want    bool
		wantErr string
	}{
		{"first", Sample{At: t0, Value: 1}, true, ""},
		{"newer", Sample{At: t0.Add(time.Second), Value: 0}, true, ""},
		{"repeat of the last scrape is ignored", Sample{At: t0.Add(time.Second), Value: 5}, false, ""},
		{"older is ignored", Sample{At: t0, Value: 5}, false, ""},
		{"negative", Sample{At: t0.Add(time.Minute), Value: -1}, false, "value -1 must be a finite number >= 0"},
		{"NaN", Sample{At: t0.Add(time.Minute), Value: math.NaN()}, false, "value NaN"},
		{"infinite", Sample{At: t0.Add(time.Minute), Value: math.Inf(1)}, false, "value +Inf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.Observe(tc.s)
			if got != tc.want || (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Observe(%+v) = %v, %v; want %v, error containing %q", tc.s, got, err, tc.want, tc.wantErr)
			}
		})
	}
	if got := m.History(t0.Add(time.Hour)); got != time.Hour {
		t.Errorf("History = %v, want 1h", got)
	}
}

// TestRetention: buckets older than the retention are dropped, and the
// history length follows.
func TestRetention(t *testing.T) {
	o := DefaultOptions()
	o.Retention = 2 * time.Hour
	o.Season.Candidates = nil
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for at := time.Duration(0); at <= 10*time.Hour; at += time.Minute {
		if _, err := m.Observe(Sample{At: t0.Add(at), Value: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(m.buckets); n < 24 || n > 24+24/8+1 { // 24 buckets kept + at most an eighth more
		t.Errorf("%d buckets kept, want about 24", n)
	}
	if h := m.History(t0.Add(10 * time.Hour)); h > 2*time.Hour+20*time.Minute || h < 2*time.Hour {
		t.Errorf("History = %v, want the retention (2h) plus less than an eighth", h)
	}
}

func TestAccuracy(t *testing.T) {
	for _, tc := range []struct {
		name      string
		predicted float64
		actual    float64
		want      float64
	}{
		{"perfect", 10, 10, 0},
		{"over by 2", 12, 10, 0.2},
		{"under by 2 weighs 3 times", 8, 10, 0.6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a Accuracy
			a.add(t0, tc.predicted, tc.actual, 3, time.Hour)
			if got := a.Error(); math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Error() = %v, want %v", got, tc.want)
			}
		})
	}
	var a Accuracy
	a.add(t0, 0, 10, 3, time.Hour)                    // error 3 ...
	a.add(t0.Add(10*time.Hour), 10, 10, 3, time.Hour) // ... ten half-lives ago
	if got := a.Error(); got > 0.01 {
		t.Errorf("Error() after ten half-lives of perfect predictions = %v, want < 0.01", got)
	}
}

// TestForecastScored: predictions are scored against the highest sample of
// their window once it has passed.
func TestForecastScored(t *testing.T) {
	m := newModel(t)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for s := 0; s <= 60; s += 15 {
		m.Observe(Sample{At: at(s), Value: 4})
	}
	f := m.Forecast(at(60), 30*time.Second) // predicts 4 for (60s, 90s]
	if f.Demand != 4 {
		t.Fatalf("Demand = %v, want 4", f.Demand)
	}
	m.Observe(Sample{At: at(75), Value: 5})
	m.Observe(Sample{At: at(90), Value: 6})
	if got := m.Accuracy().Scored; got != 0 {
		t.Fatalf("scored %d before the window ended, want 0", got)
	}
	m.Observe(Sample{At: at(105), Value: 6})
	got := m.Accuracy()
	want := Accuracy{Num: 3 * 2, Den: 6, At: at(90), Scored: 1} // actual 6, predicted 4, under-weight 3
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Accuracy (-want +got):\n%s", diff)
	}
}

func TestOptionsValidate(t *testing.T) {
	o := DefaultOptions()
	if err := o.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	o.Step = 0
	o.UnderWeight = 0.5
	o.Season.Candidates = []time.Duration{7 * time.Minute}
	o.TrendWindow = time.Hour
	err := o.Validate()
	for _, want := range []string{"step 0s must be at least 1s", "under-prediction weight 0.5", "trend window 1h0m0s must be positive and at most the recent window 30m0s"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to contain %q", err, want)
		}
	}
	if _, err := New(o); err == nil {
		t.Error("New with invalid options: no error")
	}
}
