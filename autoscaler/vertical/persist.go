package vertical

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ebb-autoscaler/ebb/autoscaler/checkpoint"
	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// Restore loads target's checkpoint into the Manager once (later calls do
// nothing until Reset or Forget). The first Restore after Reset reads the
// whole store (one LIST). Without a checkpoint the target starts empty and
// nil is returned; a checkpoint that does not decode is an error and the
// target starts empty too (the next save overwrites it). OOM kills that
// finished before the checkpoint was saved are not counted again.
func (m *Manager) Restore(ctx context.Context, store *checkpoint.Store, target string) error {
	m.mu.Lock()
	if s := m.state(target); s.restored {
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()
	if err := m.load(ctx, store); err != nil {
		return fmt.Errorf("restore %s: %w", target, err) // retried on the next call
	}
	hist, found := store.Get(histogramsKey(target))
	acts, _ := store.Get(actuationsKey(target))
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.state(target)
	s.restored = true
	if !found {
		return nil
	}
	w, savedAt, err := rv.RestoreWorkload(m.cfg, hist)
	if err != nil {
		return fmt.Errorf("restore %s: decode checkpoint: %w", target, err)
	}
	s.w, s.oomSince, s.fromCheckpoint = w, savedAt, true
	m.log.Info("restored vertical checkpoint", "namespace", m.namespace, "target", target,
		"savedAt", savedAt, "bytes", len(hist))
	if acts != nil {
		if err := json.Unmarshal(acts, &s.acts); err != nil {
			return fmt.Errorf("restore %s: rate-limit memory %s: %w", target, actuationsKey(target), err)
		}
	}
	return nil
}

// load reads the store once after Reset.
func (m *Manager) load(ctx context.Context, store *checkpoint.Store) error {
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	m.mu.Lock()
	loaded := m.loaded
	m.mu.Unlock()
	if loaded {
		return nil
	}
	if _, err := store.Load(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	m.loaded = true
	m.mu.Unlock()
	return nil
}

// Checkpoint saves, with savedAt now, the state of every target that
// changed since it was restored or last saved; targets whose Restore has
// not succeeded are skipped (a checkpoint not read is never overwritten).
// The error names what could not be saved (it stays pending for the next
// Checkpoint).
func (m *Manager) Checkpoint(ctx context.Context, store *checkpoint.Store, now time.Time) error {
	m.mu.Lock()
	var names []string
	for name, s := range m.targets {
		if s.restored && s.dirty {
			names = append(names, name)
		}
	}
	m.mu.Unlock()
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		_, err := m.put(store, now, name)
		errs = append(errs, err)
	}
	return errors.Join(append(errs, store.Flush(ctx))...)
}

// Save saves target's state with savedAt now at once, if it was restored
// and changed since (write-ahead of a decision that must survive a crash
// or failover: the rate-limit memory after an actuation).
func (m *Manager) Save(ctx context.Context, store *checkpoint.Store, now time.Time, target string) error {
	keys, err := m.put(store, now, target)
	if err != nil || len(keys) == 0 {
		return err
	}
	return store.Sync(ctx, keys...)
}

// put hands target's state to store (in memory) if it was restored and
// changed, and returns the record keys.
func (m *Manager) put(store *checkpoint.Store, now time.Time, target string) ([]string, error) {
	m.mu.Lock()
	s, ok := m.targets[target]
	if !ok || !s.restored || !s.dirty {
		m.mu.Unlock()
		return nil, nil
	}
	hist, err := s.w.Encode(now)
	acts := s.acts
	if err == nil {
		s.dirty = false // changes from here on are saved next time
	}
	m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", target, err)
	}
	hk, ak := histogramsKey(target), actuationsKey(target)
	if err := store.Put(hk, hist); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", target, err)
	}
	if acts.LastRollout.IsZero() && len(acts.Resizes) == 0 {
		store.Delete(ak)
		return []string{hk, ak}, nil
	}
	b, err := json.Marshal(acts)
	if err == nil {
		err = store.Put(ak, b)
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: rate-limit memory: %w", target, err)
	}
	return []string{hk, ak}, nil
}
