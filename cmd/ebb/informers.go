package main

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// syncInformers starts f and waits until the caches of its informers synced.
// A list the API server refuses (403 Forbidden, 401 Unauthorized: the
// identity has no access to the namespace) ends the wait with that error
// instead of retrying forever, so `ebb report` fails instead of hanging and
// `ebb run` exits naming the missing permission instead of staying unready.
func syncInformers(ctx context.Context, f informers.SharedInformerFactory, infs ...cache.SharedIndexInformer) error {
	syncCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	for _, inf := range infs {
		err := inf.SetWatchErrorHandlerWithContext(func(ctx context.Context, r *cache.Reflector, err error) {
			if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
				cancel(err)
			}
			cache.DefaultWatchErrorHandler(ctx, r, err)
		})
		if err != nil {
			return fmt.Errorf("set informer error handler: %w", err)
		}
	}
	f.Start(ctx.Done())
	for typ, ok := range f.WaitForCacheSync(syncCtx.Done()) {
		if ok {
			continue
		}
		if err := context.Cause(syncCtx); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("informer cache for %v: %w", typ, err)
		}
		return fmt.Errorf("informer cache for %v did not sync", typ)
	}
	return nil
}
