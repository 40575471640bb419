package main

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestSyncInformers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		deny    error // returned for pod lists; nil: allowed
		wantErr string
	}{
		{name: "allowed", deny: nil},
		{name: "forbidden", deny: apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", nil), wantErr: "forbidden"},
		{name: "unauthorized", deny: apierrors.NewUnauthorized("token expired"), wantErr: "token expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kube := fake.NewClientset()
			if tc.deny != nil {
				kube.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.deny })
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			f := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace("ns"))
			err := syncInformers(ctx, f, f.Core().V1().Pods().Informer(), f.Autoscaling().V2().HorizontalPodAutoscalers().Informer())
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("err = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
			case ctx.Err() != nil:
				t.Fatalf("returned only at the deadline: %v", err)
			}
		})
	}
}
