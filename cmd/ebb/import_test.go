package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
	"github.com/ebb-autoscaler/ebb/metricsource"
)

const importTestdata = "../../autoscaler/policy/testdata/import"

// TestImportFiles: ebb import -f writes policy.Import's text of the HPAs of
// every file in order, - reads standard input, and the result validates.
func TestImportFiles(t *testing.T) {
	hpas := filepath.Join(importTestdata, "hpas.yaml")
	stdin, err := os.ReadFile(hpas)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	streams := genericiooptions.IOStreams{In: bytes.NewReader(stdin), Out: &stdout, ErrOut: &stderr}
	if code := execute("ebb", []string{"import", "-f", "-"}, streams); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	want, err := os.ReadFile(filepath.Join(importTestdata, "hpas.policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strings.Replace(string(want), "namespace shop", "-", 1), stdout.String()); diff != "" {
		t.Errorf("ebb import -f - (-want +got):\n%s", diff)
	}

	out := filepath.Join(t.TempDir(), "policy.yaml")
	stdout.Reset()
	if code := runEbb([]string{"import", "-f", hpas, "--filename", filepath.Join(importTestdata, "custom.yaml")}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if err := os.WriteFile(out, stdout.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := policy.Load(stdout.Bytes())
	if err != nil {
		t.Fatalf("imported policy does not load without edits: %v", err)
	}
	// Pods/Object/External metrics have no queries: they are read from the
	// metrics APIs, as the HPA reads them.
	apis := 0
	for _, tg := range c.Targets {
		for _, src := range tg.Sources {
			switch src.Source {
			case metricsource.SourceCustomMetrics, metricsource.SourceExternalMetrics:
				apis++
			case metricsource.SourcePrometheus:
				t.Errorf("%s: %s read from Prometheus, want the metrics APIs", tg.Key(), src)
			}
		}
	}
	if apis == 0 {
		t.Error("no imported metric is read from the metrics APIs (custom.yaml has Pods/Object/External metrics)")
	}
	if len(c.Targets) != 4 {
		t.Errorf("imported %d targets, want 4", len(c.Targets))
	}
}

func TestImportErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "cm.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: v1\nkind: ConfigMap\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"import", "-f", "/nonexistent/h.yaml"}, "ebb import: read /nonexistent/h.yaml: open /nonexistent/h.yaml"},
		{"not an HPA", []string{"import", "-f", bad}, `cm.yaml: document 1: kind "ConfigMap": want HorizontalPodAutoscaler`},
		{"selector with files", []string{"import", "-f", bad, "-l", "app=web"}, "cannot be used with -f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runEbb(tc.args, &stdout, &stderr); code != exitUsage {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tc.want) || stdout.Len() > 0 {
				t.Errorf("stderr = %q (stdout %d bytes), want it to contain %q and no output", stderr.String(), stdout.Len(), tc.want)
			}
		})
	}
}

func TestListHPAs(t *testing.T) {
	hpa := func(name string, labels map[string]string) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", Labels: labels}}
	}
	kube := fake.NewClientset(hpa("web", map[string]string{"team": "a"}), hpa("api", map[string]string{"team": "b"}),
		hpa("cache", map[string]string{"team": "a"}), &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "blog"}})
	for selector, want := range map[string][]string{"": {"api", "cache", "web"}, "team=a": {"cache", "web"}} {
		got, err := listHPAs(t.Context(), kube, "shop", selector)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, h := range got {
			names = append(names, h.Name)
		}
		if diff := cmp.Diff(want, names); diff != "" {
			t.Errorf("listHPAs(shop, %q) (-want +got):\n%s", selector, diff)
		}
	}
}
