package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/ebb-autoscaler/ebb/autoscaler/report"
)

// statusOptions are the flags of `ebb status`.
type statusOptions struct {
	cluster *clusterOptions
	service string
	port    string
	output  string
	format  report.Format
	targets []string
	since   time.Duration
}

func newStatusOptions() *statusOptions {
	return &statusOptions{cluster: newClusterOptions(), service: "ebb-metrics", port: "metrics", output: string(report.FormatTable)}
}

func (o *statusOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.output, "output", "o", o.output, "output format: "+formatList()+" (html and json include each target's history)")
	fs.StringVar(&o.service, "service", o.service, "the Service in front of ebb's /metrics port (Helm: <release>-metrics)")
	fs.StringVar(&o.port, "port", o.port, "the Service's port (name or number)")
	fs.StringArrayVar(&o.targets, "target", nil, "only this target, as Kind/name (repeatable)")
	fs.DurationVar(&o.since, "since", 0, "history to include, e.g. 1h (default: all the leader keeps for html and json, none otherwise)")
}

// Validate checks the flags that need no cluster.
func (o *statusOptions) Validate() error {
	f, err := validateReport(o.cluster, o.output)
	if err != nil {
		return err
	}
	o.format = f
	for _, t := range o.targets {
		if kind, name, ok := strings.Cut(t, "/"); !ok || kind == "" || name == "" {
			return badInput(fmt.Errorf("--target %q: want Kind/name, e.g. Deployment/web", t))
		}
	}
	if o.since < 0 || o.service == "" || o.port == "" {
		return badInput(fmt.Errorf("--since %v, --service %q, --port %q: the duration must not be negative, the names not empty", o.since, o.service, o.port))
	}
	return nil
}

// history is the history query parameter: "" for all the leader keeps.
func (o *statusOptions) history() string {
	switch {
	case o.since > 0:
		return o.since.String()
	case o.format == report.FormatHTML || o.format == report.FormatJSON:
		return ""
	default:
		return "0s"
	}
}

// Run reads the leader's /status and prints it.
func (o *statusOptions) Run(ctx context.Context, streams genericiooptions.IOStreams) error {
	kube, ns, err := o.cluster.kubeClient()
	if err != nil {
		return err
	}
	rep, err := readStatus(ctx, kube, ns, o.service, o.port, o.targets, o.history())
	if err == nil {
		err = report.Render(streams.Out, o.format, rep)
	}
	return failure(err)
}

// readStatus GETs /status from the ebb Service through the API server's
// service proxy (services/proxy get in the namespace is all it needs).
func readStatus(ctx context.Context, kube kubernetes.Interface, ns, service, port string, targets []string, history string) (report.Report, error) {
	req := kube.CoreV1().RESTClient().Get().Namespace(ns).Resource("services").Name(service + ":" + port).
		SubResource("proxy").Suffix("status")
	for _, t := range targets {
		req = req.Param("target", t)
	}
	if history != "" {
		req = req.Param("history", history)
	}
	body, err := req.DoRaw(ctx)
	if err != nil {
		return report.Report{}, fmt.Errorf("GET /status of service %s/%s port %s: %w", ns, service, port, statusError(err, body))
	}
	var rep report.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		return report.Report{}, fmt.Errorf("decode /status of service %s/%s: %w", ns, service, err)
	}
	if rep.GeneratedAt.IsZero() {
		return rep, fmt.Errorf("service %s/%s: the leader has not completed a pass yet", ns, service)
	}
	return rep, nil
}

// statusError words a failed proxy request: ebb's own message (not the
// leader, a bad query) when it answered, else the API server's.
func statusError(err error, body []byte) error {
	var se apierrors.APIStatus
	if errors.As(err, &se) && len(body) > 0 && !strings.HasPrefix(strings.TrimSpace(string(body)), "{") {
		return fmt.Errorf("%d: %s", se.Status().Code, strings.TrimSpace(string(body)))
	}
	return err
}

// newStatusCmd is `ebb status`: what the running leader decided, with its
// recent history, read through the API server's service proxy.
func newStatusCmd(streams genericiooptions.IOStreams) *cobra.Command {
	o := newStatusOptions()
	cmd := &cobra.Command{
		Use:   "status [-n NAMESPACE] [-o table|json|csv|markdown|html] [--target Kind/name]",
		Short: "What the running ebb leader decided, with its recent history (through the API server's service proxy)",
		Long: `Print what the running ebb leader decided in its last pass, in the formats of ebb report;
-o html and -o json include each target's recent decisions (current, recommended,
desired, applied and the HPA's replicas, each metric against its target, vertical
target and bounds against requests and usage), -o html draws them as charts.

It reads the leader's /status through the API server's service proxy, so it works
from a laptop with namespace rights only (get on services/proxy).`,
		Example: "  ebb status -n shop\n  ebb status -n shop -o html > status.html\n  ebb status -n shop -o json --target Deployment/web --since 1h",
		Args:    noArgs,
		RunE: validateThenRun(func(*cobra.Command) error { return o.Validate() },
			func(ctx context.Context) error { return o.Run(ctx, streams) }),
	}
	o.cluster.addFlags(cmd)
	o.addFlags(cmd.Flags())
	return cmd
}
