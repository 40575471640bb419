package vertical

import (
	"context"
	"time"
)

// Lead makes r the writer of the namespace's vertical state for as long as
// ctx lives (a leadership term): it first forgets the in-memory state, so
// each target is restored from its checkpoint before its next decision (the
// previous leader may have written since this replica last read), then
// saves the state that changed every CheckpointInterval. When ctx is done
// (the lease is lost, or shutdown began) it stops without writing again;
// the final save on shutdown is Flush, called while the lease is still
// held. The returned function waits for the saver to stop.
func (r *Runner) Lead(ctx context.Context) (wait func()) {
	r.manager.Reset()
	r.mu.Lock()
	r.term++
	term := r.term
	r.leading = true
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.o.CheckpointInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				r.mu.Lock()
				if r.term == term {
					r.leading = false
				}
				r.mu.Unlock()
				return
			case <-t.C:
				r.checkpoint(ctx, time.Now())
			}
		}
	}()
	return func() { <-done }
}

// Flush saves every target's changed state now: the final checkpoint on
// shutdown, bounded by ctx. Call it while this replica still holds the
// lease; ctx should end when the lease does.
func (r *Runner) Flush(ctx context.Context) error {
	return r.manager.Checkpoint(ctx, r.store, time.Now())
}

func (r *Runner) checkpoint(ctx context.Context, now time.Time) {
	if err := r.manager.Checkpoint(ctx, r.store, now); err != nil && ctx.Err() == nil {
		r.log.Warn("vertical checkpoint failed", "namespace", r.o.Namespace, "err", err)
	}
}

// saveNow saves target's state at once if r leads (never for a replica
// that does not, nor for ebb report, which never leads).
func (r *Runner) saveNow(ctx context.Context, now time.Time, target string) error {
	r.mu.Lock()
	leading := r.leading
	r.mu.Unlock()
	if !leading || ctx.Err() != nil {
		return nil
	}
	return r.manager.Save(ctx, r.store, now, target)
}
