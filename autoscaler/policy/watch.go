package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"
)

// DefaultWatchInterval is how often a Watcher polls the policy file.
const DefaultWatchInterval = 10 * time.Second

// WatcherOptions configure a Watcher.
type WatcherOptions struct {
	// Path is the policy file, typically a ConfigMap volume item.
	Path string
	// Interval between polls; DefaultWatchInterval when zero.
	Interval time.Duration
	// ReadFile reads the file; os.ReadFile when nil. It follows symlinks,
	// so the kubelet's atomic ..data symlink swap is seen as a new content.
	ReadFile func(path string) ([]byte, error)
	// OnReload receives every new valid policy, from Run's goroutine.
	OnReload func(*Compiled)
	// OnReject receives the error of a changed file that could not be read
	// or is invalid, once per distinct content; the last good policy stays
	// in force. It is called from Run's goroutine.
	OnReject func(error)
}

// Validate reports every problem of o.
func (o WatcherOptions) Validate() error {
	var errs []error
	if o.Path == "" {
		errs = append(errs, errors.New("policy watcher: path must be set"))
	}
	if o.Interval < 0 {
		errs = append(errs, fmt.Errorf("policy watcher: interval %v must not be negative", o.Interval))
	}
	if o.OnReload == nil {
		errs = append(errs, errors.New("policy watcher: OnReload must be set"))
	}
	if o.OnReject == nil {
		errs = append(errs, errors.New("policy watcher: OnReject must be set"))
	}
	return errors.Join(errs...)
}

// Watcher polls a policy file's content hash and hot-reloads it: a changed,
// valid file is delivered to OnReload; a changed, invalid one is reported to
// OnReject and ignored, so the last good policy stays in force.
type Watcher struct {
	o        WatcherOptions
	current  string // hash of the policy in force
	rejected string // hash (or read error) last reported to OnReject
}

// NewWatcher returns a Watcher for o.
func NewWatcher(o WatcherOptions) (*Watcher, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Interval == 0 {
		o.Interval = DefaultWatchInterval
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	return &Watcher{o: o}, nil
}

// Load reads and compiles the file once, at startup; the result is the
// policy in force from which Run watches for changes. An error here should
// stop ebb from starting: there is no last good policy yet.
func (w *Watcher) Load() (*Compiled, error) {
	data, err := w.o.ReadFile(w.o.Path)
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w", w.o.Path, err)
	}
	c, err := Load(data)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", w.o.Path, err)
	}
	w.current = c.Hash
	return c, nil
}

// Run polls the file every interval until ctx is done, then returns nil.
// Call Load first.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.poll()
		}
	}
}

// poll checks the file once.
func (w *Watcher) poll() {
	data, err := w.o.ReadFile(w.o.Path)
	if err != nil {
		w.reject("read:"+err.Error(), fmt.Errorf("read policy %s: %w", w.o.Path, err))
		return
	}
	h := hash(data)
	if h == w.current {
		w.rejected = "" // back to the good content: report a new breakage again
		return
	}
	c, err := Load(data)
	if err != nil {
		w.reject(h, fmt.Errorf("policy %s (sha256 %s) rejected, keeping sha256 %s: %w",
			w.o.Path, short(h), short(w.current), err))
		return
	}
	w.current, w.rejected = h, ""
	w.o.OnReload(c)
}

func (w *Watcher) reject(key string, err error) {
	if key == w.rejected {
		return
	}
	w.rejected = key
	w.o.OnReject(err)
}

func hash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
