package horizontal

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"
	"time"
)

// fuzzBytes hands out the fuzzer's bytes as small values; it returns zeros
// once they run out.
type fuzzBytes struct{ b []byte }

func (f *fuzzBytes) u8() uint8 {
	if len(f.b) == 0 {
		return 0
	}
	v := f.b[0]
	f.b = f.b[1:]
	return v
}

func (f *fuzzBytes) i64() int64 {
	var buf [8]byte
	n := copy(buf[:], f.b)
	f.b = f.b[n:]
	return int64(binary.LittleEndian.Uint64(buf[:]))
}

// small returns a value in [lo, lo+span).
func (f *fuzzBytes) small(lo, span int) int { return lo + int(f.u8())%span }

// value is an occasionally extreme metric value.
func (f *fuzzBytes) value() int64 {
	switch f.u8() % 8 {
	case 0:
		return f.i64()
	case 1:
		return math.MaxInt64
	case 2:
		return 0
	}
	return int64(f.u8()) * 10
}

func (f *fuzzBytes) dur() time.Duration {
	return time.Duration(f.small(0, 64)) * 10 * time.Second
}

// rare is true about once in n calls: it makes invalid input occasional.
func (f *fuzzBytes) rare(n int) bool { return f.small(0, n) == n-1 }

func (f *fuzzBytes) pod(now time.Time) Pod {
	flags := f.u8()
	p := Pod{
		Name:              podName(f.small(0, 12)),
		Phase:             []PodPhase{PodRunning, PodPending, PodFailed, PodSucceeded, PodUnknown}[f.u8()%5],
		Deleting:          flags&1 != 0,
		HasReadyCondition: flags&2 == 0,
		Ready:             flags&4 == 0,
		ReadyTransition:   now.Add(-f.dur()),
	}
	if flags&8 == 0 {
		p.StartTime = now.Add(-f.dur())
	}
	for c := range f.small(0, 3) {
		ct := Container{Name: fmt.Sprintf("container%d", c+1)}
		if f.u8()%4 != 0 {
			ct.Requests = map[string]int64{"cpu": int64(f.u8()) * 10, "memory": f.value()}
		}
		p.Containers = append(p.Containers, ct)
	}
	if flags&16 != 0 {
		p.PodRequests = map[string]int64{"cpu": int64(f.u8()) * 10}
	}
	return p
}

func (f *fuzzBytes) metric() MetricSpec {
	types := []MetricType{ResourceMetric, ContainerResourceMetric, PodsMetric, ObjectMetric, ExternalMetric}
	valid := map[MetricType][]TargetType{
		ResourceMetric:          {UtilizationTarget, AverageValueTarget},
		ContainerResourceMetric: {UtilizationTarget, AverageValueTarget},
		PodsMetric:              {AverageValueTarget},
		ObjectMetric:            {ValueTarget, AverageValueTarget},
		ExternalMetric:          {ValueTarget, AverageValueTarget},
	}
	m := MetricSpec{Type: types[f.u8()%5], Name: []string{"cpu", "memory", "qps"}[f.u8()%3], Container: []string{"container1", "container2", ""}[f.u8()%3]}
	tt := valid[m.Type]
	m.Target = Target{Type: tt[int(f.u8())%len(tt)], Utilization: int32(f.small(1, 200)), Value: 1 + int64(f.u8())*10, AverageValue: 1 + int64(f.u8())*10}
	if f.rare(16) {
		m.Type = "Bogus"
	}
	if f.rare(16) {
		m.Target = Target{Type: []TargetType{UtilizationTarget, AverageValueTarget, ValueTarget, "Bogus"}[f.u8()%4], Value: f.value()}
	}
	return m
}

func (f *fuzzBytes) values(pods []Pod) MetricValues {
	if f.u8()%8 == 0 {
		return MetricValues{Err: errTest}
	}
	mv := MetricValues{Value: f.value(), PodValues: map[string]Sample{}}
	for _, p := range pods {
		if f.u8()%4 != 0 {
			mv.PodValues[p.Name] = Sample{Value: f.value(), Timestamp: testNow.Add(-f.dur()), Window: f.dur()}
		}
	}
	if f.u8()%4 == 0 {
		mv.PodValues["superfluous"] = Sample{Value: f.value()}
	}
	return mv
}

func (f *fuzzBytes) rules() ScalingRules {
	r := ScalingRules{StabilizationWindow: f.dur(), SelectPolicy: []SelectPolicy{SelectMax, SelectMin, SelectDisabled, "", SelectMax, SelectMin, SelectMax, SelectMax}[f.u8()%8]}
	if f.rare(64) {
		r.SelectPolicy = "Bogus"
	}
	for range f.small(1, 3) {
		r.Policies = append(r.Policies, ScalingPolicy{
			Type:   []ScalingPolicyType{PodsPolicy, PercentPolicy}[f.u8()%2],
			Value:  int32(f.small(1, 300)),
			Period: time.Duration(f.small(1, 64)) * 5 * time.Second,
		})
	}
	if f.u8()%4 == 0 {
		tol := float64(f.small(-1, 100)) / 100
		r.Tolerance = &tol
	}
	return r
}

// fuzzInput builds a whole reconcile from the fuzzer's bytes.
func fuzzInput(data []byte) (Observation, Spec, Options, *History) {
	f := &fuzzBytes{b: data}
	now := testNow
	s := Spec{MinReplicas: int32(f.small(0, 8))}
	s.MaxReplicas = s.MinReplicas + int32(f.small(0, 16))
	if f.rare(32) {
		s.MinReplicas, s.MaxReplicas = int32(f.small(-1, 8)), int32(f.small(-1, 8))
	}
	o := Observation{Now: now, CurrentReplicas: int32(f.small(0, 20)), StatusReplicas: int32(f.small(0, 20))}
	opt := Options{Tolerance: float64(f.small(0, 60)) / 100, CPUInitializationPeriod: f.dur(), InitialReadinessDelay: f.dur(), DownscaleStabilization: f.dur()}
	if f.rare(32) {
		o.CurrentReplicas, opt.Tolerance, opt.DownscaleStabilization = -1, -0.1, -time.Second
	}
	for range f.small(0, 12) {
		o.Pods = append(o.Pods, f.pod(now))
	}
	for range f.small(0, 4) {
		s.Metrics = append(s.Metrics, f.metric())
		o.Metrics = append(o.Metrics, f.values(o.Pods))
	}
	if f.u8()%2 == 0 {
		s.Behavior = &Behavior{ScaleUp: f.rules(), ScaleDown: f.rules()}
	}
	h := &History{Seeded: f.u8()%2 == 0}
	for range f.small(0, 6) {
		h.Recommendations = append(h.Recommendations, Recommendation{At: now.Add(-f.dur()), Replicas: int32(f.small(0, 30))})
		h.ScaleUpEvents = append(h.ScaleUpEvents, Event{At: now.Add(-f.dur()), Change: int32(f.small(0, 10))})
		h.ScaleDownEvents = append(h.ScaleDownEvents, Event{At: now.Add(-f.dur()), Change: int32(f.small(0, 10))})
	}
	return o, s, opt, h
}

// FuzzDecide: any observation, spec and history give a decision without a
// panic, within [min, max] or unchanged, and unchanged whenever it carries
// an error.
func FuzzDecide(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 10, 3, 3, 10, 12, 3, 30, 0, 2, 0, 0, 5, 0, 1, 50, 1, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 9})
	f.Add([]byte{2, 6, 5, 5, 20, 0, 0, 0, 4, 1, 0, 0, 1, 1, 3, 3, 200, 7, 7, 7, 7, 7, 7, 7, 7, 1, 0, 2, 3, 4})
	f.Add([]byte{0, 15, 0, 19, 255, 255, 255, 255, 6, 0, 0, 0, 0, 0, 0, 3, 4, 2, 1, 0, 0, 255, 255, 255, 255, 255, 255, 255, 127, 0, 0})
	f.Add([]byte("a target with many random bytes to chew through: pods, metrics, behavior and a long history"))
	f.Fuzz(func(t *testing.T, data []byte) {
		o, s, opt, h := fuzzInput(data)
		cur := o.CurrentReplicas
		d := Decide(o, s, opt, h)
		if d.Err != nil && d.Replicas != cur {
			t.Fatalf("decision with error %v changed the size %d -> %d", d.Err, cur, d.Replicas)
		}
		if d.Replicas != cur && (d.Replicas < s.MinReplicas || d.Replicas > s.MaxReplicas) {
			t.Fatalf("Decide() = %d outside [%d, %d] from %d (%s: %s)", d.Replicas, s.MinReplicas, s.MaxReplicas, cur, d.Reason, d.Message)
		}
		h.RecordScale(o.Now, cur, d.Replicas, s.Behavior)
		o.Now = o.Now.Add(15 * time.Second)
		o.CurrentReplicas = d.Replicas
		d2 := Decide(o, s, opt, h)
		if d2.Replicas != d.Replicas && (d2.Replicas < s.MinReplicas || d2.Replicas > s.MaxReplicas) {
			t.Fatalf("second Decide() = %d outside [%d, %d]", d2.Replicas, s.MinReplicas, s.MaxReplicas)
		}
	})
}
