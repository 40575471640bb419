package vertical

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	rv "github.com/ebb-autoscaler/ebb/recommender/vertical"
)

// Checkpoint ConfigMaps: one per target, named CheckpointName(target), the
// encoded histograms (rv.Encode, at most rv.MaxCheckpointBytes so the
// ConfigMap stays below the API server's 1 MiB) under
// binaryData[CheckpointKey] and the rate-limit memory as JSON under
// data[ActuationsKey].
const (
	CheckpointKey    = "checkpoint"
	ActuationsKey    = "actuations"
	checkpointPrefix = "ebb-vertical-"
	// TargetAnnotation on a checkpoint ConfigMap names its target.
	TargetAnnotation = "ebb.io/vertical-target"
	managedByLabel   = "app.kubernetes.io/managed-by"
)

var (
	// ErrNoCheckpoint means the target has no checkpoint ConfigMap (yet).
	ErrNoCheckpoint = errors.New("no checkpoint")
	// ErrConflict means the checkpoint changed (or appeared, or was
	// deleted) since this store last read or wrote it: another writer was
	// there, so nothing was written over it.
	ErrConflict = errors.New("checkpoint changed by another writer since it was read")
)

// Checkpoint is one target's saved state.
type Checkpoint struct {
	Histograms []byte // rv.Encode
	Actuations Actuations
}

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

// ConfigMapStore saves and loads checkpoints as ConfigMaps of one
// namespace. Its writes are guarded by what it read: an update carries the
// resourceVersion last read or written, a create is sent only when the
// last read found nothing, and a target never read is never written.
type ConfigMapStore struct {
	client    corev1client.ConfigMapsGetter
	namespace string

	mu sync.Mutex
	// seen holds, per target, the metadata of the ConfigMap last read or
	// written (resourceVersion included); nil when the last read found
	// none. A target absent from seen was not read (or lost a race).
	seen map[string]*metav1.ObjectMeta
}

// NewConfigMapStore returns a store writing ConfigMaps in namespace.
func NewConfigMapStore(c corev1client.ConfigMapsGetter, namespace string) *ConfigMapStore {
	return &ConfigMapStore{client: c, namespace: namespace, seen: map[string]*metav1.ObjectMeta{}}
}

// Load reads target's checkpoint; ErrNoCheckpoint (wrapped) when the
// ConfigMap or its histogram key is absent.
func (s *ConfigMapStore) Load(ctx context.Context, target string) (Checkpoint, error) {
	name := CheckpointName(target)
	cm, err := s.client.ConfigMaps(s.namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		s.remember(target, nil)
		return Checkpoint{}, fmt.Errorf("load checkpoint %s/%s: %w", s.namespace, name, ErrNoCheckpoint)
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("load checkpoint %s/%s: %w", s.namespace, name, err)
	}
	s.remember(target, &cm.ObjectMeta)
	data, ok := cm.BinaryData[CheckpointKey]
	if !ok {
		return Checkpoint{}, fmt.Errorf("load checkpoint %s/%s: key %q missing: %w", s.namespace, name, CheckpointKey, ErrNoCheckpoint)
	}
	c := Checkpoint{Histograms: data}
	if a, ok := cm.Data[ActuationsKey]; ok {
		if err := json.Unmarshal([]byte(a), &c.Actuations); err != nil {
			return c, fmt.Errorf("load checkpoint %s/%s: key %q: %w", s.namespace, name, ActuationsKey, err)
		}
	}
	return c, nil
}

func (s *ConfigMapStore) remember(target string, meta *metav1.ObjectMeta) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if meta == nil {
		s.seen[target] = nil
		return
	}
	m := meta.DeepCopy()
	m.ManagedFields = nil
	s.seen[target] = m
}

// Save writes c as target's checkpoint over the version last read or
// written. ErrConflict (wrapped) when it changed since: nothing is written
// and the caller re-reads before its next save. Histograms above
// rv.MaxCheckpointBytes are refused (the previous checkpoint stays).
func (s *ConfigMapStore) Save(ctx context.Context, target string, c Checkpoint) error {
	name := CheckpointName(target)
	if len(c.Histograms) > rv.MaxCheckpointBytes {
		return fmt.Errorf("save checkpoint %s/%s: %d bytes exceeds the limit of %d; previous checkpoint kept",
			s.namespace, name, len(c.Histograms), rv.MaxCheckpointBytes)
	}
	s.mu.Lock()
	meta, read := s.seen[target]
	s.mu.Unlock()
	if !read {
		return fmt.Errorf("save checkpoint %s/%s: not read since the last conflict: %w", s.namespace, name, ErrConflict)
	}
	cm, err := s.configMap(name, target, meta, c)
	if err != nil {
		return err
	}
	cms := s.client.ConfigMaps(s.namespace)
	var out *corev1.ConfigMap
	if meta == nil {
		out, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: "ebb"})
	} else {
		out, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "ebb"})
	}
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || apierrors.IsNotFound(err) {
		s.mu.Lock()
		delete(s.seen, target)
		s.mu.Unlock()
		return fmt.Errorf("save checkpoint %s/%s: %w: %w", s.namespace, name, ErrConflict, err)
	}
	if err != nil {
		return fmt.Errorf("save checkpoint %s/%s: %w", s.namespace, name, err)
	}
	s.remember(target, &out.ObjectMeta)
	return nil
}

// configMap is the object to write: the metadata last seen (nil: a new
// ConfigMap) with c as its data.
func (s *ConfigMapStore) configMap(name, target string, meta *metav1.ObjectMeta, c Checkpoint) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{BinaryData: map[string][]byte{CheckpointKey: c.Histograms}}
	if meta != nil {
		cm.ObjectMeta = *meta.DeepCopy()
	} else {
		cm.ObjectMeta = metav1.ObjectMeta{Name: name, Namespace: s.namespace,
			Labels:      map[string]string{managedByLabel: "ebb"},
			Annotations: map[string]string{TargetAnnotation: target}}
	}
	if len(c.Actuations.Resizes) > 0 || !c.Actuations.LastRollout.IsZero() {
		b, err := json.Marshal(c.Actuations)
		if err != nil {
			return nil, fmt.Errorf("save checkpoint %s/%s: encode actuations: %w", s.namespace, name, err)
		}
		cm.Data = map[string]string{ActuationsKey: string(b)}
	}
	return cm, nil
}
