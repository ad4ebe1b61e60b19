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
}

var _ source.Source = &Source{}

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
		store := &forwardingStore{ctx: ctx, mapper: s.Map, queue: queue, versions: map[string]string{}}
		r := toolscache.NewReflectorWithOptions(s.listWatch(ns), &metav1.PartialObjectMetadata{}, store,
			toolscache.ReflectorOptions{Name: "metawatch " + s.Resource.String()})
		go r.RunWithContext(ctx)
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
