package vertical

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// CheckpointStore is what the Manager needs to persist its state. Save
// must refuse (ErrConflict) to write over a checkpoint that changed since
// Load read it.
type CheckpointStore interface {
	Save(ctx context.Context, target string, c Checkpoint) error
	Load(ctx context.Context, target string) (Checkpoint, error)
}

// Restore loads target's checkpoint into the Manager once (later calls do
// nothing until Reset, Forget or a save conflict). Without a checkpoint
// the target starts empty and nil is returned; a checkpoint that does not
// decode is an error and the target starts empty too (the next save
// overwrites it). OOM kills that finished before the checkpoint was saved
// are not counted again.
func (m *Manager) Restore(ctx context.Context, store CheckpointStore, target string) error {
	m.mu.Lock()
	if s := m.state(target); s.restored {
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()
	c, err := store.Load(ctx, target)
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.state(target)
	if errors.Is(err, ErrNoCheckpoint) {
		s.restored = true
		return nil
	}
	if err != nil && c.Histograms == nil {
		return fmt.Errorf("restore %s: %w", target, err) // retried on the next call
	}
	s.restored = true
	actsErr := err // the histograms are there, the actuations may not be
	w, savedAt, err := rv.RestoreWorkload(m.cfg, c.Histograms)
	if err != nil {
		return fmt.Errorf("restore %s: decode checkpoint: %w", target, err)
	}
	s.w, s.oomSince, s.acts, s.fromCheckpoint = w, savedAt, c.Actuations, true
	m.log.Info("restored vertical checkpoint", "namespace", m.namespace, "target", target,
		"savedAt", savedAt, "bytes", len(c.Histograms))
	if actsErr != nil {
		return fmt.Errorf("restore %s: %w", target, actsErr)
	}
	return nil
}

// Checkpoint saves, with savedAt now, the state of every target that
// changed since it was restored or last saved; targets whose Restore has
// not succeeded are skipped (a checkpoint not read is never overwritten).
// It continues past a failed target and returns every failure joined.
func (m *Manager) Checkpoint(ctx context.Context, store CheckpointStore, now time.Time) error {
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
		if err := ctx.Err(); err != nil {
			return errors.Join(append(errs, fmt.Errorf("checkpoint interrupted: %w", err))...)
		}
		errs = append(errs, m.Save(ctx, store, now, name))
	}
	return errors.Join(errs...)
}

// Save saves target's state with savedAt now, if it was restored and
// changed since. On ErrConflict the target's in-memory state is dropped:
// it is restored from what the other writer saved before its next
// decision.
func (m *Manager) Save(ctx context.Context, store CheckpointStore, now time.Time, target string) error {
	m.saveMu.Lock() // one save at a time: the periodic saver and a pass may both save
	defer m.saveMu.Unlock()
	m.mu.Lock()
	s, ok := m.targets[target]
	if !ok || !s.restored || !s.dirty {
		m.mu.Unlock()
		return nil
	}
	b, err := s.w.Encode(now)
	c := Checkpoint{Histograms: b, Actuations: s.acts}
	c.Actuations.Resizes = slices.Clone(c.Actuations.Resizes)
	s.dirty = false // changes from here on are saved next time
	m.mu.Unlock()
	if err != nil {
		m.markDirty(s)
		return fmt.Errorf("checkpoint %s: %w", target, err)
	}
	err = store.Save(ctx, target, c)
	if errors.Is(err, ErrConflict) {
		m.mu.Lock()
		if m.targets[target] == s {
			delete(m.targets, target)
		}
		m.mu.Unlock()
		m.log.Warn("vertical checkpoint changed by another writer: re-read before the next decision",
			"namespace", m.namespace, "target", target)
	} else if err != nil {
		m.markDirty(s)
	}
	return err
}

func (m *Manager) markDirty(s *targetState) {
	m.mu.Lock()
	s.dirty = true
	m.mu.Unlock()
}
