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

// electionLock is the Lease lock ebb campaigns on. It tells the fence
// when this replica acquired or renewed the lease (a successful write of a
// record naming it), and it refuses to release a lease another replica
// holds: client-go's release (ReleaseOnCancel) re-reads the Lease for its
// resourceVersion but decides from the record it observed last, so a
// replica paused past its lease that gives the lease up when it resumes
// would clear the record of the replica that took over, which another
// replica could then acquire too (two leaders; found on the real API server
// by e2e TestEbbLeaderFailoverVertical, TestReleaseKeepsAnotherHoldersLease).
type electionLock struct {
	resourcelock.Interface
	fence *LeaseFence // nil: no fencing

	mu     sync.Mutex
	holder string // HolderIdentity of the record the last Get returned
}

func (l *electionLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	r, raw, err := l.Interface.Get(ctx)
	if err == nil {
		l.mu.Lock()
		l.holder = r.HolderIdentity
		l.mu.Unlock()
	}
	return r, raw, err
}

func (l *electionLock) Create(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	start := time.Now() // the renewal counts from before the request: conservative
	err := l.Interface.Create(ctx, r)
	if err == nil && r.HolderIdentity == l.Identity() {
		l.fence.renewed(start)
	}
	return err
}

func (l *electionLock) Update(ctx context.Context, r resourcelock.LeaderElectionRecord) error {
	if r.HolderIdentity == "" { // a release
		l.mu.Lock()
		holder := l.holder
		l.mu.Unlock()
		if holder != l.Identity() {
			return fmt.Errorf("not releasing %s: it is held by %q, not by %s", l.Describe(), holder, l.Identity())
		}
	}
	start := time.Now()
	err := l.Interface.Update(ctx, r)
	if err == nil && r.HolderIdentity == l.Identity() {
		l.fence.renewed(start)
	}
	return err
}
