package vertical

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/ebb-autoscaler/ebb/autoscaler/checkpoint"
)

// The vertical state lives in a checkpoint.Store named StoreName, one
// ConfigMap per target (CheckpointName): the encoded histograms (rv.Encode,
// at most rv.MaxCheckpointBytes) under the record key checkpoint.Key(target)
// (binaryData) and the rate-limit memory (Actuations) as JSON under that
// key plus actuationsSuffix (data).
const (
	StoreName        = "ebb-vertical"
	actuationsSuffix = "_actuations" // "_" never occurs in checkpoint.Key of a Kubernetes name
	checkpointPrefix = StoreName + "-"
)

// NewStore returns the vertical checkpoint store of namespace; a read-only
// store loads and never writes (ebb report). writer names the replica in
// the ConfigMaps it writes (checkpoint.WriterAnnotation); fence, when set,
// is checked before each write (checkpoint.Options.Fence).
func NewStore(c corev1client.ConfigMapsGetter, namespace string, readOnly bool, writer string, fence func() error) (*checkpoint.Store, error) {
	return checkpoint.New(checkpoint.Options{Client: c, Namespace: namespace, Name: StoreName,
		Place: placement, ReadOnly: readOnly, Writer: writer, Fence: fence})
}

func histogramsKey(target string) string { return checkpoint.Key(target) }
func actuationsKey(target string) string { return checkpoint.Key(target) + actuationsSuffix }

// placement puts both records of a target in the target's ConfigMap.
func placement(key string) string {
	return CheckpointName(strings.TrimSuffix(key, actuationsSuffix))
}

// CheckpointName is the ConfigMap name for the records of key
// (checkpoint.Key of "Kind/name"): "ebb-vertical-<kind>-<name>" in lower
// case, or, when that is not a valid name of at most 253 characters, the
// prefix and a hash of key.
func CheckpointName(key string) string {
	n := checkpointPrefix + strings.ToLower(strings.Replace(key, ".", "-", 1))
	if len(n) <= 253 && validName(n) {
		return n
	}
	sum := sha256.Sum256([]byte(key))
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
