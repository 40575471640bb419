package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// Import writes the policy file of `ebb import`: one target per HPA, in
// the order given, each with mode dry-run and the HPA's spec pasted
// unchanged as horizontal. A Pods, Object or External metric gets a PromQL
// template stub as a YAML comment: without a queries entry ebb reads the
// metric from the metrics API the HPA reads (custom.metrics.k8s.io,
// external.metrics.k8s.io); to read it from Prometheus instead, uncomment
// the stub, write the query and set prometheus.url. source says where the
// HPAs came from, for the header comment.
func Import(hpas []*autoscalingv2.HorizontalPodAutoscaler, source string) ([]byte, error) {
	if len(hpas) == 0 {
		return nil, errors.New("no HorizontalPodAutoscalers to import")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `# ebb policy imported from %s (ebb import).
# Every target is in dry-run: ebb computes and reports beside the HPA and
# changes nothing. Check it with "ebb validate -f FILE" and compare with
# "ebb report --policy FILE"; set mode: apply on a target only after deleting
# its HPA (ebb never acts on a workload an HPA also scales).
`, source)
	stubs := false
	for _, h := range hpas {
		stubs = stubs || len(queryStubs(h.Spec)) > 0
	}
	if stubs {
		b.WriteString(`# Targets with Pods/Object/External metrics have PromQL stubs below; used
# only if uncommented, with prometheus.url set here:
# prometheus:
#   url: http://prometheus.monitoring.svc:9090
`)
	}
	b.WriteString("targets:\n")
	for _, h := range hpas {
		t := TargetFromHPA(h)
		body, err := orderedYAML(t)
		if err != nil {
			return nil, fmt.Errorf("HorizontalPodAutoscaler %s: %w", h.Name, err)
		}
		fmt.Fprintf(&b, "  # HorizontalPodAutoscaler %s\n", h.Name)
		b.WriteString(indent(body, "  - ", "    "))
		if s := queryStubs(h.Spec); len(s) > 0 {
			b.WriteString(`    # Read from the metrics APIs as the HPA reads them; or from Prometheus
    # with these queries (uncomment and fill in; docs/prometheus.md):
    # queries:
`)
			for _, q := range s {
				fmt.Fprintf(&b, "    #   %s: %s\n", q.name, yamlQuote(q.query))
			}
		}
	}
	return b.Bytes(), nil
}

// queryStub is the commented PromQL template of one metric.
type queryStub struct{ name, query string }

// queryStubs returns a template per Pods/Object/External metric name of
// spec, in the spec's order: the metric's series by the labels the HPA's
// request would select on, to be completed by hand (a rate() of a counter,
// an aggregation).
func queryStubs(spec autoscalingv2.HorizontalPodAutoscalerSpec) []queryStub {
	var out []queryStub
	seen := map[string]bool{}
	add := func(id autoscalingv2.MetricIdentifier, matchers []string, agg string) {
		if id.Name == "" || seen[id.Name] {
			return
		}
		seen[id.Name] = true
		matchers = append(matchers, selectorMatchers(id.Selector)...)
		out = append(out, queryStub{name: id.Name, query: fmt.Sprintf("%s(%s{%s})", agg, id.Name, strings.Join(matchers, ","))})
	}
	for _, m := range spec.Metrics {
		switch {
		case m.Type == autoscalingv2.PodsMetricSourceType && m.Pods != nil:
			add(m.Pods.Metric, []string{`namespace="{{.Namespace}}"`, `pod=~"{{.PodRegex}}"`}, "sum by (pod) ")
		case m.Type == autoscalingv2.ObjectMetricSourceType && m.Object != nil:
			o := m.Object.DescribedObject
			add(m.Object.Metric, []string{`namespace="{{.Namespace}}"`, fmt.Sprintf("%s=%q", strings.ToLower(o.Kind), o.Name)}, "sum")
		case m.Type == autoscalingv2.ExternalMetricSourceType && m.External != nil:
			add(m.External.Metric, nil, "sum")
		}
	}
	return out
}

// selectorMatchers writes a metric selector's matchLabels as PromQL
// matchers, sorted (matchExpressions are left for the hand-written query).
func selectorMatchers(sel *metav1.LabelSelector) []string {
	if sel == nil {
		return nil
	}
	keys := make([]string, 0, len(sel.MatchLabels))
	for k := range sel.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%s=%q", k, sel.MatchLabels[k])
	}
	return out
}

// yamlQuote writes s as a single-quoted YAML scalar.
func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// indent prefixes the first line of s with first and the others with rest.
func indent(s, first, rest string) string {
	lines := strings.SplitAfter(strings.TrimSuffix(s, "\n"), "\n")
	var b strings.Builder
	for i, l := range lines {
		if i == 0 {
			b.WriteString(first)
		} else {
			b.WriteString(rest)
		}
		b.WriteString(l)
	}
	b.WriteString("\n")
	return b.String()
}

// orderedYAML writes v as block YAML with its fields in the order of its
// JSON encoding (the API's field order: type before resource, minReplicas
// before maxReplicas), not sorted as sigs.k8s.io/yaml would.
func orderedYAML(v any) (string, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(j, &doc); err != nil {
		return "", err
	}
	blockStyle(&doc)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// blockStyle clears the JSON flow and quoting styles, so the encoder writes
// block YAML and quotes only the strings that need it.
func blockStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// DecodeHPAs reads HorizontalPodAutoscalers from a YAML or JSON file: one
// or more documents, each an HPA (autoscaling/v2, v2beta2, or v1 whose
// targetCPUUtilizationPercentage becomes the equivalent v2 CPU metric) or a
// List of them (kubectl get hpa -o yaml). Other kinds are an error naming
// the document.
func DecodeHPAs(data []byte) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []*autoscalingv2.HorizontalPodAutoscaler
	for i := 1; ; i++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: not valid YAML: %w", i, err)
		}
		raw, err := yaml.Marshal(&doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		hpas, err := decodeHPADoc(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		out = append(out, hpas...)
	}
	if len(out) == 0 {
		return nil, errors.New("no HorizontalPodAutoscaler found")
	}
	return out, nil
}

// typeMeta is a document's apiVersion and kind, and a List's items.
type typeMeta struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

func decodeHPADoc(raw []byte) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	j, err := sigsyaml.YAMLToJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	if string(bytes.TrimSpace(j)) == "null" {
		return nil, nil // an empty document
	}
	var tm typeMeta
	if err := json.Unmarshal(j, &tm); err != nil {
		return nil, fmt.Errorf("not an object: %w", err)
	}
	switch {
	case strings.HasSuffix(tm.Kind, "List"):
		var out []*autoscalingv2.HorizontalPodAutoscaler
		for k, item := range tm.Items {
			hpas, err := decodeHPADoc(item)
			if err != nil {
				return nil, fmt.Errorf("items[%d]: %w", k, err)
			}
			out = append(out, hpas...)
		}
		return out, nil
	case tm.Kind != "HorizontalPodAutoscaler":
		return nil, fmt.Errorf("kind %q: want HorizontalPodAutoscaler", tm.Kind)
	}
	switch tm.APIVersion {
	case "autoscaling/v2", "autoscaling/v2beta2":
		var h autoscalingv2.HorizontalPodAutoscaler
		if err := sigsyaml.UnmarshalStrict(j, &h); err != nil {
			return nil, fmt.Errorf("HorizontalPodAutoscaler %s: %w", tm.APIVersion, err)
		}
		return []*autoscalingv2.HorizontalPodAutoscaler{&h}, nil
	case "autoscaling/v1":
		var h autoscalingv1.HorizontalPodAutoscaler
		if err := sigsyaml.UnmarshalStrict(j, &h); err != nil {
			return nil, fmt.Errorf("HorizontalPodAutoscaler %s: %w", tm.APIVersion, err)
		}
		return []*autoscalingv2.HorizontalPodAutoscaler{hpaFromV1(&h)}, nil
	default:
		return nil, fmt.Errorf("HorizontalPodAutoscaler apiVersion %q: want autoscaling/v2, v2beta2 or v1", tm.APIVersion)
	}
}

// hpaFromV1 is the API server's v1 → v2 conversion of the spec: the CPU
// utilization target becomes a Resource metric; none leaves the metrics
// empty, which defaults to 80 % CPU as in v1.
func hpaFromV1(h *autoscalingv1.HorizontalPodAutoscaler) *autoscalingv2.HorizontalPodAutoscaler {
	ref := h.Spec.ScaleTargetRef
	out := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: h.ObjectMeta,
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name},
			MinReplicas:    h.Spec.MinReplicas,
			MaxReplicas:    h.Spec.MaxReplicas,
		},
	}
	if u := h.Spec.TargetCPUUtilizationPercentage; u != nil {
		v := *u
		out.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU,
				Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &v}}}}
	}
	return out
}
