package cluster

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

func TestPrometheusConfig(t *testing.T) {
	sd := t.TempDir()
	cfg := prometheusConfig(sd, Ports{Kwok: 1111, MetricsServer: 2222}, []string{"kwok-node-0", "kwok-node-1"}, "tok")
	var got struct {
		ScrapeConfigs []struct {
			JobName     string `json:"job_name"`
			HonorLabels bool   `json:"honor_labels"`
			Relabel     []struct {
				SourceLabels []string `json:"source_labels"`
				Regex        string   `json:"regex"`
				TargetLabel  string   `json:"target_label"`
				Replacement  string   `json:"replacement"`
			} `json:"metric_relabel_configs"`
			FileSD []struct {
				Files []string `json:"files"`
			} `json:"file_sd_configs"`
			Static []struct {
				Targets []string          `json:"targets"`
				Labels  map[string]string `json:"labels"`
			} `json:"static_configs"`
		} `json:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(cfg), &got); err != nil {
		t.Fatalf("prometheus.yml does not parse: %v\n%s", err, cfg)
	}
	jobs := map[string]int{}
	for i, j := range got.ScrapeConfigs {
		jobs[j.JobName] = i
	}
	if d := cmp.Diff(map[string]int{"loadapp": 0, "ebb": 1, "kwok": 2, "metrics-server": 3}, jobs); d != "" {
		t.Fatalf("jobs (-want +got):\n%s", d)
	}
	if la := got.ScrapeConfigs[0]; !la.HonorLabels || la.FileSD[0].Files[0] != filepath.Join(sd, "loadapp-*.json") {
		t.Errorf("loadapp job = %+v, want honor_labels and file_sd %s", la, filepath.Join(sd, "loadapp-*.json"))
	}
	if rl := got.ScrapeConfigs[0].Relabel; len(rl) != 1 || rl[0].TargetLabel != "service" || rl[0].Replacement != "$1" {
		t.Errorf("loadapp metric_relabel_configs = %+v, want service from the Deployment pod name", rl)
	} else if re := regexp.MustCompile("^(?:" + rl[0].Regex + ")$"); re.ReplaceAllString("web-7d4b9c8f6-x2k9p", "$1") != "web" ||
		re.ReplaceAllString("my-app-5f6d7-abcde", "$1") != "my-app" || re.MatchString("db-0") {
		t.Errorf("regex %q: want web from web-7d4b9c8f6-x2k9p, my-app from my-app-5f6d7-abcde, no match for db-0", rl[0].Regex)
	}
	if eb := got.ScrapeConfigs[1]; eb.HonorLabels || eb.FileSD[0].Files[0] != filepath.Join(sd, "ebb-*.json") {
		t.Errorf("ebb job = %+v, want no honor_labels and file_sd %s", eb, filepath.Join(sd, "ebb-*.json"))
	}
	kwok := got.ScrapeConfigs[2].Static
	if len(kwok) != 2 || kwok[1].Labels["__metrics_path__"] != "/metrics/nodes/kwok-node-1/metrics/resource" || kwok[1].Targets[0] != "127.0.0.1:1111" {
		t.Errorf("kwok static configs = %+v, want one per node with its metrics path", kwok)
	}
}

// TestScrapeTargets: registrations of one job live in their own files
// (parallel tests add and remove theirs without touching the others'), each
// file matches the job's file_sd glob, and bad ids or jobs are refused
// before anything is written.
func TestScrapeTargets(t *testing.T) {
	sd := t.TempDir()
	read := func(t *testing.T, name string) []sdGroup {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(sd, name))
		if err != nil {
			t.Fatal(err)
		}
		var got []sdGroup
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if err := writeScrapeTarget(sd, JobEbb, "TestA", "127.0.0.1:1", map[string]string{"test": "TestA"}); err != nil {
		t.Fatal(err)
	}
	if err := writeScrapeTarget(sd, JobEbb, "TestB", "127.0.0.1:2", nil); err != nil {
		t.Fatal(err)
	}
	t.Run("each registration is one group in its own file", func(t *testing.T) {
		if d := cmp.Diff([]sdGroup{{Targets: []string{"127.0.0.1:1"}, Labels: map[string]string{"test": "TestA"}}}, read(t, "ebb-TestA.json")); d != "" {
			t.Errorf("ebb-TestA.json (-want +got):\n%s", d)
		}
		if d := cmp.Diff([]sdGroup{{Targets: []string{"127.0.0.1:2"}, Labels: map[string]string{}}}, read(t, "ebb-TestB.json")); d != "" {
			t.Errorf("ebb-TestB.json (-want +got):\n%s", d)
		}
	})
	t.Run("files match the job's glob, temporary files do not", func(t *testing.T) {
		got, err := filepath.Glob(filepath.Join(sd, "ebb-*.json"))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{filepath.Join(sd, "ebb-TestA.json"), filepath.Join(sd, "ebb-TestB.json")}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("glob (-want +got):\n%s", d)
		}
	})
	t.Run("remove deletes one registration only, twice is fine", func(t *testing.T) {
		for range 2 {
			if err := removeScrapeTarget(sd, JobEbb, "TestA"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := os.Stat(filepath.Join(sd, "ebb-TestA.json")); !os.IsNotExist(err) {
			t.Errorf("ebb-TestA.json after remove: %v, want not exist", err)
		}
		if len(read(t, "ebb-TestB.json")) != 1 {
			t.Error("ebb-TestB.json changed")
		}
	})
	for _, tc := range []struct{ name, job, id string }{
		{"unknown job", "kwok", "x"},
		{"id with a slash", JobEbb, "TestA/sub"},
		{"empty id", JobEbb, ""},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			if err := writeScrapeTarget(sd, tc.job, tc.id, "127.0.0.1:3", nil); err == nil {
				t.Errorf("writeScrapeTarget(%q, %q) = nil, want an error", tc.job, tc.id)
			}
		})
	}
}

type sdGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}
