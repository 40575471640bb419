package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// ErrNotLeading is returned by LeaseFence.Check when this replica may not
// write as the leader.
var ErrNotLeading = errors.New("not leading: the lease was not renewed within the renew deadline")

// LeaseFence says whether this replica may still write as the leader. It
// closes the gap client-go's leader election leaves (it does no fencing): a
// replica paused past its lease — a long GC pause, a frozen VM or container
// — resumes believing it leads, and its goroutines may write before its
// next renewal fails and its term ends. With the fence, every state write
// first checks, on this replica's monotonic clock, that a term is in
// progress and that the lease was renewed less than the renew deadline ago
// (another replica can take the lease only after the lease duration, which
// is longer). Wire Check into the checkpoint stores (checkpoint.Options.
// Fence) and the fence into ElectionOptions.Fence. Without election the
// fence is never armed and Check always passes; a nil *LeaseFence too.
type LeaseFence struct {
	mu        sync.Mutex
	armed     bool // election is in use
	leading   bool // a term is in progress
	renewedAt time.Time
	within    time.Duration
}

// NewLeaseFence returns an unarmed fence.
func NewLeaseFence() *LeaseFence { return &LeaseFence{} }

// Check returns nil when writes are allowed, else ErrNotLeading (wrapped).
func (f *LeaseFence) Check() error {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.armed {
		return nil
	}
	if !f.leading {
		return fmt.Errorf("%w (no term in progress)", ErrNotLeading)
	}
	if age := time.Since(f.renewedAt); age >= f.within {
		return fmt.Errorf("%w (last renewed %s ago, deadline %s)", ErrNotLeading, age.Round(time.Millisecond), f.within)
	}
	return nil
}

func (f *LeaseFence) arm(within time.Duration) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed, f.within = true, within
}

// term marks a term started or ended.
func (f *LeaseFence) term(leading bool) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.leading = leading
}

func (f *LeaseFence) renewed(at time.Time) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.renewedAt = at
}

// fencedLock is a resource lock that tells the fence when this replica
// acquired or renewed the lease (a successful write of a record naming it).
type fencedLock struct {
	resourcelock.Interface
	fence *LeaseFence
}

func (l fencedLock) Create(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	start := time.Now() // the renewal counts from before the request: conservative
	err := l.Interface.Create(ctx, r)
	if err == nil && r.HolderIdentity == l.Identity() {
		l.fence.renewed(start)
	}
	return err
}

func (l fencedLock) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	start := time.Now()
	err := l.Interface.Update(ctx, r)
	if err == nil && r.HolderIdentity == l.Identity() {
		l.fence.renewed(start)
	}
	return err
}
