package policy

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func readHPAs(t *testing.T, name string) []*autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "import", name))
	if err != nil {
		t.Fatal(err)
	}
	hpas, err := DecodeHPAs(data)
	if err != nil {
		t.Fatalf("DecodeHPAs(%s) error = %v", name, err)
	}
	return hpas
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (go test ./autoscaler/policy -run %s -update writes it): %v", t.Name(), err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

func TestDecodeHPAs(t *testing.T) {
	hpas := readHPAs(t, "hpas.yaml")
	type row struct {
		Name, Ref string
		Min       *int32
		Max       int32
		Metrics   int
	}
	var got []row
	for _, h := range hpas {
		got = append(got, row{Name: h.Name, Ref: h.Spec.ScaleTargetRef.Kind + "/" + h.Spec.ScaleTargetRef.Name,
			Min: h.Spec.MinReplicas, Max: h.Spec.MaxReplicas, Metrics: len(h.Spec.Metrics)})
	}
	two, one := int32(2), int32(1)
	want := []row{
		{Name: "web", Ref: "Deployment/web", Min: &two, Max: 10, Metrics: 1},
		{Name: "cache", Ref: "StatefulSet/cache", Max: 6, Metrics: 1},
		{Name: "legacy", Ref: "Deployment/legacy", Min: &one, Max: 4, Metrics: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded HPAs (-want +got):\n%s", diff)
	}
	legacy := hpas[2].Spec.Metrics[0]
	if legacy.Resource == nil || legacy.Resource.Name != "cpu" || *legacy.Resource.Target.AverageUtilization != 60 {
		t.Errorf("v1 targetCPUUtilizationPercentage 60 became %+v, want a Resource cpu metric at 60%%", legacy)
	}

	for _, tc := range []struct {
		name, doc, want string
	}{
		{"other kind", "apiVersion: v1\nkind: ConfigMap\n", `document 1: kind "ConfigMap": want HorizontalPodAutoscaler`},
		{"unknown apiVersion", "apiVersion: autoscaling/v9\nkind: HorizontalPodAutoscaler\n", `apiVersion "autoscaling/v9"`},
		{"unknown field", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec: {maxReplica: 3}\n", `unknown field "maxReplica"`},
		{"second document bad", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n---\nkind: Pod\n", `document 2: kind "Pod"`},
		{"bad list item", "kind: List\nitems: [{kind: Service}]\n", `document 1: items[0]: kind "Service"`},
		{"empty", "# nothing\n", "no HorizontalPodAutoscaler found"},
		{"not YAML", "a: [\n", "document 1: not valid YAML"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeHPAs([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeHPAs error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestImportGolden pins the policy text ebb import writes.
func TestImportGolden(t *testing.T) {
	for _, name := range []string{"hpas", "custom"} {
		t.Run(name, func(t *testing.T) {
			out, err := Import(readHPAs(t, name+".yaml"), "namespace shop")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", "import", name+".policy.yaml"), out)
		})
	}
}

// TestImportRoundTrip: the imported policy loads, and each of its targets
// compiles exactly as the shadow target of the same HPA (so `ebb report
// --policy imported.yaml` and `ebb report` without a policy decide alike).
func TestImportRoundTrip(t *testing.T) {
	hpas := readHPAs(t, "hpas.yaml")
	out, err := Import(hpas, "namespace shop")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Load(out)
	if err != nil {
		t.Fatalf("Load(imported policy) error:\n%v\npolicy:\n%s", err, out)
	}
	shadow, err := ShadowOnly(Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Targets) != len(hpas) {
		t.Fatalf("imported policy has %d targets, want %d", len(c.Targets), len(hpas))
	}
	for i, h := range hpas {
		want, err := shadow.CompileShadow(h)
		if err != nil {
			t.Fatalf("CompileShadow(%s) error = %v", h.Name, err)
		}
		if diff := cmp.Diff(want, c.Targets[i], cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("target %d (HPA %s): imported (+) differs from shadow (-):\n%s", i, h.Name, diff)
		}
		if c.Targets[i].Mode != ModeDryRun {
			t.Errorf("target %d mode %q, want dry-run", i, c.Targets[i].Mode)
		}
	}
	if got := c.Targets[1].Spec.Behavior.ScaleDown.StabilizationWindow; got != 10*time.Minute {
		t.Errorf("cache's behavior did not survive the import: scaleDown window %v, want 10m", got)
	}
}

// commentedStub matches the commented queries block of an imported target.
var commentedStub = regexp.MustCompile(`(?m)^    # (queries:|  [a-z_]+: '.*')$`)

// TestImportQueryStubs: Pods/Object/External metrics get PromQL stubs as
// comments; uncommented (with prometheus.url) they are valid queries of the
// right metrics.
func TestImportQueryStubs(t *testing.T) {
	out, err := Import(readHPAs(t, "custom.yaml"), "custom.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{
		`#   http_requests_per_second: 'sum by (pod) (http_requests_per_second{namespace="{{.Namespace}}",pod=~"{{.PodRegex}}"})'`,
		`#   requests_per_second: 'sum(requests_per_second{namespace="{{.Namespace}}",service="api"})'`,
		`#   queue_messages: 'sum(queue_messages{queue="api-jobs"})'`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("import output lacks %q:\n%s", want, text)
		}
	}
	filled := commentedStub.ReplaceAllString(text, "    $1")
	filled = strings.Replace(filled, "targets:\n", "prometheus: {url: http://prometheus.monitoring.svc:9090}\ntargets:\n", 1)
	c, err := Load([]byte(filled))
	if err != nil {
		t.Fatalf("Load(stubs uncommented) error:\n%v\npolicy:\n%s", err, filled)
	}
	var names []string
	for name := range c.Targets[0].Queries {
		names = append(names, name)
	}
	if diff := cmp.Diff([]string{"http_requests_per_second", "queue_messages", "requests_per_second"}, names, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("queries after uncommenting (-want +got):\n%s", diff)
	}
}

func TestImportNothing(t *testing.T) {
	if _, err := Import(nil, "namespace shop"); err == nil || !strings.Contains(err.Error(), "no HorizontalPodAutoscalers") {
		t.Errorf("Import(nil) error = %v, want one saying there is nothing to import", err)
	}
}

func TestCompileShadow(t *testing.T) {
	tol := 0.2
	c, err := ShadowOnly(Defaults{Tolerance: &tol, DownscaleStabilization: &Duration{2 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if !c.ShadowHPAs || len(c.Targets) != 0 || c.SyncPeriod != DefaultSyncPeriod {
		t.Errorf("ShadowOnly = %+v, want no targets, shadowHPAs, the default sync period", c)
	}
	hpas := readHPAs(t, "hpas.yaml")
	ct, err := c.CompileShadow(hpas[0])
	if err != nil {
		t.Fatal(err)
	}
	if ct.Options.Tolerance != 0.2 || ct.Spec.Behavior != nil || ct.Options.DownscaleStabilization != 2*time.Minute {
		t.Errorf("shadow of web: tolerance %v, downscale stabilization %v; want the controller settings 0.2 and 2m",
			ct.Options.Tolerance, ct.Options.DownscaleStabilization)
	}
	if ct.Mode != ModeDryRun || ct.Key() != "Deployment/web" || ct.Spec.MinReplicas != 2 || ct.Spec.MaxReplicas != 10 {
		t.Errorf("shadow of web = %s mode %s range [%d, %d], want Deployment/web dry-run [2, 10]",
			ct.Key(), ct.Mode, ct.Spec.MinReplicas, ct.Spec.MaxReplicas)
	}

	bad := hpas[0].DeepCopy()
	bad.Name, bad.Spec.MaxReplicas = "broken", 0
	bad.Spec.ScaleTargetRef.Kind = ""
	_, err = c.CompileShadow(bad)
	want := []string{
		"HorizontalPodAutoscaler broken: spec.scaleTargetRef.kind: must be set",
		"HorizontalPodAutoscaler broken: spec.maxReplicas: must be set and greater than 0",
	}
	if diff := cmp.Diff(want, problemStrings(err)); diff != "" {
		t.Errorf("CompileShadow(broken) problems (-want +got):\n%s", diff)
	}

	if _, err := ShadowOnly(Defaults{Tolerance: new(-1.0)}); err == nil || !strings.Contains(err.Error(), "defaults.tolerance: invalid value -1") {
		t.Errorf("ShadowOnly(tolerance -1) error = %v, want it named", err)
	}
}

func TestCovers(t *testing.T) {
	c, err := Load([]byte(`
targets:
- scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  horizontal: {maxReplicas: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[autoscalingv2.CrossVersionObjectReference]bool{
		{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}:        true,
		{APIVersion: "apps/v1beta2", Kind: "Deployment", Name: "web"}:   true, // same group
		{APIVersion: "apps/v1", Kind: "Deployment", Name: "api"}:        false,
		{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web"}:       false,
		{APIVersion: "example.com/v1", Kind: "Deployment", Name: "web"}: false,
	} {
		if got := c.Covers(ref); got != want {
			t.Errorf("Covers(%v) = %t, want %t", ref, got, want)
		}
	}
}

// TestShadowHPAsPolicy: a policy with shadowHPAs needs no targets.
func TestShadowHPAsPolicy(t *testing.T) {
	c, err := Load([]byte("shadowHPAs: true\ntargets: []\n"))
	if err != nil {
		t.Fatalf("Load error = %v", err)
	}
	if !c.ShadowHPAs {
		t.Error("ShadowHPAs = false, want true")
	}
	h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "x"}}
	if _, err := c.CompileShadow(h); err == nil {
		t.Error("CompileShadow(empty spec) = nil error, want the spec's problems")
	}
}
