package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/metawatch"
)

// Field indexes on SalesConnections: the names of the Secrets and ConfigMaps each one
// references, so a change to one of them reaches exactly the objects that use it.
const (
	indexSecretNames    = "spec.secretNames"
	indexConfigMapNames = "spec.configMapNames"
)

// DefaultPassTimeout bounds one pass when Reconciler.PassTimeout is unset: long enough
// for a dozen Dataverse requests that each take their full timeout's share, short
// enough that a hung environment frees its workers.
const DefaultPassTimeout = 3 * time.Minute

// Options tune the controller.
type Options struct {
	// Name of the controller (default "salesconnection"); unique per process.
	Name                    string
	MaxConcurrentReconciles int
	// MaxConcurrentPerEnvironment bounds the passes against one Dataverse environment
	// (default: half the workers, at least one).
	MaxConcurrentPerEnvironment int
	// Backoff bounds for transient failures without a Retry-After.
	BackoffBase, BackoffMax time.Duration
	// WatchNamespaces are the namespaces the manager's cache is limited to (empty: all);
	// the Secret watch, which keeps no cache, follows the same list.
	WatchNamespaces []string
}

// SetupWithManager registers the reconciler, its field indexes and its watches.
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager, opts Options) error {
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(ctx, &salesv1alpha1.SalesConnection{}, indexSecretNames, func(o client.Object) []string {
		return referencedSecrets(o.(*salesv1alpha1.SalesConnection))
	}); err != nil {
		return err
	}
	if err := indexer.IndexField(ctx, &salesv1alpha1.SalesConnection{}, indexConfigMapNames, func(o client.Object) []string {
		return referencedConfigMaps(o.(*salesv1alpha1.SalesConnection))
	}); err != nil {
		return err
	}
	if err := indexer.IndexField(ctx, &salesv1alpha1.SalesConnection{}, indexLinkKey, func(o client.Object) []string {
		return linkKeyOf(o.(*salesv1alpha1.SalesConnection))
	}); err != nil {
		return err
	}
	if r.MinImportPoll <= 0 {
		r.MinImportPoll = DefaultMinImportPoll
	}
	if r.MaxImportPoll < r.MinImportPoll {
		r.MaxImportPoll = max(DefaultMaxImportPoll, r.MinImportPoll)
	}
	if r.Throttles != nil {
		if err := mgr.Add(r.Throttles); err != nil {
			return err
		}
	}
	r.imports = newImportWatch(r.MinImportPoll, r.MaxImportPoll, mgr.GetLogger().WithName("import-watch"))
	r.imports.start(ctx)
	if r.StalledRetryInterval == 0 {
		r.StalledRetryInterval = 30 * time.Minute
	}
	if r.PassTimeout == 0 {
		r.PassTimeout = DefaultPassTimeout
	}
	if len(r.AllowedSolutions) == 0 {
		r.AllowedSolutions = []string{integrationSolutionName}
	}
	r.envShare.limit = opts.MaxConcurrentPerEnvironment
	if r.envShare.limit <= 0 {
		r.envShare.limit = max(1, (opts.MaxConcurrentReconciles+1)/2)
	}
	if opts.BackoffBase == 0 {
		opts.BackoffBase = time.Second
	}
	if opts.BackoffMax == 0 {
		opts.BackoffMax = 5 * time.Minute
	}

	if opts.Name == "" {
		opts.Name = "salesconnection"
	}

	// Secrets are watched by metadata and not cached at all (metawatch): a cluster's
	// Secrets are many and mostly not ours, so memory must not grow with them. ConfigMaps
	// are watched by metadata through the cache (managercache slims them).
	metadataClient, err := metadata.NewForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return fmt.Errorf("metadata client for the Secret watch: %w", err)
	}
	secrets := &metawatch.Source{
		Client:     metadataClient,
		Resource:   corev1.SchemeGroupVersion.WithResource("secrets"),
		Namespaces: opts.WatchNamespaces,
		Map:        r.referencing(indexSecretNames),
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named(opts.Name).
		For(&salesv1alpha1.SalesConnection{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{},
			annotationChanged(salesv1alpha1.AnnotationRequestedAt),
			annotationChanged(salesv1alpha1.AnnotationForceDelete),
		))).
		WatchesRawSource(secrets).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.referencing(indexConfigMapNames)),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{}, r.profileWrites.notOwnWrite())).
		// The import watch requeues the connections waiting for an import that ended.
		WatchesRawSource(source.Channel(r.imports.events, &handler.EnqueueRequestForObject{})).
		// A link given up (deleted, disabled, moved) passes to the next SalesConnection
		// that asks for it.
		Watches(&salesv1alpha1.SalesConnection{}, r.linkReleased()).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
			RateLimiter:             workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](opts.BackoffBase, opts.BackoffMax),
		}).
		Complete(r)
}

// referencing maps a Secret or ConfigMap to the SalesConnections in its namespace that
// name it.
func (r *Reconciler) referencing(index string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		list := &salesv1alpha1.SalesConnectionList{}
		if err := r.List(ctx, list, client.InNamespace(o.GetNamespace()), client.MatchingFields{index: o.GetName()}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing SalesConnections that reference an object", "object", client.ObjectKeyFromObject(o))
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(list.Items))
		for i := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
		return reqs
	}
}

// referencedSecrets lists every Secret name the spec references: one place, so a new
// reference cannot be forgotten by the watch.
func referencedSecrets(sc *salesv1alpha1.SalesConnection) []string {
	var names []string
	add := func(name string) {
		if name != "" {
			names = append(names, name)
		}
	}
	if ref := sc.Spec.Authentication.SecretRef; ref != nil {
		add(ref.Name)
	}
	if a := sc.Spec.Administrator; a != nil && a.SecretRef != nil {
		add(a.SecretRef.Name)
	}
	if t := sc.Spec.TLS; t != nil && t.CASecretRef != nil {
		add(t.CASecretRef.Name)
	}
	if bc := sc.Spec.BusinessCentral; bc != nil && bc.ItemAvailability != nil && bc.ItemAvailability.AccessKeySecretRef != nil {
		add(bc.ItemAvailability.AccessKeySecretRef.Name)
	}
	return names
}

// referencedConfigMaps lists the solution package and the connection profile ConfigMaps
// (a deleted profile is written again).
func referencedConfigMaps(sc *salesv1alpha1.SalesConnection) []string {
	var names []string
	if is := sc.Spec.IntegrationSolution; is != nil && is.PackageRef != nil {
		names = append(names, is.PackageRef.Name)
	}
	if p := sc.Spec.WriteConnectionProfileTo; p != nil {
		names = append(names, p.Name)
	}
	return names
}

// linkReleased queues the other SalesConnections that ask for a link one of them used,
// when that one is deleted, disabled or changed: the next in line takes the link over.
func (r *Reconciler) linkReleased() handler.EventHandler {
	enqueue := func(ctx context.Context, sc client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		obj, ok := sc.(*salesv1alpha1.SalesConnection)
		if !ok {
			return
		}
		for _, key := range linkKeyOf(obj) {
			list := &salesv1alpha1.SalesConnectionList{}
			if err := r.List(ctx, list, client.MatchingFields{indexLinkKey: key}); err != nil {
				ctrl.LoggerFrom(ctx).Error(err, "listing SalesConnections of one link")
				return
			}
			for i := range list.Items {
				if list.Items[i].UID != obj.UID {
					q.Add(reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
				}
			}
		}
	}
	return handler.Funcs{
		UpdateFunc: func(ctx context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			if e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration() || !e.ObjectNew.GetDeletionTimestamp().IsZero() {
				enqueue(ctx, e.ObjectOld, q)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(ctx, e.Object, q)
		},
	}
}

// annotationChanged passes updates that change one annotation.
func annotationChanged(key string) predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return e.ObjectOld.GetAnnotations()[key] != e.ObjectNew.GetAnnotations()[key]
		},
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}
