package controllers

import (
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// ownWrites keeps the watch event of the reconciler's own ConfigMap write from queueing
// another pass: without it every profile write costs a second pass and a round of
// Dataverse reads. It is the expectations pattern of Kubernetes' own controllers: a
// write is expected before it is sent, because the watch event can arrive before the
// API server's answer does.
type ownWrites struct {
	// expected maps a ConfigMap to the resource version the write starts from, "" for a
	// create.
	expected sync.Map
}

// expect notes a write of obj, as read, about to be sent. Call forget if it fails.
func (w *ownWrites) expect(obj client.Object) {
	w.expected.Store(client.ObjectKeyFromObject(obj), obj.GetResourceVersion())
}

// forget drops the expectation of a write that failed.
func (w *ownWrites) forget(obj client.Object) {
	w.expected.Delete(client.ObjectKeyFromObject(obj))
}

// notOwnWrite passes every event but the one the expected write caused: the create, or
// the update that leaves the version the write started from. A change made by someone
// else between the read and the write leaves that version instead and is dropped, but
// the write's own event then starts from the other version and queues a pass.
func (w *ownWrites) notOwnWrite() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool {
			return !w.expected.CompareAndDelete(client.ObjectKeyFromObject(e.Object), "")
		},
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !w.expected.CompareAndDelete(client.ObjectKeyFromObject(e.ObjectNew), e.ObjectOld.GetResourceVersion())
		},
		DeleteFunc: func(e event.DeleteEvent) bool {
			w.expected.Delete(client.ObjectKeyFromObject(e.Object))
			return true
		},
	}
}
