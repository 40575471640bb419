package autoscaler

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/ebb-autoscaler/ebb/autoscaler/checkpoint"
	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// StateStore is where the loop checkpoints each target's horizontal state
// (checkpoint.Store satisfies it). Load reads everything when this replica
// starts deciding; Put changes one record in memory (an unchanged value is
// no change); Flush writes what changed and returns an error naming the
// records it could not save; Unsaved lists them.
type StateStore interface {
	Load(ctx context.Context) (map[string][]byte, error)
	Put(key string, value []byte) error
	Delete(key string)
	Flush(ctx context.Context) error
	Unsaved() []string
}

// stateRecord is the checkpoint of one target's horizontal.History, built so
// that it changes only when the decisions change, never because time
// passed (docs/operations.md, "State invariants"):
//
//   - Recommendations are kept as runs of equal consecutive values. A
//     closed run is [last time, replicas]; the open run (the latest value,
//     still being recommended) has no time: on restore it counts as
//     recommended up to the restore, which holds a scale-down at least as
//     long as an uninterrupted run would. A steady recommendation therefore
//     writes nothing, pass after pass.
//   - Scale events are kept exactly ([time, change]); they change only when
//     the target is rescaled.
//
// Times are Unix milliseconds.
type stateRecord struct {
	// Zero is History.ScaledToZero: ebb itself scaled the target to zero.
	Zero bool       `json:"z,omitempty"`
	Open *int32     `json:"o,omitempty"`
	Runs [][2]int64 `json:"r,omitempty"`
	Up   [][2]int64 `json:"u,omitempty"`
	Down [][2]int64 `json:"d,omitempty"`
}

// newRecord encodes h. Runs that ended before expired are left out: no
// window looks that far back.
func newRecord(h *horizontal.History, expired time.Time) stateRecord {
	r := stateRecord{Zero: h.ScaledToZero}
	recs := slices.Clone(h.Recommendations)
	slices.SortStableFunc(recs, func(a, b horizontal.Recommendation) int { return a.At.Compare(b.At) })
	for i, rec := range recs {
		if i+1 < len(recs) && recs[i+1].Replicas == rec.Replicas {
			continue // the run goes on
		}
		if i == len(recs)-1 {
			v := rec.Replicas
			r.Open = &v
			break
		}
		if !rec.At.Before(expired) {
			r.Runs = append(r.Runs, [2]int64{rec.At.UnixMilli(), int64(rec.Replicas)})
		}
	}
	for _, e := range h.ScaleUpEvents {
		r.Up = append(r.Up, [2]int64{e.At.UnixMilli(), int64(e.Change)})
	}
	for _, e := range h.ScaleDownEvents {
		r.Down = append(r.Down, [2]int64{e.At.UnixMilli(), int64(e.Change)})
	}
	return r
}

// sameAs reports whether r says what old says, ignoring the runs of old
// that ended before expired (an expired run is dropped lazily, with the
// next real change, so expiry alone writes nothing).
func (r stateRecord) sameAs(old stateRecord, expired time.Time) bool {
	var live [][2]int64
	for _, run := range old.Runs {
		if run[0] >= expired.UnixMilli() {
			live = append(live, run)
		}
	}
	eqOpen := (r.Open == nil) == (old.Open == nil) && (r.Open == nil || *r.Open == *old.Open)
	return eqOpen && r.Zero == old.Zero && slices.Equal(r.Runs, live) && slices.Equal(r.Up, old.Up) && slices.Equal(r.Down, old.Down)
}

// history restores r at now: the closed runs at their last time, the open
// run as recommended at now, the scale events as they were.
func (r stateRecord) history(now time.Time) horizontal.History {
	h := horizontal.History{Seeded: true, ScaledToZero: r.Zero}
	for _, run := range r.Runs {
		h.Recommendations = append(h.Recommendations, horizontal.Recommendation{At: time.UnixMilli(run[0]), Replicas: int32(run[1])})
	}
	if r.Open != nil {
		h.Recommendations = append(h.Recommendations, horizontal.Recommendation{At: now, Replicas: *r.Open})
	}
	for _, e := range r.Up {
		h.ScaleUpEvents = append(h.ScaleUpEvents, horizontal.Event{At: time.UnixMilli(e[0]), Change: int32(e[1])})
	}
	for _, e := range r.Down {
		h.ScaleDownEvents = append(h.ScaleDownEvents, horizontal.Event{At: time.UnixMilli(e[0]), Change: int32(e[1])})
	}
	return h
}

func decodeRecord(b []byte) (stateRecord, error) {
	var r stateRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return stateRecord{}, fmt.Errorf("decode state record: %w", err)
	}
	return r, nil
}

func (r stateRecord) encode() []byte {
	b, _ := json.Marshal(r) // plain ints and slices: cannot fail
	return b
}

// lookback is how far t's decisions look into the past: the longest
// stabilization window. Runs older than that never count again.
func lookback(t Target) time.Duration {
	if t.Spec.Behavior == nil {
		return t.Options.DownscaleStabilization
	}
	return max(t.Spec.Behavior.ScaleUp.StabilizationWindow, t.Spec.Behavior.ScaleDown.StabilizationWindow)
}

// targetState is what the loop keeps of one target between passes. A
// target is handled by one worker at a time; the loop's mutex guards the
// map of them, not their fields.
type targetState struct {
	history horizontal.History
	// restore is the checkpoint loaded for the target, turned into its
	// history at its first decision (where the open run counts as
	// recommended "now").
	restore *stateRecord
	// saved is the record last put in the store (nil: none).
	saved *stateRecord
	// failed counts consecutive passes without valid metrics.
	failed int
	// notice is what the target's Events last said (events.go).
	notice notice
	// forecast is the proactive mode's state (forecast.go).
	forecast forecastState
}

// historyAt returns the target's history, restoring its checkpoint first
// if one was loaded and not applied yet.
func (st *targetState) historyAt(now time.Time) *horizontal.History {
	if st.restore != nil {
		st.history = st.restore.history(now)
		st.saved, st.restore = st.restore, nil
	}
	return &st.history
}

// stateKey is the target's key in the state store ("Kind.name").
func stateKey(t Target) string { return checkpoint.Key(t.Key()) }

// loadState reads every checkpoint once, before the first decision of this
// process or of a new lease. Records that do not decode are logged and
// skipped (the target starts fresh); records of targets not in the policy
// are removed after RemovedGrace.
func (l *Loop) loadState(ctx context.Context, cfg Config, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loaded {
		return nil
	}
	l.targets = map[string]*targetState{}
	l.removed = map[string]time.Time{}
	if l.o.State != nil {
		data, err := l.o.State.Load(ctx)
		if err != nil {
			return fmt.Errorf("load state: %w", err)
		}
		inPolicy := map[string]bool{}
		for _, t := range cfg.Targets {
			inPolicy[stateKey(t)] = true
		}
		for key, b := range data {
			if l.loadForecast(key, b) {
				continue
			}
			r, err := decodeRecord(b)
			if err != nil {
				l.log.Warn("state record skipped", "key", key, "err", err)
				continue
			}
			st, ok := l.targets[key]
			if !ok {
				st = &targetState{}
				l.targets[key] = st
			}
			st.restore = &r
			if !inPolicy[key] {
				l.removed[key] = now
			}
		}
		l.log.Info("state loaded", "targets", len(data))
	}
	l.active = map[string]Target{}
	for _, t := range cfg.Targets {
		l.active[stateKey(t)] = t
	}
	l.loaded = true
	return nil
}

// stateOf returns the state of t, creating it.
func (l *Loop) stateOf(t Target) *targetState {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := stateKey(t)
	st, ok := l.targets[key]
	if !ok {
		st = &targetState{}
		l.targets[key] = st
	}
	return st
}

// applyPolicy compares the targets of cfg with the previous pass's: a
// removed target is forgotten (history, metric series, vertical state) and
// its checkpoint deleted once RemovedGrace has passed, unless the policy
// brings it back first.
func (l *Loop) applyPolicy(cfg Config, now time.Time) {
	l.mu.Lock()
	next := make(map[string]Target, len(cfg.Targets))
	for _, t := range cfg.Targets {
		next[stateKey(t)] = t
	}
	var gone []Target
	for key, t := range l.active {
		if _, ok := next[key]; !ok {
			gone = append(gone, t)
			l.removed[key] = now
			if st, ok := l.targets[key]; ok && st.saved != nil {
				// continue from it if the target comes back
				l.targets[key] = &targetState{restore: st.saved, forecast: st.forecast}
			} else {
				delete(l.targets, key)
			}
		}
	}
	for key, at := range l.removed {
		switch {
		case next[key].Ref.Name != "":
			delete(l.removed, key)
		case now.Sub(at) >= l.o.RemovedGrace:
			delete(l.removed, key)
			delete(l.targets, key)
			if l.o.State != nil {
				l.o.State.Delete(key)
				l.o.State.Delete(key + forecastSuffix)
			}
		}
	}
	l.active = next
	l.mu.Unlock()
	for _, t := range gone {
		l.m.forget(t.Namespace, t.Key())
		if f, ok := l.o.Vertical.(VerticalForgetter); ok {
			f.ForgetVertical(t.Key())
		}
		l.log.Info("target removed from the policy: forgotten", "target", t.Key(), "checkpointKeptFor", l.o.RemovedGrace)
	}
}

// putState puts the record of st in the store when it says something new.
func (l *Loop) putState(t Target, st *targetState, now time.Time) error {
	if l.o.State == nil {
		return nil
	}
	expired := now.Add(-lookback(t))
	r := newRecord(&st.history, expired)
	if st.saved != nil && r.sameAs(*st.saved, expired) {
		return nil
	}
	if err := l.o.State.Put(stateKey(t), r.encode()); err != nil {
		return fmt.Errorf("checkpoint %s: %w", t, err)
	}
	st.saved = &r
	return nil
}

// forgetState drops everything held in memory: the next pass reloads the
// checkpoints (a new lease: the previous leader moved on; a lost lease:
// the next leader does).
func (l *Loop) forgetState() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loaded = false
	l.targets = map[string]*targetState{}
	l.removed = map[string]time.Time{}
}

// StateStoreName is the name of the horizontal state's checkpoint store:
// its ConfigMaps are ebb-state-0 … ebb-state-15, labelled
// ebb.io/state=ebb-state.
const StateStoreName = "ebb-state"
