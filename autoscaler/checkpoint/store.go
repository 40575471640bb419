// Package checkpoint keeps ebb's per-target state in ConfigMaps of one
// namespace. A Store holds records (a key and a value); a placement rule
// puts each record into one ConfigMap (hashed shards by default, or one
// ConfigMap per target), and a ConfigMap is written only when its content
// changed. Every write is an Update carrying the resourceVersion last read
// or written: a conflict (another writer) re-reads that ConfigMap and
// applies only the keys this store changed on top of it, so another
// writer's data is never blindly overwritten.
//
// The horizontal state (package autoscaler) and the vertical state (package
// autoscaler/vertical) each use a Store of this type. It imports client-go
// only, never the packages that use it.
package checkpoint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Labels of every ConfigMap a Store writes. StoreLabel's value is the
// store's Name: Load lists the ConfigMaps carrying it.
const (
	StoreLabel     = "ebb.io/state"
	ManagedByLabel = "app.kubernetes.io/managed-by"
	FieldManager   = "ebb"
)

// DefaultMaxBytes keeps one ConfigMap (keys plus values) well under the API
// server's 1 MiB limit.
const DefaultMaxBytes = 900 << 10

// DefaultShards is the number of ConfigMaps the default placement hashes
// records into: 2,000 targets of horizontal state (a few hundred bytes
// each) stay far below DefaultMaxBytes per shard.
const DefaultShards = 16

// conflictRetries bounds the re-read-and-reapply rounds of one write.
const conflictRetries = 3

// Options configure a Store.
type Options struct {
	Client    corev1client.ConfigMapsGetter
	Namespace string
	// Name identifies the store: its ConfigMaps carry the label
	// ebb.io/state=<Name>, and the default placement names them
	// "<Name>-<shard>". Two stores of one namespace need different names.
	Name string
	// Place returns the name of the ConfigMap that holds the record key. Nil
	// hashes keys into Shards ConfigMaps "<Name>-0" … "<Name>-<Shards-1>".
	// A placement that returns one name per target (e.g. the vertical
	// checkpoints, up to 768 KiB each) gives every target its own ConfigMap.
	// Load finds records wherever they are; a record found in another
	// ConfigMap than Place names moves there on its next write.
	Place func(key string) string
	// Shards is used by the default placement (DefaultShards when 0).
	Shards int
	// MaxBytes bounds one ConfigMap's keys plus values (DefaultMaxBytes
	// when 0). Records that do not fit stay unsaved and are named in the
	// error of Sync/Flush and by Unsaved.
	MaxBytes int
	// ReadOnly stores load and never write (ebb report, a standby).
	ReadOnly bool
	// Writer names who writes (the replica's leader-election identity): every
	// write sets it as annotation WriterAnnotation, so an operator (and the
	// e2e failover test) sees which replica last wrote a ConfigMap. Empty:
	// no annotation.
	Writer string
	// Fence, when set, is called right before every write; an error
	// refuses the write (a replica that is no longer sure it leads writes
	// nothing: autoscaler.LeaseFence.Check).
	Fence func() error
}

// WriterAnnotation on a ConfigMap names the replica that last wrote it
// (Options.Writer).
const WriterAnnotation = "ebb.io/writer"

// Store is the set of records of one Name in one namespace. Load reads them
// all (one LIST); Put and Delete change them in memory; Sync and Flush write
// the ConfigMaps whose content changed. It is safe for concurrent use:
// writes of different ConfigMaps run in parallel, writes of one ConfigMap
// are serialized, and a write carries every change made to that ConfigMap
// until it started (so concurrent Syncs of one ConfigMap coalesce).
type Store struct {
	o Options

	mu   sync.Mutex // guards maps, where and every configMap's want/stored/rv
	maps map[string]*configMap
	// where is the ConfigMap a key lives in (in want); a key moves when
	// Place changes.
	where map[string]string
}

// configMap is one ConfigMap of the store.
type configMap struct {
	write sync.Mutex // serializes writes of this ConfigMap
	// rv is the resourceVersion last read or written; "" when the
	// ConfigMap does not exist (yet).
	rv string
	// stored is the content on the server as last read or written.
	stored map[string][]byte
	// want is the content the store's users asked for.
	want map[string][]byte
}

// New validates o and returns a Store; nothing is read until Load.
func New(o Options) (*Store, error) {
	var errs []error
	if o.Client == nil {
		errs = append(errs, errors.New("checkpoint Client: must be set"))
	}
	if o.Namespace == "" {
		errs = append(errs, errors.New("checkpoint Namespace: must not be empty"))
	}
	for _, msg := range validation.IsDNS1123Label(o.Name) {
		errs = append(errs, fmt.Errorf("checkpoint Name %q: %s", o.Name, msg))
	}
	if o.Shards < 0 || o.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("checkpoint Shards %d, MaxBytes %d: must not be negative", o.Shards, o.MaxBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.Shards == 0 {
		o.Shards = DefaultShards
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Place == nil {
		o.Place = HashPlacement(o.Name, o.Shards)
	}
	return &Store{o: o, maps: map[string]*configMap{}, where: map[string]string{}}, nil
}

// HashPlacement returns the default placement: key into one of shards
// ConfigMaps "<name>-<i>" by an FNV-1a hash of the key.
func HashPlacement(name string, shards int) func(string) string {
	return func(key string) string {
		h := fnv.New32a()
		_, _ = h.Write([]byte(key))
		return fmt.Sprintf("%s-%d", name, h.Sum32()%uint32(shards))
	}
}

// Key turns a target "Kind/name" (or any string) into a valid ConfigMap
// data key: "/" becomes ".", other invalid characters "_". Kinds have no
// dots, so "Kind.name" stays readable and unambiguous for Kubernetes names.
func Key(target string) string {
	b := []byte(strings.Replace(target, "/", ".", 1))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Name is the store's name (its label value).
func (s *Store) Name() string { return s.o.Name }

// Load lists the store's ConfigMaps (one LIST by label) and returns every
// record. It replaces everything held in memory, unsaved changes included:
// call it when this replica starts deciding (start, every new lease), so
// it continues from what the previous owner saved.
func (s *Store) Load(ctx context.Context) (map[string][]byte, error) {
	list, err := s.o.Client.ConfigMaps(s.o.Namespace).List(ctx, metav1.ListOptions{LabelSelector: StoreLabel + "=" + s.o.Name})
	if err != nil {
		return nil, fmt.Errorf("list configmaps %s=%s in namespace %s: %w", StoreLabel, s.o.Name, s.o.Namespace, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maps = make(map[string]*configMap, len(list.Items))
	s.where = map[string]string{}
	out := map[string][]byte{}
	for i := range list.Items {
		cm := &list.Items[i]
		content := contentOf(cm)
		s.maps[cm.Name] = &configMap{rv: cm.ResourceVersion, stored: content, want: maps.Clone(content)}
	}
	// A record outside the ConfigMap its placement names (the shard count
	// changed, or a copy was left behind) moves there on the next write;
	// the copy in its place wins over others.
	for _, name := range slices.Sorted(maps.Keys(s.maps)) {
		for k, v := range s.maps[name].stored {
			place := s.o.Place(k)
			if place == name {
				out[k] = v
				s.where[k] = name
				continue
			}
			delete(s.maps[name].want, k)
			if p, ok := s.maps[place]; ok {
				if _, there := p.stored[k]; there {
					continue
				}
			}
			out[k] = v
			s.configMap(place).want[k] = v
			s.where[k] = place
		}
	}
	return out, nil
}

// contentOf merges a ConfigMap's data and binaryData.
func contentOf(cm *corev1.ConfigMap) map[string][]byte {
	out := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		out[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		out[k] = v
	}
	return out
}

// Get returns the record of key as held in memory (loaded or put).
func (s *Store) Get(key string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name, ok := s.where[key]
	if !ok {
		return nil, false
	}
	v, ok := s.maps[name].want[key]
	return v, ok
}

// Put sets the record of key in memory. Putting the value the store
// already holds changes nothing (and so writes nothing). key must be a
// valid ConfigMap key (see Key).
func (s *Store) Put(key string, value []byte) error {
	if msgs := validation.IsConfigMapKey(key); len(msgs) > 0 {
		return fmt.Errorf("checkpoint key %q: %s", key, strings.Join(msgs, "; "))
	}
	name := s.o.Place(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.where[key]; ok && old != name {
		delete(s.maps[old].want, key)
	}
	cm := s.configMap(name)
	if v, ok := cm.want[key]; ok && bytes.Equal(v, value) {
		return nil
	}
	cm.want[key] = bytes.Clone(value)
	s.where[key] = name
	return nil
}

// Delete removes the record of key in memory; the next write of its
// ConfigMap drops it.
func (s *Store) Delete(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name, ok := s.where[key]; ok {
		delete(s.maps[name].want, key)
		delete(s.where, key)
	}
}

// configMap returns the state of ConfigMap name, creating it. s.mu held.
func (s *Store) configMap(name string) *configMap {
	cm, ok := s.maps[name]
	if !ok {
		cm = &configMap{stored: map[string][]byte{}, want: map[string][]byte{}}
		s.maps[name] = cm
	}
	return cm
}

// Unsaved returns, sorted, the keys whose record in memory differs from
// what was last read or written (never saved, or a write failed). A
// read-only store saves nothing by design and returns none.
func (s *Store) Unsaved() []string {
	if s.o.ReadOnly {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, cm := range s.maps {
		out = append(out, changedKeys(cm.stored, cm.want)...)
	}
	slices.Sort(out)
	return out
}

// changedKeys returns the keys whose value differs between a and b.
func changedKeys(stored, want map[string][]byte) []string {
	var out []string
	for k, v := range want {
		if sv, ok := stored[k]; !ok || !bytes.Equal(sv, v) {
			out = append(out, k)
		}
	}
	for k := range stored {
		if _, ok := want[k]; !ok {
			out = append(out, k)
		}
	}
	return out
}

// Sync writes the ConfigMaps holding keys, if their content changed: use it
// before an action whose record must survive a crash (write-ahead).
func (s *Store) Sync(ctx context.Context, keys ...string) error {
	s.mu.Lock()
	names := map[string]bool{}
	for _, k := range keys {
		if name, ok := s.where[k]; ok {
			names[name] = true
		} else {
			names[s.o.Place(k)] = true // deleted: its old ConfigMap is unknown, try its place
		}
	}
	s.mu.Unlock()
	return s.writeAll(ctx, slices.Sorted(maps.Keys(names)))
}

// Flush writes every ConfigMap whose content changed. The error joins the
// failures, each naming its ConfigMap and the keys left unsaved.
func (s *Store) Flush(ctx context.Context) error {
	s.mu.Lock()
	names := slices.Sorted(maps.Keys(s.maps))
	s.mu.Unlock()
	return s.writeAll(ctx, names)
}

func (s *Store) writeAll(ctx context.Context, names []string) error {
	var errs []error
	for _, name := range names {
		errs = append(errs, s.write(ctx, name))
	}
	return errors.Join(errs...)
}

// NotSavedError names the records a write left unsaved.
type NotSavedError struct {
	ConfigMap string
	Keys      []string
	Err       error
}

func (e *NotSavedError) Error() string {
	return fmt.Sprintf("configmap %s: not saved: %s: %v", e.ConfigMap, strings.Join(e.Keys, ", "), e.Err)
}

func (e *NotSavedError) Unwrap() error { return e.Err }

// write brings ConfigMap name to the wanted content, if it differs.
func (s *Store) write(ctx context.Context, name string) error {
	s.mu.Lock()
	cm, ok := s.maps[name]
	s.mu.Unlock()
	if !ok || s.o.ReadOnly {
		return nil
	}
	cm.write.Lock()
	defer cm.write.Unlock()
	var err error
	for range conflictRetries {
		var retry bool
		if retry, err = s.writeOnce(ctx, name, cm); !retry {
			break
		}
	}
	if err != nil {
		s.mu.Lock()
		keys := changedKeys(cm.stored, cm.want)
		s.mu.Unlock()
		slices.Sort(keys)
		var ns *NotSavedError
		if errors.As(err, &ns) {
			return err
		}
		return &NotSavedError{ConfigMap: name, Keys: keys, Err: err}
	}
	return nil
}

// writeOnce sends one Create or Update of cm; retry is true after a
// conflict, once the fresh object was read and merged.
func (s *Store) writeOnce(ctx context.Context, name string, cm *configMap) (retry bool, err error) {
	s.mu.Lock()
	if len(changedKeys(cm.stored, cm.want)) == 0 {
		s.mu.Unlock()
		return false, nil
	}
	content, dropped := fit(cm.want, s.o.MaxBytes)
	rv := cm.rv
	unchanged := rv != "" && len(changedKeys(cm.stored, content)) == 0
	s.mu.Unlock()
	tooBig := func() error {
		if len(dropped) == 0 {
			return nil
		}
		return &NotSavedError{ConfigMap: name, Keys: dropped, Err: fmt.Errorf("over %d bytes", s.o.MaxBytes)}
	}
	if unchanged { // only records that do not fit differ: nothing to send
		return false, tooBig()
	}
	obj := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.o.Namespace, ResourceVersion: rv,
		Labels: map[string]string{ManagedByLabel: "ebb", StoreLabel: s.o.Name}}}
	if s.o.Writer != "" {
		obj.Annotations = map[string]string{WriterAnnotation: s.o.Writer}
	}
	setContent(obj, content)
	if s.o.Fence != nil {
		if err := s.o.Fence(); err != nil {
			return false, fmt.Errorf("write configmap %s/%s: %w", s.o.Namespace, name, err)
		}
	}
	cms := s.o.Client.ConfigMaps(s.o.Namespace)
	var got *corev1.ConfigMap
	if rv == "" {
		got, err = cms.Create(ctx, obj, metav1.CreateOptions{FieldManager: FieldManager})
	} else {
		got, err = cms.Update(ctx, obj, metav1.UpdateOptions{FieldManager: FieldManager})
	}
	switch {
	case apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || (rv != "" && apierrors.IsNotFound(err)):
		if rerr := s.reread(ctx, name, cm); rerr != nil {
			return false, fmt.Errorf("write configmap %s/%s: %w; re-read: %w", s.o.Namespace, name, err, rerr)
		}
		return true, fmt.Errorf("write configmap %s/%s: %w", s.o.Namespace, name, err)
	case err != nil:
		return false, fmt.Errorf("write configmap %s/%s: %w", s.o.Namespace, name, err)
	}
	s.mu.Lock()
	cm.rv, cm.stored = got.ResourceVersion, content
	s.mu.Unlock()
	return false, tooBig()
}

// reread fetches ConfigMap name after a conflict: what another writer put
// there becomes the stored content, and the keys this store changed since
// its last read or write are applied on top of it (the other writer's
// other keys stay).
func (s *Store) reread(ctx context.Context, name string, cm *configMap) error {
	fresh, err := s.o.Client.ConfigMaps(s.o.Namespace).Get(ctx, name, metav1.GetOptions{})
	rv, content := "", map[string][]byte{}
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return err
	default:
		rv, content = fresh.ResourceVersion, contentOf(fresh)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mine := changedKeys(cm.stored, cm.want)
	want := maps.Clone(content)
	for _, k := range mine {
		if v, ok := cm.want[k]; ok {
			want[k] = v
		} else {
			delete(want, k)
		}
	}
	for k := range want {
		if where, ok := s.where[k]; ok && where != name {
			delete(want, k) // the key moved elsewhere in this store
		} else {
			s.where[k] = name
		}
	}
	cm.rv, cm.stored, cm.want = rv, content, want
	return nil
}

// fit returns the records of want that fit in maxBytes, in key order, and
// the keys left out.
func fit(want map[string][]byte, maxBytes int) (map[string][]byte, []string) {
	out := make(map[string][]byte, len(want))
	size := 0
	var dropped []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		n := len(k) + len(want[k])
		if size+n > maxBytes {
			dropped = append(dropped, k)
			continue
		}
		size += n
		out[k] = want[k]
	}
	return out, dropped
}

// setContent puts UTF-8 values in data (readable with kubectl) and the
// others in binaryData.
func setContent(cm *corev1.ConfigMap, content map[string][]byte) {
	for k, v := range content {
		if utf8.Valid(v) {
			if cm.Data == nil {
				cm.Data = map[string]string{}
			}
			cm.Data[k] = string(v)
			continue
		}
		if cm.BinaryData == nil {
			cm.BinaryData = map[string][]byte{}
		}
		cm.BinaryData[k] = v
	}
}
