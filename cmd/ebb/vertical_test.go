package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	"github.com/ebb-autoscaler/ebb/autoscaler"
	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

// verticalPolicy is reportPolicy's target with a horizontal mode and a
// vertical section.
func verticalPolicy(mode, vertical string) string {
	return fmt.Sprintf(`
targets:
  - scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
    mode: %s
    horizontal:
      minReplicas: 1
      maxReplicas: 10
      metrics:
        - type: Resource
          resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
    vertical: %s
`, mode, vertical)
}

// verticalPatch is one pod or Deployment patch the vertical side sent.
type verticalPatch struct {
	Resource, Subresource string
	DryRun                []string
	// Memory is the memory request the patch sets on container "app".
	Memory string
}

// recordVerticalPatches makes pod and Deployment patches return the object
// unchanged (so each is due again, as under dry-run) and records them.
func recordVerticalPatches(t *testing.T, c *clients) *[]verticalPatch {
	t.Helper()
	var seen []verticalPatch
	c.kube.(*fake.Clientset).PrependReactor("patch", "*", func(a clienttesting.Action) (bool, runtime.Object, error) {
		p := a.(clienttesting.PatchActionImpl)
		var body struct {
			Spec struct {
				Containers []containerReq `json:"containers"`
				Template   struct {
					Spec struct {
						Containers []containerReq `json:"containers"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(p.Patch, &body); err != nil {
			t.Errorf("patch body %s: %v", p.Patch, err)
		}
		cs := append(body.Spec.Containers, body.Spec.Template.Spec.Containers...)
		vp := verticalPatch{Resource: p.Resource.Resource, Subresource: p.Subresource, DryRun: p.PatchOptions.DryRun}
		if len(cs) == 1 && cs[0].Name == "app" {
			vp.Memory = cs[0].Resources.Requests["memory"]
		}
		seen = append(seen, vp)
		return true, nil, nil
	})
	return &seen
}

type containerReq struct {
	Name      string `json:"name"`
	Resources struct {
		Requests map[string]string `json:"requests"`
	} `json:"resources"`
}

func webDeployment() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: 1, ResourceVersion: "1"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(2)), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "app", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2},
	}
}

func conflictingHPA() *autoscalingv2.HorizontalPodAutoscaler {
	return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 3,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}}}
}

// TestVerticalModes runs ebb run's loop (policy, loop, vertical Runner,
// fake API) for a few passes per vertical mode and checks what was patched.
func TestVerticalModes(t *testing.T) {
	dry := []string{metav1.DryRunAll}
	for _, tc := range []struct {
		name     string
		mode     string // horizontal
		vertical string
		hpa      bool
		readOnly bool
		passes   []time.Duration
		want     []verticalPatch
		wantRows int
	}{
		{name: "no section: recommend never patches", mode: "apply", vertical: "{}",
			passes: []time.Duration{0, time.Hour}, wantRows: 1},
		{name: "recommend never patches", mode: "apply", vertical: "{mode: recommend}",
			passes: []time.Duration{0, time.Hour}, wantRows: 1},
		{name: "off: nothing", mode: "apply", vertical: `{mode: "off"}`, passes: []time.Duration{0}},
		{name: "rollout on a dry-run target patches with DryRun=All", mode: "dry-run", vertical: "{mode: rollout}",
			passes: []time.Duration{0}, wantRows: 1, want: []verticalPatch{{Resource: "deployments", DryRun: dry}}},
		{name: "rollout with a conflicting HPA patches with DryRun=All", mode: "apply", vertical: "{mode: rollout}", hpa: true,
			passes: []time.Duration{0}, wantRows: 1, want: []verticalPatch{{Resource: "deployments", DryRun: dry}}},
		{name: "rollout on an apply target: once per period", mode: "apply", vertical: "{mode: rollout, rollout: {period: 1h}}",
			passes: []time.Duration{0, time.Minute, 30 * time.Minute, time.Hour}, wantRows: 1,
			want: []verticalPatch{{Resource: "deployments"}, {Resource: "deployments"}}},
		{name: "in-place patches the resize subresource", mode: "apply", vertical: "{mode: in-place}",
			passes: []time.Duration{0}, wantRows: 1, want: []verticalPatch{{Resource: "pods", Subresource: "resize"}}},
		{name: "read-only: rollout sends nothing, not even a dry-run", mode: "apply", vertical: "{mode: rollout}", readOnly: true,
			passes: []time.Duration{0, time.Hour}, wantRows: 1},
		{name: "read-only: in-place sends nothing, not even a dry-run", mode: "apply", vertical: "{mode: in-place}", readOnly: true,
			passes: []time.Duration{0, time.Hour}, wantRows: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compiled, err := policy.Load([]byte(verticalPolicy(tc.mode, tc.vertical)))
			if err != nil {
				t.Fatal(err)
			}
			var scaleOpts []metav1.UpdateOptions
			c := fakeClients(t, &scaleOpts)
			var objs []runtime.Object // webDeployment is in fakeClients
			if tc.hpa {
				objs = append(objs, conflictingHPA())
			}
			for _, o := range objs {
				if err := c.kube.(*fake.Clientset).Tracker().Add(o); err != nil {
					t.Fatal(err)
				}
			}
			seen := recordVerticalPatches(t, c)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			loop, err := newLoop(t.Context(), loopParts{c: c, namespace: "shop", compiled: compiled, log: log, readOnly: tc.readOnly,
				holder: autoscaler.NewPolicyHolder("shop", compiled, nil), reg: prometheus.NewRegistry(),
				recorder: &record.FakeRecorder{}, state: mustStateStore(t, c)})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			var rep report.Report
			for _, after := range tc.passes {
				if rep, err = loop.Pass(t.Context(), start.Add(after)); err != nil {
					t.Fatalf("pass at +%s: %v", after, err)
				}
			}
			rows := rep.Targets[0].Vertical
			if len(rows) != tc.wantRows {
				t.Fatalf("vertical rows = %+v, want %d", rows, tc.wantRows)
			}
			if len(tc.want) > 0 {
				// Every patch sets the recommended memory target.
				mem := resource.NewQuantity(*rows[0].Target.MemoryBytes, resource.BinarySI).String()
				for i := range tc.want {
					tc.want[i].Memory = mem
				}
			}
			if d := cmp.Diff(tc.want, *seen); d != "" {
				t.Errorf("vertical patches (-want +got):\n%s", d)
			}
			if tc.readOnly && len(scaleOpts) != 0 {
				t.Errorf("read-only sent scale patches %+v, want none", scaleOpts)
			}
		})
	}
}

// TestReportNeverActuatesVertically: ebb report shows the vertical rows of a
// rollout/in-place target but sends no pod or Deployment patch, not even a
// dry-run one.
func TestReportNeverActuatesVertically(t *testing.T) {
	for _, v := range []string{"{mode: rollout}", "{mode: in-place}"} {
		t.Run(v, func(t *testing.T) {
			compiled, err := policy.Load([]byte(verticalPolicy("apply", v)))
			if err != nil {
				t.Fatal(err)
			}
			var scaleOpts []metav1.UpdateOptions
			c := fakeClients(t, &scaleOpts)
			seen := recordVerticalPatches(t, c)
			rep, err := reportPass(t.Context(), c, "shop", compiled, slog.New(slog.DiscardHandler), time.Now(), true)
			if err != nil {
				t.Fatal(err)
			}
			if rows := rep.Targets[0].Vertical; len(rows) != 1 || rows[0].Target.MemoryBytes == nil {
				t.Errorf("report vertical rows = %+v, want one with a memory target", rows)
			}
			if len(*seen) != 0 {
				t.Errorf("report sent vertical patches %+v, want none", *seen)
			}
		})
	}
}

// TestRunRegistersVerticalMetrics: ebb run's loop registers the six
// ebb_vertical_* gauges on the registry it serves (a probe gauge of the
// same name is refused only when the name is taken).
func TestRunRegistersVerticalMetrics(t *testing.T) {
	compiled, err := policy.Load([]byte(verticalPolicy("apply", "{}")))
	if err != nil {
		t.Fatal(err)
	}
	var scaleOpts []metav1.UpdateOptions
	c := fakeClients(t, &scaleOpts)
	reg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	if _, err := newLoop(t.Context(), loopParts{c: c, namespace: "shop", compiled: compiled, log: log,
		holder: autoscaler.NewPolicyHolder("shop", compiled, nil), reg: reg, recorder: &record.FakeRecorder{},
		state: mustStateStore(t, c)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ebb_vertical_recommendation_cpu_cores", "ebb_vertical_recommendation_memory_bytes",
		"ebb_vertical_request_cpu_cores", "ebb_vertical_request_memory_bytes",
		"ebb_vertical_usage_cpu_cores", "ebb_vertical_usage_memory_bytes"} {
		if err := reg.Register(prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "probe"})); err == nil {
			t.Errorf("%s is not registered on ebb run's registry", name)
		}
	}
}

// TestVerticalBootstrapsFromPrometheus: with a Prometheus in the policy, the
// first pass seeds the vertical histograms from the cAdvisor history with one
// range query per resource, and the samples it returns reach the report.
func TestVerticalBootstrapsFromPrometheus(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse form: %v", err)
		}
		mu.Lock()
		queries = append(queries, r.URL.Path+" "+r.Form.Get("query"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/api/v1/query_range" {
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
			return
		}
		end, _ := strconv.ParseFloat(r.Form.Get("end"), 64)
		value := "0.25" // cores
		if strings.Contains(r.Form.Get("query"), "memory") {
			value = "300000000"
		}
		var points []string
		for i := 0; i < 24; i++ {
			points = append(points, fmt.Sprintf(`[%f,"%s"]`, end-float64(i*3600), value))
		}
		slices.Reverse(points)
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"pod":"web-1","container":"app"},"values":[%s]}]}}`,
			strings.Join(points, ","))
	}))
	defer srv.Close()
	compiled, err := policy.Load([]byte("prometheus: {url: " + srv.URL + "}\n" + verticalPolicy("dry-run", "{}")))
	if err != nil {
		t.Fatal(err)
	}
	var scaleOpts []metav1.UpdateOptions
	c := fakeClients(t, &scaleOpts)
	rep, err := reportPass(t.Context(), c, "shop", compiled, slog.New(slog.DiscardHandler), time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var cpu, mem bool
	for _, q := range queries {
		cpu = cpu || strings.HasPrefix(q, "/api/v1/query_range ") && strings.Contains(q, "container_cpu_usage_seconds_total")
		mem = mem || strings.HasPrefix(q, "/api/v1/query_range ") && strings.Contains(q, "container_memory_working_set_bytes")
	}
	if !cpu || !mem {
		t.Fatalf("range queries = %q, want one for container_cpu_usage_seconds_total and one for container_memory_working_set_bytes", queries)
	}
	rows := rep.Targets[0].Vertical
	if len(rows) != 1 || rows[0].Target.MemoryBytes == nil || *rows[0].Target.MemoryBytes < 300000000 {
		t.Fatalf("report vertical rows = %+v, want a memory target of at least the 300MB bootstrapped history", rows)
	}
}
