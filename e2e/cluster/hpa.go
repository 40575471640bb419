package cluster

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// HPAControllerName is the component name of the extra
// kube-controller-manager that runs only the HPA controller.
const HPAControllerName = "hpa-controller"

// HPAControllerUser is the user the extra kube-controller-manager
// authenticates as (its informers' LIST and WATCH; the HPA controller itself
// acts as ServiceAccount kube-system/horizontal-pod-autoscaler). It holds the
// same roles as system:kube-controller-manager, but its own name tells its
// requests apart from the cluster's kube-controller-manager in audit logs.
const HPAControllerUser = "e2e-hpa-controller"

// HPAControllerOptions configure the extra kube-controller-manager of
// StartHPAController. Zero values keep kube-controller-manager's defaults.
type HPAControllerOptions struct {
	SyncPeriod time.Duration // --horizontal-pod-autoscaler-sync-period (kcm default 15s)
	Workers    int           // --concurrent-horizontal-pod-autoscaler-syncs (kcm default 5)
	QPS        float32       // --kube-api-qps (kcm default 20)
	Burst      int           // --kube-api-burst (kcm default 30)
	ExtraArgs  []string      // e.g. --horizontal-pod-autoscaler-downscale-stabilization=30s
}

// Validate names every bad option.
func (o HPAControllerOptions) Validate() error {
	var errs []error
	if o.SyncPeriod < 0 {
		errs = append(errs, fmt.Errorf("SyncPeriod %s: must not be negative", o.SyncPeriod))
	}
	if o.Workers < 0 {
		errs = append(errs, fmt.Errorf("Workers %d: must not be negative", o.Workers))
	}
	if o.QPS < 0 || o.Burst < 0 {
		errs = append(errs, fmt.Errorf("QPS %v, Burst %d: must not be negative", o.QPS, o.Burst))
	}
	return errors.Join(errs...)
}

// StartHPAController starts a second kube-controller-manager (the cluster's
// build) with only the HPA controller and waits for its /healthz. The
// cluster's own kube-controller-manager runs every controller but that one
// (unless Options.EnableHPAController), so this is how a test or a benchmark
// gets real HPA decisions for a while; StopComponent(HPAControllerName)
// stops it, and Down stops it too. The HPA controller watches every
// namespace: it acts on every HorizontalPodAutoscaler in the cluster.
func (c *Cluster) StartHPAController(ctx context.Context, o HPAControllerOptions) error {
	if err := o.Validate(); err != nil {
		return fmt.Errorf("invalid HPA controller options: %w", err)
	}
	if c.State.Ports.HPAController == 0 {
		p, err := freePorts(1)
		if err != nil {
			return err
		}
		c.State.Ports.HPAController = p[0]
	}
	c.hpa = o
	return c.StartComponent(ctx, HPAControllerName)
}

func (c *Cluster) hpaControllerComponent() component {
	kc, k, o := c.kubeconfigPath("hpa-controller"), c.pki.Path, c.hpa
	args := []string{
		"--kubeconfig", kc, "--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--bind-address", "127.0.0.1", "--secure-port", itoa(c.State.Ports.HPAController),
		"--use-service-account-credentials=true", "--root-ca-file", k("ca.crt"),
		"--leader-elect=false", "--controllers", "horizontal-pod-autoscaler-controller",
	}
	if o.SyncPeriod > 0 {
		args = append(args, "--horizontal-pod-autoscaler-sync-period", o.SyncPeriod.String())
	}
	if o.Workers > 0 {
		args = append(args, "--concurrent-horizontal-pod-autoscaler-syncs", itoa(o.Workers))
	}
	if o.QPS > 0 {
		args = append(args, "--kube-api-qps", fmt.Sprint(o.QPS))
	}
	if o.Burst > 0 {
		args = append(args, "--kube-api-burst", itoa(o.Burst))
	}
	args = append(args, o.ExtraArgs...)
	return component{HPAControllerName, filepath.Join(c.opts.BinDir, "kube-controller-manager"), args}
}
