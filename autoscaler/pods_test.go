package autoscaler

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestPodIndexMatchesLikeSelector(t *testing.T) {
	mk := func(name string, l map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
	}
	pods := []*corev1.Pod{
		mk("web-1", map[string]string{"app": "web", "tier": "front"}),
		mk("web-2", map[string]string{"app": "web", "tier": "canary"}),
		mk("api-1", map[string]string{"app": "api", "tier": "front"}),
		mk("bare", nil),
	}
	ix := newPodIndex(pods)
	for _, tc := range []struct {
		sel  string
		want []string
	}{
		{sel: "app=web", want: []string{"web-1", "web-2"}},
		{sel: "app==web,tier=front", want: []string{"web-1"}},
		{sel: "app in (web),tier!=canary", want: []string{"web-1"}},
		{sel: "app in (web,api)", want: []string{"web-1", "web-2", "api-1"}},
		{sel: "tier notin (canary)", want: []string{"web-1", "api-1", "bare"}},
		{sel: "app", want: []string{"web-1", "web-2", "api-1"}},
		{sel: "!app", want: []string{"bare"}},
		{sel: "app=none", want: nil},
	} {
		t.Run(tc.sel, func(t *testing.T) {
			sel, err := labels.Parse(tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ix.matching(sel) {
				got = append(got, p.Name)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("matching(%q) (-want +got):\n%s", tc.sel, diff)
			}
		})
	}
}
