package metawatch

import (
	"context"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// forwardingStore is the reflector's store: it turns what the reflector would store into
// reconcile requests and keeps only the resource version of each object that maps to a
// request, so that a relist can tell which of those changed.
type forwardingStore struct {
	ctx    context.Context
	mapper handler.MapFunc
	queue  workqueue.TypedRateLimitingInterface[reconcile.Request]

	mu sync.Mutex
	// versions holds key -> resourceVersion of the objects that mapped to a request.
	versions map[string]string
	// listed is closed by the first Replace.
	listed chan struct{}
}

var _ toolscache.TransformingStore = &forwardingStore{}

// Add, Update and Delete come from watch events: each is a change.
func (s *forwardingStore) Add(obj any) error    { return s.changed(obj, false) }
func (s *forwardingStore) Update(obj any) error { return s.changed(obj, false) }
func (s *forwardingStore) Delete(obj any) error { return s.changed(obj, true) }

func (s *forwardingStore) changed(obj any, deleted bool) error {
	o, ok := slim(obj)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueue(o, deleted)
	return nil
}

// enqueue adds the requests o maps to and remembers o's version while any exist.
func (s *forwardingStore) enqueue(o *metav1.PartialObjectMetadata, deleted bool) {
	key := o.Namespace + "/" + o.Name
	reqs := s.mapper(s.ctx, o)
	for _, req := range reqs {
		s.queue.Add(req)
	}
	if deleted || len(reqs) == 0 {
		delete(s.versions, key)
		return
	}
	s.versions[key] = o.ResourceVersion
}

// Replace receives every object after a list. The first list only records versions;
// later ones enqueue what changed or disappeared while the watch was down.
func (s *forwardingStore) Replace(list []any, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := !s.hasListed()
	if first {
		defer close(s.listed)
	}
	present := make(map[string]bool, len(s.versions))
	for _, obj := range list {
		o, ok := slim(obj)
		if !ok {
			continue
		}
		key := o.Namespace + "/" + o.Name
		present[key] = true
		known, seen := s.versions[key]
		if first || (seen && known == o.ResourceVersion) {
			if reqs := s.mapper(s.ctx, o); len(reqs) > 0 {
				s.versions[key] = o.ResourceVersion
			}
			continue
		}
		s.enqueue(o, false)
	}
	for key := range s.versions {
		if !present[key] {
			ns, name, _ := toolscache.SplitMetaNamespaceKey(key)
			s.enqueue(&metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}, true)
		}
	}
	return nil
}

// hasListed reports whether the first list is in.
func (s *forwardingStore) hasListed() bool {
	select {
	case <-s.listed:
		return true
	default:
		return false
	}
}

// Resync is a no-op: there is nothing stored to resync.
func (s *forwardingStore) Resync() error { return nil }

// Transformer slims objects before the reflector holds them, even for a moment (a
// streamed initial list is gathered in a temporary store first).
func (s *forwardingStore) Transformer() toolscache.TransformFunc {
	return func(obj any) (any, error) {
		if o, ok := slim(obj); ok {
			return o, nil
		}
		return obj, nil
	}
}

// slim keeps the key and the resource version: all the store reads.
func slim(obj any) (*metav1.PartialObjectMetadata, bool) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	o, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return nil, false
	}
	return &metav1.PartialObjectMetadata{TypeMeta: o.TypeMeta, ObjectMeta: metav1.ObjectMeta{
		Namespace: o.Namespace, Name: o.Name, UID: o.UID, ResourceVersion: o.ResourceVersion,
	}}, true
}
