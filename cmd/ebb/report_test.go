package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/scale"
	scalefake "k8s.io/client-go/scale/fake"
	clienttesting "k8s.io/client-go/testing"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"

	"github.com/ebb-autoscaler/ebb/autoscaler/checkpoint"
	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

const reportPolicy = `
targets:
  - scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
    mode: apply
    horizontal:
      minReplicas: 1
      maxReplicas: 10
      metrics:
        - type: Resource
          resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
`

// optsScales records the UpdateOptions the fake scale client drops.
type optsScales struct {
	scale.ScalesGetter
	opts *[]metav1.UpdateOptions
}

func (o optsScales) Scales(ns string) scale.ScaleInterface {
	return optsScale{o.ScalesGetter.Scales(ns), o.opts}
}

type optsScale struct {
	scale.ScaleInterface
	opts *[]metav1.UpdateOptions
}

func (o optsScale) Update(ctx context.Context, gr schema.GroupResource, sc *autoscalingv1.Scale, opts metav1.UpdateOptions) (*autoscalingv1.Scale, error) {
	*o.opts = append(*o.opts, opts)
	return o.ScaleInterface.Update(ctx, gr, sc, opts)
}

// mustStateStore is ebb report's read-only state store on c.
func mustStateStore(t *testing.T, c *clients) *checkpoint.Store {
	t.Helper()
	s, err := stateStore(c, "shop", true, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fakeClients is a namespace with Deployment/web (webDeployment): 2 ready
// pods at 200% of their CPU request.
func fakeClients(t *testing.T, patchOpts *[]metav1.UpdateOptions) *clients {
	t.Helper()
	started := metav1.NewTime(time.Now().Add(-time.Hour))
	var objs []runtime.Object
	ml := &metricsv1beta1.PodMetricsList{}
	for _, name := range []string{"web-0", "web-1"} {
		objs = append(objs, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: map[string]string{"app": "web"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &started,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: started}}},
		})
		ml.Items = append(ml.Items, metricsv1beta1.PodMetrics{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop"}, Timestamp: metav1.Now(),
			Window: metav1.Duration{Duration: 30 * time.Second},
			Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("200m"), corev1.ResourceMemory: resource.MustParse("10Mi")}}},
		})
	}
	mc := metricsfake.NewSimpleClientset()
	mc.PrependReactor("list", "pods", func(clienttesting.Action) (bool, runtime.Object, error) { return true, ml, nil })
	fs := &scalefake.FakeScaleClient{}
	fs.AddReactor("get", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
			Spec: autoscalingv1.ScaleSpec{Replicas: 2}, Status: autoscalingv1.ScaleStatus{Replicas: 2, Selector: "app=web"}}, nil
	})
	fs.AddReactor("update", "deployments", func(a clienttesting.Action) (bool, runtime.Object, error) {
		return true, a.(clienttesting.UpdateAction).GetObject(), nil
	})
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	objs = append(objs, webDeployment())
	return &clients{kube: fake.NewClientset(objs...), metrics: mc, scales: optsScales{fs, patchOpts}, mapper: mapper}
}

func TestReportPass(t *testing.T) {
	compiled, err := policy.Load([]byte(reportPolicy))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name         string
		serverDryRun bool
		want         []metav1.UpdateOptions
	}{
		// mode apply in the policy, but a report is all dry-run, and sends
		// nothing unless --server-dry-run.
		{name: "no patch", serverDryRun: false, want: nil},
		{name: "server dry-run", serverDryRun: true, want: []metav1.UpdateOptions{{FieldManager: "ebb", DryRun: []string{metav1.DryRunAll}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var patchOpts []metav1.UpdateOptions
			c := fakeClients(t, &patchOpts)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			rep, err := reportPass(t.Context(), c, "shop", compiled, log, time.Now(), tc.serverDryRun)
			if err != nil {
				t.Fatalf("reportPass() error = %v", err)
			}
			if b := rep.Targets[0].Blocking; len(b) != 0 {
				t.Errorf("report blocking conditions = %v, want none", b)
			}
			if d := rep.Targets[0].Desired; d == nil || *d != 4 {
				t.Errorf("report desired = %v, want 4", d)
			}
			if diff := cmp.Diff(tc.want, patchOpts); diff != "" {
				t.Errorf("scale update options (-want +got):\n%s", diff)
			}
			assertNoWrites(t, c)
		})
	}

	var patchOpts []metav1.UpdateOptions
	c := fakeClients(t, &patchOpts)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rep, err := reportPass(t.Context(), c, "shop", compiled, log, time.Now(), false)
	if err != nil {
		t.Fatalf("reportPass() error = %v", err)
	}
	if v := rep.Targets[0].Vertical; len(v) != 1 || v[0].Name != "app" {
		t.Errorf("report vertical rows = %+v, want one for container app", v)
	}
	if cms, err := c.kube.CoreV1().ConfigMaps("shop").List(t.Context(), metav1.ListOptions{}); err != nil || len(cms.Items) != 0 {
		t.Errorf("report wrote ConfigMaps %v (%v); it must write nothing", cms, err)
	}
	for _, f := range report.Formats() {
		t.Run(string(f), func(t *testing.T) {
			var b bytes.Buffer
			if err := report.Render(&b, f, rep); err != nil {
				t.Fatalf("Render(%s) error = %v", f, err)
			}
			if !strings.Contains(b.String(), "web") {
				t.Errorf("Render(%s) = %q, does not name the target", f, b.String())
			}
		})
	}
	var b bytes.Buffer
	if err := report.Render(&b, report.FormatJSON, rep); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Targets []struct {
			Current int32 `json:"currentReplicas"`
			Desired int32 `json:"desiredReplicas"`
		} `json:"targets"`
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Targets) != 1 || got.Targets[0].Current != 2 || got.Targets[0].Desired != 4 {
		t.Errorf("JSON report targets = %+v, want current 2, desired 4", got.Targets)
	}
}

// assertNoWrites fails when the report wrote to the API (besides the scale
// patches the caller checks): a report reads only.
func assertNoWrites(t *testing.T, c *clients) {
	t.Helper()
	for _, a := range c.kube.(*fake.Clientset).Actions() {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			t.Errorf("report sent %s %s, want reads only", a.GetVerb(), a.GetResource().Resource)
		}
	}
}

// TestReportShadowsHPAs: without a policy every HPA of the namespace is a
// target, its own decision beside ebb's; --policy with an HPA it does not
// cover reports both; --shadow-hpas=false leaves the HPA out.
func TestReportShadowsHPAs(t *testing.T) {
	util := int32(50)
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web-hpa", Namespace: "shop"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MaxReplicas:    10,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &util}}}},
		},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{DesiredReplicas: 4, CurrentReplicas: 2,
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "SucceededRescale"}}},
	}
	otherPolicy := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(otherPolicy, []byte(strings.ReplaceAll(reportPolicy, "name: web", "name: api")), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		o    reportOptions
		want []string // Kind/name HPA agreement
	}{
		{name: "no policy", o: reportOptions{shadowHPAs: true, controller: policy.Defaults{}},
			want: []string{"Deployment/web web-hpa agrees"}},
		{name: "policy beside", o: reportOptions{policy: otherPolicy, shadowHPAs: true},
			want: []string{"Deployment/api - ", "Deployment/web web-hpa agrees"}},
		{name: "policy only", o: reportOptions{policy: otherPolicy, shadowHPAs: false},
			want: []string{"Deployment/api - "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compiled, err := tc.o.compile()
			if err != nil {
				t.Fatal(err)
			}
			var patchOpts []metav1.UpdateOptions
			c := fakeClients(t, &patchOpts)
			if err := c.kube.(*fake.Clientset).Tracker().Add(hpa); err != nil {
				t.Fatal(err)
			}
			rep, err := reportPass(t.Context(), c, "shop", compiled, slog.New(slog.DiscardHandler), time.Now(), false)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, rt := range rep.Targets {
				name := "-"
				if rt.HPA != nil {
					name = rt.HPA.Name
				}
				got = append(got, fmt.Sprintf("%s %s %s", rt.Ref(), name, rt.Agreement()))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("report targets (-want +got):\n%s", diff)
			}
			if len(patchOpts) != 0 {
				t.Errorf("report patched %v, want nothing", patchOpts)
			}
			assertNoWrites(t, c)
		})
	}
}

func TestCommandFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{name: "report with nothing to report", args: []string{"report", "--shadow-hpas=false"}, want: "--shadow-hpas=false without --policy: nothing to report"},
		{name: "report controller flag with policy", args: []string{"report", "--policy", "p.yaml", "--tolerance", "0.2"}, want: "--tolerance: only without --policy"},
		{name: "report bad controller setting", args: []string{"report", "--tolerance", "-1", "--kubeconfig", "/nonexistent"}, want: "--tolerance -1: must be a number greater than or equal to 0"},
		{name: "report bad format", args: []string{"report", "-o", "yaml"}, want: `unknown report format "yaml"`},
		{name: "report bad log level", args: []string{"report", "--log-level", "loud"}, want: `--log-level "loud"`},
		{name: "run without policy", args: []string{"run", "--namespace", "x"}, want: "--policy: required"},
		{name: "run stray argument", args: []string{"run", "extra"}, want: "unexpected arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runEbb(tc.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit = %d, want 2 (stderr %q)", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tc.want)
			}
		})
	}
}

// TestServerDryRunRefused: with --server-dry-run, a change the API server
// refuses (a read-only identity: Forbidden on the scale's update) shows in
// the report as FailedRescale and fails the command, naming the target and
// the missing right; an accepted change, and no flag, do not.
func TestServerDryRunRefused(t *testing.T) {
	compiled, err := policy.Load([]byte(reportPolicy))
	if err != nil {
		t.Fatal(err)
	}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments/scale"}, "web",
		fmt.Errorf(`User "jane" cannot update resource "deployments/scale" in API group "apps" in the namespace "shop"`))
	for _, tc := range []struct {
		name         string
		serverDryRun bool
		refuse       error
		wantErr      []string // substrings; nil: no error
	}{
		{name: "refused", serverDryRun: true, refuse: forbidden,
			wantErr: []string{"--server-dry-run: the API server refused 1 change(s)", "needs update on the scale subresource", "Deployment/web: ", "forbidden"}},
		{name: "invalid", serverDryRun: true, refuse: apierrors.NewBadRequest("denied by webhook"),
			wantErr: []string{"refused 1 change(s): Deployment/web: ", "denied by webhook"}},
		{name: "accepted", serverDryRun: true},
		{name: "no flag, nothing sent", serverDryRun: false, refuse: forbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var patchOpts []metav1.UpdateOptions
			c := fakeClients(t, &patchOpts)
			if tc.refuse != nil {
				fs := c.scales.(optsScales).ScalesGetter.(*scalefake.FakeScaleClient)
				fs.PrependReactor("update", "deployments", func(clienttesting.Action) (bool, runtime.Object, error) { return true, nil, tc.refuse })
			}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			rep, err := reportPass(t.Context(), c, "shop", compiled, log, time.Now(), tc.serverDryRun)
			if err != nil {
				t.Fatalf("reportPass() error = %v", err)
			}
			var got error
			if tc.serverDryRun {
				got = refusedDryRun(rep)
			}
			if tc.wantErr == nil {
				if got != nil {
					t.Errorf("refusedDryRun() = %v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatalf("refusedDryRun() = nil, want an error; report blocking %v", rep.Targets[0].Blocking)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(got.Error(), want) {
					t.Errorf("refusedDryRun() = %q, want it to contain %q", got, want)
				}
			}
			if strings.Contains(got.Error(), "needs update") != (tc.refuse == forbidden) {
				t.Errorf("refusedDryRun() = %q: the hint about update rights belongs to a Forbidden only", got)
			}
		})
	}
}
