package policy

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	validV1 = "targets: [{scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, horizontal: {maxReplicas: 3}}]\n"
	validV2 = "targets: [{scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, horizontal: {maxReplicas: 7}}]\n"
	invalid = "targets: [{scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, horizontal: {maxReplicas: 0}}]\n"
)

// recorder collects what a Watcher delivers.
type recorder struct {
	mu      sync.Mutex
	events  []string // "reload max=N" or "reject: <first line>"
	current *Compiled
}

func (r *recorder) reload(c *Compiled) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current = c
	r.events = append(r.events, "reload max="+itoa(c.Targets[0].Spec.MaxReplicas))
}

func (r *recorder) reject(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg := err.Error()
	switch {
	case strings.Contains(msg, "maxReplicas"):
		r.events = append(r.events, "reject invalid")
	case strings.Contains(msg, "read policy"):
		r.events = append(r.events, "reject unreadable")
	default:
		r.events = append(r.events, "reject "+msg)
	}
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func fmtInt(n int32) string { return strconv.Itoa(int(n)) }

// configMapDir lays out a directory like the kubelet's ConfigMap volume:
// policy.yaml -> ..data/policy.yaml, ..data -> ..<version>. swap points
// ..data at a new version atomically (rename over the symlink).
type configMapDir struct {
	t       *testing.T
	dir     string
	version int
}

func (c *configMapDir) path() string { return filepath.Join(c.dir, "policy.yaml") }

func (c *configMapDir) swap(content string) {
	c.t.Helper()
	c.version++
	v := filepath.Join(c.dir, "..v"+fmtInt(int32(c.version)))
	must(c.t, os.Mkdir(v, 0o755))
	must(c.t, os.WriteFile(filepath.Join(v, "policy.yaml"), []byte(content), 0o644))
	tmp := filepath.Join(c.dir, "..data_tmp")
	must(c.t, os.Symlink(filepath.Base(v), tmp))
	must(c.t, os.Rename(tmp, filepath.Join(c.dir, "..data")))
	if c.version == 1 {
		must(c.t, os.Symlink(filepath.Join("..data", "policy.yaml"), c.path()))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWatcherHotReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cm := &configMapDir{t: t, dir: t.TempDir()}
		cm.swap(validV1)
		rec := &recorder{}
		w, err := NewWatcher(WatcherOptions{Path: cm.path(), Interval: 10 * time.Second,
			OnReload: rec.reload, OnReject: rec.reject})
		must(t, err)
		first, err := w.Load()
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if first.Targets[0].Spec.MaxReplicas != 3 || first.Hash == "" {
			t.Fatalf("Load = max %d hash %q, want max 3 and a hash", first.Targets[0].Spec.MaxReplicas, first.Hash)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- w.Run(ctx) }()

		// step advances the fake clock by d, applies change first if any,
		// and returns what the watcher delivered meanwhile.
		step := func(d time.Duration, change func()) []string {
			if change != nil {
				change()
			}
			time.Sleep(d)
			synctest.Wait()
			return rec.take()
		}
		for _, tc := range []struct {
			name   string
			change func()
			after  time.Duration
			want   []string
		}{
			{name: "unchanged file delivers nothing", after: 10 * time.Second},
			{name: "a change is not seen before the next poll", change: func() { cm.swap(validV2) }, after: 9 * time.Second},
			{name: "the next poll reloads it", after: time.Second, want: []string{"reload max=7"}},
			{name: "an invalid file is rejected", change: func() { cm.swap(invalid) }, after: 10 * time.Second,
				want: []string{"reject invalid"}},
			{name: "the same invalid file is reported once", after: 30 * time.Second},
			{name: "a missing file is rejected", change: func() { must(t, os.Remove(filepath.Join(cm.dir, "..data"))) },
				after: 10 * time.Second, want: []string{"reject unreadable"}},
			{name: "going back to the good content delivers nothing", change: func() { cm.swap(validV2) },
				after: 10 * time.Second},
			{name: "breaking it again is reported again", change: func() { cm.swap(invalid) }, after: 10 * time.Second,
				want: []string{"reject invalid"}},
			{name: "a fixed file reloads", change: func() { cm.swap(validV1) }, after: 10 * time.Second,
				want: []string{"reload max=3"}},
		} {
			if d := cmp.Diff(tc.want, step(tc.after, tc.change)); d != "" {
				t.Errorf("%s: events (-want +got):\n%s", tc.name, d)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v, want nil on cancel", err)
		}
	})
}

func TestWatcherInjectedReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		content := validV1
		read := func(string) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			return []byte(content), nil
		}
		rec := &recorder{}
		w, err := NewWatcher(WatcherOptions{Path: "policy.yaml", ReadFile: read, OnReload: rec.reload, OnReject: rec.reject})
		must(t, err)
		if _, err := w.Load(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = w.Run(t.Context()) }()
		mu.Lock()
		content = validV2
		mu.Unlock()
		time.Sleep(DefaultWatchInterval - time.Nanosecond)
		synctest.Wait()
		if got := rec.take(); len(got) != 0 {
			t.Errorf("before the default interval: events %v, want none", got)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if d := cmp.Diff([]string{"reload max=7"}, rec.take()); d != "" {
			t.Errorf("at the default interval (-want +got):\n%s", d)
		}
	})
}

func TestWatcherLoadInvalid(t *testing.T) {
	w, err := NewWatcher(WatcherOptions{Path: "p.yaml", ReadFile: func(string) ([]byte, error) { return []byte(invalid), nil },
		OnReload: func(*Compiled) {}, OnReject: func(error) {}})
	must(t, err)
	if c, err := w.Load(); c != nil || err == nil || !strings.Contains(err.Error(), "p.yaml") {
		t.Errorf("Load = %v, %v; want nil and an error naming p.yaml", c, err)
	}
}

func TestWatcherOptionsValidate(t *testing.T) {
	err := WatcherOptions{Interval: -time.Second}.Validate()
	want := []string{
		"policy watcher: path must be set",
		"policy watcher: interval -1s must not be negative",
		"policy watcher: OnReload must be set",
		"policy watcher: OnReject must be set",
	}
	if d := cmp.Diff(want, problemStrings(err)); d != "" {
		t.Errorf("Validate (-want +got):\n%s", d)
	}
}
