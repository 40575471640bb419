package autoscaler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/util/retry"

	"github.com/ebb-autoscaler/ebb/recommender/horizontal"
)

// DefaultStateName is the name of the state ConfigMap.
const DefaultStateName = "ebb-state"

// DefaultStateMaxBytes keeps the state ConfigMap well under the API
// server's 1 MiB object limit.
const DefaultStateMaxBytes = 900 << 10

// ConfigMapStore checkpoints per-target histories in one ConfigMap owned
// by ebb: one key per target ("<Kind>.<name>"), a compact JSON value. It
// writes only when something changed, and never more than maxBytes.
type ConfigMapStore struct {
	client    corev1client.ConfigMapsGetter
	namespace string
	name      string
	maxBytes  int
	readOnly  bool
	log       *slog.Logger

	mu   sync.Mutex
	last map[string]string // data last read or written
}

// NewConfigMapStore returns a store on the ConfigMap name in namespace.
// A read-only store loads but never writes (ebb report).
func NewConfigMapStore(c corev1client.ConfigMapsGetter, namespace, name string, readOnly bool, log *slog.Logger) *ConfigMapStore {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ConfigMapStore{client: c, namespace: namespace, name: name, maxBytes: DefaultStateMaxBytes, readOnly: readOnly, log: log}
}

// stateKey turns "Kind/name" into a valid ConfigMap key. Kinds have no
// dots, so "Kind.name" is unambiguous.
func stateKey(target string) string { return strings.Replace(target, "/", ".", 1) }

func targetOfKey(key string) string { return strings.Replace(key, ".", "/", 1) }

// Load reads the checkpoint; a missing ConfigMap is an empty state.
// Entries that do not decode are skipped and logged.
func (s *ConfigMapStore) Load(ctx context.Context) (map[string]horizontal.History, error) {
	cm, err := s.client.ConfigMaps(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return map[string]horizontal.History{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get configmap %s/%s: %w", s.namespace, s.name, err)
	}
	out := make(map[string]horizontal.History, len(cm.Data))
	for k, v := range cm.Data {
		h, err := decodeHistory(v)
		if err != nil {
			s.log.Warn("state entry skipped", "configmap", s.name, "key", k, "err", err)
			continue
		}
		out[targetOfKey(k)] = h
	}
	s.mu.Lock()
	s.last = maps.Clone(cm.Data)
	s.mu.Unlock()
	return out, nil
}

// Save writes state if it differs from what was last read or written.
func (s *ConfigMapStore) Save(ctx context.Context, state map[string]horizontal.History) error {
	if s.readOnly {
		return nil
	}
	data, err := s.encode(state)
	s.mu.Lock()
	same := s.last != nil && maps.Equal(s.last, data)
	s.mu.Unlock()
	if same {
		return err
	}
	if werr := s.write(ctx, data); werr != nil {
		return errors.Join(err, werr)
	}
	s.mu.Lock()
	s.last = data
	s.mu.Unlock()
	return err // a size error still wrote what fits
}

// encode serializes state in key order, dropping the entries that would
// push the ConfigMap over maxBytes (the error names them).
func (s *ConfigMapStore) encode(state map[string]horizontal.History) (map[string]string, error) {
	data := make(map[string]string, len(state))
	size := 0
	var dropped []string
	for _, target := range sortedKeys(state) {
		v, err := encodeHistory(state[target])
		if err != nil {
			return nil, fmt.Errorf("encode state of %s: %w", target, err)
		}
		k := stateKey(target)
		if size+len(k)+len(v) > s.maxBytes {
			dropped = append(dropped, target)
			continue
		}
		size += len(k) + len(v)
		data[k] = v
	}
	if len(dropped) > 0 {
		return data, fmt.Errorf("state configmap %s over %d bytes: not checkpointed: %s", s.name, s.maxBytes, strings.Join(dropped, ", "))
	}
	return data, nil
}

func (s *ConfigMapStore) write(ctx context.Context, data map[string]string) error {
	cms := s.client.ConfigMaps(s.namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, s.name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: s.namespace,
				Labels: map[string]string{"app.kubernetes.io/managed-by": "ebb"}}, Data: data}
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{FieldManager: FieldManager})
			return err
		}
		if err != nil {
			return err
		}
		cm.Data = data
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: FieldManager})
		return err
	})
	if err != nil {
		return fmt.Errorf("write configmap %s/%s: %w", s.namespace, s.name, err)
	}
	return nil
}

// storedHistory is the compact form of a History: times in Unix
// milliseconds, [time, value] pairs.
type storedHistory struct {
	Recommendations [][2]int64 `json:"r,omitempty"`
	ScaleUp         [][2]int64 `json:"u,omitempty"`
	ScaleDown       [][2]int64 `json:"d,omitempty"`
	Seeded          bool       `json:"s,omitempty"`
}

func encodeHistory(h horizontal.History) (string, error) {
	var s storedHistory
	for _, r := range h.Recommendations {
		s.Recommendations = append(s.Recommendations, [2]int64{r.At.UnixMilli(), int64(r.Replicas)})
	}
	for _, e := range h.ScaleUpEvents {
		s.ScaleUp = append(s.ScaleUp, [2]int64{e.At.UnixMilli(), int64(e.Change)})
	}
	for _, e := range h.ScaleDownEvents {
		s.ScaleDown = append(s.ScaleDown, [2]int64{e.At.UnixMilli(), int64(e.Change)})
	}
	s.Seeded = h.Seeded
	b, err := json.Marshal(s)
	return string(b), err
}

func decodeHistory(v string) (horizontal.History, error) {
	var s storedHistory
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return horizontal.History{}, fmt.Errorf("decode history: %w", err)
	}
	h := horizontal.History{Seeded: s.Seeded}
	for _, r := range s.Recommendations {
		h.Recommendations = append(h.Recommendations, horizontal.Recommendation{At: time.UnixMilli(r[0]), Replicas: int32(r[1])})
	}
	for _, e := range s.ScaleUp {
		h.ScaleUpEvents = append(h.ScaleUpEvents, horizontal.Event{At: time.UnixMilli(e[0]), Change: int32(e[1])})
	}
	for _, e := range s.ScaleDown {
		h.ScaleDownEvents = append(h.ScaleDownEvents, horizontal.Event{At: time.UnixMilli(e[0]), Change: int32(e[1])})
	}
	return h, nil
}
