package autoscaler

import (
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

// discoveryMapper is a ResettableRESTMapper whose Reset "rediscovers": the
// kind Widget is known after the first Reset once installed is set.
type discoveryMapper struct {
	meta.RESTMapper
	mu        sync.Mutex
	resets    int
	installed bool
}

func (m *discoveryMapper) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resets++
	if m.installed {
		dm := testMapper().(*meta.DefaultRESTMapper)
		dm.Add(schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}, meta.RESTScopeNamespace)
		m.RESTMapper = dm
	}
}

// TestUnknownKindResetsDiscoveryAtMostOncePerMinute: a target whose kind
// the mapper does not know fails every pass, but the discovery cache is
// reset at most once a minute (not in every pass), and a CRD installed
// meanwhile is found at the next reset.
func TestUnknownKindResetsDiscoveryAtMostOncePerMinute(t *testing.T) {
	c := newCluster(t)
	widget := cpuTarget("gadget", policy.ModeApply, nil)
	widget.Ref = autoscalingv2.CrossVersionObjectReference{APIVersion: "example.com/v1", Kind: "Widget", Name: "gadget"}
	l, _ := c.newLoop(t, loopConfig{targets: []Target{widget}})
	m := &discoveryMapper{RESTMapper: testMapper()}
	l.o.Mapper = m
	start := time.Now()
	var messages []string
	for i := range 14 { // a pass every 15s for 3m15s
		if i == 9 {
			m.mu.Lock()
			m.installed = true // the CRD is installed at +2m15s
			m.mu.Unlock()
		}
		rep, err := l.Pass(t.Context(), start.Add(time.Duration(i)*15*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		messages = append(messages, rep.Targets[0].Message)
	}
	if m.resets != 4 {
		t.Errorf("%d discovery resets in 14 passes, want 4 (+0, +1m, +2m, +3m)", m.resets)
	}
	if !strings.Contains(messages[8], "resolve Widget.example.com") {
		t.Errorf("pass 8 message %q, want the unknown kind", messages[8])
	}
	if last := messages[len(messages)-1]; strings.Contains(last, "resolve") {
		t.Errorf("after the CRD was installed and the next reset, still %q", last)
	}
}
