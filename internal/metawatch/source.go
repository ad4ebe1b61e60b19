// Package metawatch watches one kind of object by metadata and keeps none of them: each
// change is mapped to reconcile requests at once, and only the resource versions of the
// objects that map to at least one request are remembered.
//
// An informer, even a metadata-only one, holds every object of its kind in the cluster.
// For Secrets that is every Helm release, token and certificate of every team, a memory
// cost that grows with the cluster and not with the SalesConnections the operator serves.
// This source costs the same whether the cluster has ten Secrets or a hundred thousand.
package metawatch

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
)

// Source watches the metadata of Resource in Namespaces (all namespaces when empty) and
// enqueues what Map returns for every object created, changed or deleted. Objects that
// exist when the watch starts are not enqueued: the controller's own watch starts a pass
// of every object it manages anyway. After a relist (the watch could not resume), the
// objects that changed or went away while it was down are enqueued, as an informer's
// resource-version predicate would.
type Source struct {
	Client     metadata.Interface
	Resource   schema.GroupVersionResource
	Namespaces []string
	Map        handler.MapFunc

	// listed has one channel per namespace, closed when its first list is in.
	listed []chan struct{}
}

// A SyncingSource: the controller starts its workers once every namespace is listed, as
// it does for its informers, so no change between the list and the watch is missed.
var _ source.SyncingSource = &Source{}

// Start runs one reflector per namespace until ctx ends.
func (s *Source) Start(ctx context.Context, queue workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
	if s.Client == nil || s.Map == nil {
		return fmt.Errorf("metawatch: watching %s needs a client and a map function", s.Resource)
	}
	namespaces := s.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		listed := make(chan struct{})
		s.listed = append(s.listed, listed)
		store := &forwardingStore{ctx: ctx, mapper: s.Map, queue: queue, versions: map[string]string{}, listed: listed}
		r := toolscache.NewReflectorWithOptions(s.listWatch(ns), &metav1.PartialObjectMetadata{}, store,
			toolscache.ReflectorOptions{Name: "metawatch " + s.Resource.String()})
		go r.RunWithContext(ctx)
	}
	return nil
}

// WaitForSync returns once every namespace's first list is in, or ctx ends.
func (s *Source) WaitForSync(ctx context.Context) error {
	for _, listed := range s.listed {
		select {
		case <-listed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the first list of %s: %w", s.Resource, ctx.Err())
		}
	}
	return nil
}

func (s *Source) String() string { return "metawatch " + s.Resource.String() }

func (s *Source) listWatch(namespace string) *toolscache.ListWatch {
	resource := s.Client.Resource(s.Resource).Namespace(namespace)
	return &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			return resource.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return resource.Watch(ctx, opts)
		},
	}
}
