package metricsource

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRenderQuery(t *testing.T) {
	vars := QueryVars{Namespace: "prod", Target: "web", Kind: "Deployment",
		Pods: []string{"web-b.1", "web-a", "web-b.1"}, Selector: "app=web"}
	for _, tc := range []struct {
		name     string
		tmpl     string
		vars     QueryVars
		want     string
		wantErr  error
		wantText []string
	}{
		{name: "pods regex sorted, deduplicated, quoted for PromQL",
			tmpl: `sum by (pod) (rate(http_requests_total{namespace="{{.Namespace}}",pod=~"{{.PodRegex}}"}[2m]))`, vars: vars,
			want: `sum by (pod) (rate(http_requests_total{namespace="prod",pod=~"web-a|web-b\\.1"}[2m]))`},
		{name: "target, kind and selector",
			tmpl: `sum(queue_length{namespace="{{.Namespace}}",deployment="{{.Target}}",kind="{{.Kind}}",sel="{{.Selector}}"})`, vars: vars,
			want: `sum(queue_length{namespace="prod",deployment="web",kind="Deployment",sel="app=web"})`},
		{name: "quotes and backslashes are escaped",
			tmpl: `x{target="{{.Target}}"}`, vars: QueryVars{Target: `a"b\c`},
			want: `x{target="a\"b\\c"}`},
		{name: "no placeholders", tmpl: `sum(up)`, want: `sum(up)`},
		{name: "unknown field names the template", tmpl: `x{ns="{{.Nmespace}}"}`, vars: vars,
			wantText: []string{`x{ns=\"{{.Nmespace}}\"}`, "Nmespace"}},
		{name: "parse error names the template", tmpl: `x{ns="{{.Namespace"}`, vars: vars,
			wantText: []string{"parse query template", `{{.Namespace`}},
		{name: "pod regex without pods is no data", tmpl: `x{pod=~"{{.PodRegex}}"}`, vars: QueryVars{Namespace: "prod"},
			wantErr: ErrNoData, wantText: []string{"no pods"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RenderQuery(tc.tmpl, tc.vars)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("RenderQuery() (-want +got):\n%s", d)
			}
			if tc.want != "" {
				if err != nil {
					t.Fatalf("RenderQuery() error = %v", err)
				}
				return
			}
			checkErr(t, err, true, tc.wantErr, tc.wantText)
		})
	}
}

// TestPodRegexMatchesExactlyThePods checks PodRegex as Prometheus uses it:
// unescaped from the PromQL string and anchored.
func TestPodRegexMatchesExactlyThePods(t *testing.T) {
	pods := []string{"web-1", "web-1.x", "a+b"}
	esc, err := QueryVars{Pods: pods}.PodRegex()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("^(?:" + strings.ReplaceAll(esc, `\\`, `\`) + ")$")
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"web-1", true}, {"web-1.x", true}, {"a+b", true},
		{"web-1x", false}, {"web-10", false}, {"aab", false}, {"", false}, {"web-1|a+b", false},
	} {
		if got := re.MatchString(tc.name); got != tc.want {
			t.Errorf("regex %q matches %q = %v, want %v", re, tc.name, got, tc.want)
		}
	}
}

func FuzzRenderQuery(f *testing.F) {
	f.Add(`sum by (pod) (rate(x{namespace="{{.Namespace}}",pod=~"{{.PodRegex}}"}[2m]))`, "prod", "web", "web-1")
	f.Add(`{{.Target}}{{.Kind}}{{.Selector}}`, `a"b`, `\`, "")
	f.Add(`{{range .Pods}}{{.}}{{end}}`, "", "", "p")
	f.Add(`{{template "x"}}`, "", "", "")
	f.Add(`{{.Missing}}`, "", "", "")
	f.Add(`{{index .Pods 5}}`, "", "", "a")
	f.Fuzz(func(t *testing.T, tmpl, ns, target, pod string) {
		vars := QueryVars{Namespace: ns, Target: target, Kind: "Deployment", Pods: []string{pod}}
		got, err := RenderQuery(tmpl, vars)
		if err != nil {
			if got != "" {
				t.Errorf("RenderQuery() = %q with error %v, want empty", got, err)
			}
			return
		}
		if !strings.Contains(tmpl, "{{") && got != tmpl {
			t.Errorf("RenderQuery(%q) = %q, want the template unchanged", tmpl, got)
		}
	})
}

func TestPodValuesMissing(t *testing.T) {
	v := PodValues{"a": 0, "b": 2}
	if d := cmp.Diff([]string{"c", "d"}, v.Missing([]string{"c", "a", "d", "b"})); d != "" {
		t.Errorf("Missing() (-want +got):\n%s", d)
	}
	if got := v.Missing([]string{"a"}); got != nil {
		t.Errorf("Missing() = %v, want nil (a zero value is present)", got)
	}
}

// TestPodPattern: a PodPattern replaces the pods' names in PodRegex,
// escaped for the PromQL string, also without pods.
func TestPodPattern(t *testing.T) {
	got, err := RenderQuery(`x{pod=~"{{.PodRegex}}"}`, QueryVars{Pods: []string{"web-1"}, PodPattern: `web-[a-z0-9]{1,10}-[a-z0-9]{5}|a"b\.c`})
	if err != nil {
		t.Fatal(err)
	}
	if want := `x{pod=~"web-[a-z0-9]{1,10}-[a-z0-9]{5}|a\"b\\.c"}`; got != want {
		t.Errorf("RenderQuery() = %s, want %s", got, want)
	}
}
