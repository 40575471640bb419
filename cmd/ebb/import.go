package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-autoscaler/ebb/autoscaler/policy"
)

// importOptions are the flags of `ebb import`.
type importOptions struct {
	cluster  *clusterOptions
	files    []string
	selector string
}

// Validate checks the flags that need no cluster.
func (o *importOptions) Validate() error {
	if len(o.files) > 0 && o.selector != "" {
		return usageError("-l/--selector selects HPAs of the cluster; it cannot be used with -f")
	}
	if slices.Contains(o.files, "") {
		return usageError("-f: empty file name")
	}
	return badInput(o.cluster.validate())
}

// Run reads the HPAs (files, or the namespace) and writes the policy.
func (o *importOptions) Run(ctx context.Context, streams genericiooptions.IOStreams) error {
	var hpas []*autoscalingv2.HorizontalPodAutoscaler
	var source string
	if len(o.files) > 0 {
		for _, f := range o.files {
			hs, err := readHPAFile(f, streams.In)
			if err != nil {
				return badInput(err)
			}
			hpas = append(hpas, hs...)
		}
		source = strings.Join(o.files, ", ")
	} else {
		kube, ns, err := o.cluster.kubeClient()
		if err != nil {
			return err
		}
		if hpas, err = listHPAs(ctx, kube, ns, o.selector); err != nil {
			return failure(err)
		}
		if len(hpas) == 0 {
			return failure(fmt.Errorf("namespace %s has no HorizontalPodAutoscalers to import", ns))
		}
		source = "the HorizontalPodAutoscalers of namespace " + ns
	}
	out, err := policy.Import(hpas, source)
	if err != nil {
		return badInput(err)
	}
	_, err = streams.Out.Write(out)
	return failure(err)
}

// readHPAFile decodes the HPAs of one file ("-" is standard input).
func readHPAFile(path string, stdin io.Reader) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	hpas, err := policy.DecodeHPAs(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return hpas, nil
}

// listHPAs lists the namespace's HPAs (matching selector), by name.
func listHPAs(ctx context.Context, kube kubernetes.Interface, ns, selector string) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	list, err := kube.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list horizontalpodautoscalers in namespace %s: %w", ns, err)
	}
	out := make([]*autoscalingv2.HorizontalPodAutoscaler, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	slices.SortFunc(out, func(a, b *autoscalingv2.HorizontalPodAutoscaler) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// newImportCmd is `ebb import`: a policy file with one dry-run target per
// HorizontalPodAutoscaler, its spec pasted unchanged.
func newImportCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := &importOptions{cluster: newClusterOptions()}
	cmd := &cobra.Command{
		Use:   "import [-n NAMESPACE | -f hpa.yaml ...]",
		Short: "Write a policy file from the HorizontalPodAutoscalers of a namespace or of HPA files",
		Long: `Write a policy file (to standard output) with one target per HorizontalPodAutoscaler:
mode dry-run, the HPA's spec pasted unchanged. Pods, Object and External metrics
are read from the metrics APIs the HPA reads; a PromQL template stub for each is
left as a comment, to read them from Prometheus instead. Without -f the HPAs of
the namespace are read from the cluster (list rights on horizontalpodautoscalers);
-f reads HPA YAML or JSON files (documents, or a List as kubectl get -o yaml
prints; autoscaling/v2, v2beta2 or v1; - is standard input).`,
		Example: "  ebb import -n shop > policy.yaml\n  kubectl get hpa -n shop -o yaml | ebb import -f - > policy.yaml\n  ebb validate -f policy.yaml && ebb report --policy policy.yaml -n shop",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context(), streams)
		},
	}
	o.cluster.addFlags(cmd)
	cmd.Flags().StringArrayVarP(&o.files, "filename", "f", nil, "HPA file to import instead of the cluster's (repeatable; - is standard input)")
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "label selector of the HPAs to import (as kubectl's -l)")
	return cmd
}
