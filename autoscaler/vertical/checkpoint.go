package vertical

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/util/retry"

	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// Checkpoint ConfigMaps: one per target, named CheckpointName(target), the
// encoded state (rv.Encode, at most rv.MaxCheckpointBytes so the ConfigMap
// stays below the API server's 1 MiB) under binaryData[CheckpointKey].
const (
	CheckpointKey    = "checkpoint"
	checkpointPrefix = "ebb-vertical-"
	// TargetAnnotation on a checkpoint ConfigMap names its target.
	TargetAnnotation = "ebb.io/vertical-target"
	managedByLabel   = "app.kubernetes.io/managed-by"
)

// ErrNoCheckpoint means the target has no checkpoint ConfigMap (yet).
var ErrNoCheckpoint = errors.New("no checkpoint")

// CheckpointName is the ConfigMap name for target ("Kind/name"):
// "ebb-vertical-<kind>-<name>" in lower case, or, when that is not a valid
// name of at most 253 characters, the prefix and a hash of target.
func CheckpointName(target string) string {
	n := checkpointPrefix + strings.ToLower(strings.ReplaceAll(target, "/", "-"))
	if len(n) <= 253 && validName(n) {
		return n
	}
	sum := sha256.Sum256([]byte(target))
	return checkpointPrefix + hex.EncodeToString(sum[:16])
}

func validName(n string) bool {
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return !strings.HasSuffix(n, "-") && !strings.HasSuffix(n, ".")
}

// ConfigMapStore saves and loads checkpoints as ConfigMaps of one namespace.
type ConfigMapStore struct {
	client    corev1client.ConfigMapsGetter
	namespace string
}

// NewConfigMapStore returns a store writing ConfigMaps in namespace.
func NewConfigMapStore(c corev1client.ConfigMapsGetter, namespace string) *ConfigMapStore {
	return &ConfigMapStore{client: c, namespace: namespace}
}

// Save writes data as target's checkpoint: it creates the ConfigMap, or
// updates it, retrying on a conflict (another writer, e.g. a previous
// leader) with the freshly read object. Data above rv.MaxCheckpointBytes is
// refused (the previous checkpoint stays).
func (s *ConfigMapStore) Save(ctx context.Context, target string, data []byte) error {
	name := CheckpointName(target)
	if len(data) > rv.MaxCheckpointBytes {
		return fmt.Errorf("save checkpoint %s/%s: %d bytes exceeds the limit of %d; previous checkpoint kept",
			s.namespace, name, len(data), rv.MaxCheckpointBytes)
	}
	cms := s.client.ConfigMaps(s.namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = cms.Create(ctx, s.newConfigMap(name, target, data), metav1.CreateOptions{FieldManager: "ebb"})
			if apierrors.IsAlreadyExists(err) { // created meanwhile: update it on the retry
				return apierrors.NewConflict(corev1.Resource("configmaps"), name, err)
			}
			return err
		}
		if err != nil {
			return err
		}
		cm = cm.DeepCopy()
		if cm.BinaryData == nil {
			cm.BinaryData = map[string][]byte{}
		}
		cm.BinaryData[CheckpointKey] = data
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "ebb"})
		return err
	})
	if err != nil {
		return fmt.Errorf("save checkpoint %s/%s: %w", s.namespace, name, err)
	}
	return nil
}

func (s *ConfigMapStore) newConfigMap(name, target string, data []byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.namespace,
			Labels:      map[string]string{managedByLabel: "ebb"},
			Annotations: map[string]string{TargetAnnotation: target}},
		BinaryData: map[string][]byte{CheckpointKey: data},
	}
}

// Load reads target's checkpoint; ErrNoCheckpoint (wrapped) when the
// ConfigMap or its key is absent.
func (s *ConfigMapStore) Load(ctx context.Context, target string) ([]byte, error) {
	name := CheckpointName(target)
	cm, err := s.client.ConfigMaps(s.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("load checkpoint %s/%s: %w", s.namespace, name, ErrNoCheckpoint)
	}
	if err != nil {
		return nil, fmt.Errorf("load checkpoint %s/%s: %w", s.namespace, name, err)
	}
	data, ok := cm.BinaryData[CheckpointKey]
	if !ok {
		return nil, fmt.Errorf("load checkpoint %s/%s: key %q missing: %w", s.namespace, name, CheckpointKey, ErrNoCheckpoint)
	}
	return data, nil
}

// CheckpointStore is what the Manager needs to persist its state.
type CheckpointStore interface {
	Save(ctx context.Context, target string, data []byte) error
	Load(ctx context.Context, target string) ([]byte, error)
}

// Restore loads target's checkpoint into the Manager once (later calls do
// nothing). Without a checkpoint the target starts empty and nil is
// returned; a checkpoint that does not decode is an error and the target
// starts empty too (the next save overwrites it). OOM kills that finished
// before the checkpoint was saved are not counted again.
func (m *Manager) Restore(ctx context.Context, store CheckpointStore, target string) error {
	m.mu.Lock()
	if s := m.state(target); s.restored {
		m.mu.Unlock()
		return nil
	}
	m.mu.Unlock()
	data, err := store.Load(ctx, target)
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.state(target)
	if errors.Is(err, ErrNoCheckpoint) {
		s.restored = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", target, err) // retried on the next call
	}
	s.restored = true
	w, savedAt, err := rv.RestoreWorkload(m.cfg, data)
	if err != nil {
		return fmt.Errorf("restore %s: decode checkpoint: %w", target, err)
	}
	s.w, s.oomSince = w, savedAt
	m.log.Info("restored vertical checkpoint", "namespace", m.namespace, "target", target,
		"savedAt", savedAt, "bytes", len(data))
	return nil
}

// Checkpoint saves every target's state with savedAt now; targets whose
// Restore has not succeeded yet are skipped. It continues past
// a failed target and returns every failure joined.
func (m *Manager) Checkpoint(ctx context.Context, store CheckpointStore, now time.Time) error {
	m.mu.Lock()
	encoded := make(map[string][]byte, len(m.targets))
	var errs []error
	for name, s := range m.targets {
		if !s.restored { // never overwrite a checkpoint not read yet
			continue
		}
		b, err := s.w.Encode(now)
		if err != nil {
			errs = append(errs, fmt.Errorf("checkpoint %s: %w", name, err))
			continue
		}
		encoded[name] = b
	}
	m.mu.Unlock()
	for name, b := range encoded {
		if err := store.Save(ctx, name, b); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RunCheckpoints saves every interval until ctx is done, then once more
// (with ctx's values but not its cancellation, bounded by timeout) so a
// clean shutdown loses nothing and a crash at most one interval. Failures
// are logged; the next tick retries.
func (m *Manager) RunCheckpoints(ctx context.Context, store CheckpointStore, interval, timeout time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	save := func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := m.Checkpoint(ctx, store, time.Now()); err != nil {
			m.log.Warn("vertical checkpoint failed", "namespace", m.namespace, "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			save(context.WithoutCancel(ctx))
			return
		case <-t.C:
			save(ctx)
		}
	}
}
