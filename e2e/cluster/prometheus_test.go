package cluster

import (
	"encoding/json"
	"os"
	"path/filepath"
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
			FileSD      []struct {
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
	if la := got.ScrapeConfigs[0]; !la.HonorLabels || la.FileSD[0].Files[0] != filepath.Join(sd, "loadapp.json") {
		t.Errorf("loadapp job = %+v, want honor_labels and file_sd %s", la, filepath.Join(sd, "loadapp.json"))
	}
	kwok := got.ScrapeConfigs[2].Static
	if len(kwok) != 2 || kwok[1].Labels["__metrics_path__"] != "/metrics/nodes/kwok-node-1/metrics/resource" || kwok[1].Targets[0] != "127.0.0.1:1111" {
		t.Errorf("kwok static configs = %+v, want one per node with its metrics path", kwok)
	}
}

func TestWriteScrapeTargets(t *testing.T) {
	sd := t.TempDir()
	for _, tc := range []struct {
		name    string
		targets []string
		want    []string
	}{
		{name: "targets", targets: []string{"127.0.0.1:1", "127.0.0.1:2"}, want: []string{"127.0.0.1:1", "127.0.0.1:2"}},
		{name: "none is an empty list, not null", targets: nil, want: []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := writeScrapeTargets(sd, "ebb", tc.targets); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(sd, "ebb.json"))
			if err != nil {
				t.Fatal(err)
			}
			var got []struct {
				Targets []string `json:"targets"`
			}
			if err := json.Unmarshal(data, &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("file_sd groups = %d, want 1", len(got))
			}
			if d := cmp.Diff(tc.want, got[0].Targets); d != "" {
				t.Errorf("targets (-want +got):\n%s", d)
			}
		})
	}
}
