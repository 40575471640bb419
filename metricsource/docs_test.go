package metricsource

import (
	"os"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/config"
	"sigs.k8s.io/yaml"
)

const promDoc = "../docs/prometheus.md"

// TestDocTemplatesRender renders every query template of docs/prometheus.md.
func TestDocTemplatesRender(t *testing.T) {
	doc, err := os.ReadFile(promDoc)
	if err != nil {
		t.Fatal(err)
	}
	tmpls := regexp.MustCompile(`(?m)^ +[a-z_]+: >-\n +(.+)$`).FindAllSubmatch(doc, -1)
	if len(tmpls) != 3 {
		t.Fatalf("found %d query templates in %s, want 3 (Pods, Object, External)", len(tmpls), promDoc)
	}
	vars := QueryVars{Namespace: "prod", Target: "web", Kind: "Deployment", Pods: []string{"web-1"}, Selector: "app=web"}
	for _, m := range tmpls {
		if _, err := RenderQuery(string(m[1]), vars); err != nil {
			t.Errorf("doc template %s: %v", m[1], err)
		}
	}
}

// TestDocHTTPConfigDecodes decodes the httpConfig examples of
// docs/prometheus.md as the policy loader does.
func TestDocHTTPConfigDecodes(t *testing.T) {
	doc, err := os.ReadFile(promDoc)
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(?:prometheus:\n.*?)?  httpConfig:\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) != 2 {
		t.Fatalf("found %d httpConfig examples, want 2", len(blocks))
	}
	var got []config.HTTPClientConfig
	for _, b := range blocks {
		var m map[string]any
		if err := yaml.Unmarshal(dedent(b[1]), &m); err != nil {
			t.Fatalf("example %s: %v", b[1], err)
		}
		cfg, err := DecodeHTTPConfig(m)
		if err != nil {
			t.Fatalf("DecodeHTTPConfig(%v): %v", m, err)
		}
		got = append(got, cfg)
	}
	if d := cmp.Diff("/var/run/secrets/kubernetes.io/serviceaccount/token", got[0].Authorization.CredentialsFile); d != "" {
		t.Errorf("authorization.credentials_file (-want +got):\n%s", d)
	}
	if got[0].ProxyURL.URL == nil || got[0].ProxyURL.Host != "egress-proxy.infra.svc:3128" {
		t.Errorf("proxy_url = %v", got[0].ProxyURL)
	}
	if got[1].BasicAuth == nil || got[1].BasicAuth.PasswordFile != "/etc/ebb/prometheus-password" {
		t.Errorf("basic_auth = %+v", got[1].BasicAuth)
	}
}

// dedent removes the 4-space indent of httpConfig's children.
func dedent(b []byte) []byte {
	return regexp.MustCompile(`(?m)^    `).ReplaceAll(b, nil)
}
