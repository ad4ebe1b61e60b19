// Package managercache holds the manager's cache settings: what the cache keeps of each
// object, and which namespaces it watches.
package managercache

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Options are the manager's cache options. Every cached object loses its managedFields,
// which no code reads. Secrets and ConfigMaps, watched by metadata only, keep only what
// the watches read (see slimMetadata): above all no annotations, because `kubectl apply`
// copies a Secret's whole data into kubectl.kubernetes.io/last-applied-configuration,
// and a metadata cache that kept it would hold every Secret of the cluster.
// SalesConnections keep their annotations: the controller reads sales.bcconnect.io/*.
//
// namespaces, when not empty, limits the cache, and so every watch, to those namespaces.
func Options(namespaces []string) cache.Options {
	slim := cache.ByObject{Transform: slimMetadata}
	opts := cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Secret{}:    slim,
			&corev1.ConfigMap{}: slim,
		},
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// slimMetadata keeps of an object's metadata what the Secret and ConfigMap watches read:
// the key, the resource version (change predicates, the own-writes expectations), the
// owner references, and the identity and life-cycle fields every informer relies on.
// Annotations, labels, managed fields and finalizers are dropped. An object of another
// shape than expected (a full Secret, if one is ever cached) loses at least its
// annotations and managed fields.
func slimMetadata(in any) (any, error) {
	switch o := in.(type) {
	case *metav1.PartialObjectMetadata:
		o.ObjectMeta = keptMetadata(o.ObjectMeta)
	case *corev1.Secret:
		o.ObjectMeta = keptMetadata(o.ObjectMeta)
	case *corev1.ConfigMap:
		o.ObjectMeta = keptMetadata(o.ObjectMeta)
	default:
		if obj, err := meta.Accessor(in); err == nil {
			obj.SetAnnotations(nil)
			obj.SetManagedFields(nil)
		}
	}
	return in, nil
}

func keptMetadata(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:                       m.Name,
		Namespace:                  m.Namespace,
		UID:                        m.UID,
		ResourceVersion:            m.ResourceVersion,
		Generation:                 m.Generation,
		CreationTimestamp:          m.CreationTimestamp,
		DeletionTimestamp:          m.DeletionTimestamp,
		DeletionGracePeriodSeconds: m.DeletionGracePeriodSeconds,
		OwnerReferences:            m.OwnerReferences,
	}
}
