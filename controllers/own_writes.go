package controllers

import (
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// expectationTTL bounds how long a write's event is waited for: a watch that relists
// can fold the write into another event, and a leftover expectation must not swallow a
// later change by someone else.
const expectationTTL = time.Minute

// ownWrites keeps the watch event of the reconciler's own ConfigMap write from queueing
// another pass: without it every profile write costs a second pass and a round of
// Dataverse reads. It is the expectations pattern of Kubernetes' own controllers: a
// write is expected before it is sent, because the watch event can arrive before the
// API server's answer does.
type ownWrites struct {
	mu       sync.Mutex
	expected map[client.ObjectKey]expectation
}

// expectation is a write in flight: the resource version it starts from ("" for a
// create), and when it was sent.
type expectation struct {
	from string
	at   time.Time
}

// expect notes a write of obj, as read, about to be sent. Call forget if it fails.
func (w *ownWrites) expect(obj client.Object) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.expected == nil {
		w.expected = map[client.ObjectKey]expectation{}
	}
	w.expected[client.ObjectKeyFromObject(obj)] = expectation{from: obj.GetResourceVersion(), at: time.Now()}
}

// forget drops the expectation of a write that failed, or of an object deleted.
func (w *ownWrites) forget(obj client.Object) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.expected, client.ObjectKeyFromObject(obj))
}

// consume reports whether an event leaving version from is the expected write's, and
// forgets the expectation if so: one write, one event.
func (w *ownWrites) consume(obj client.Object, from string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := client.ObjectKeyFromObject(obj)
	e, ok := w.expected[key]
	switch {
	case !ok:
		return false
	case time.Since(e.at) > expectationTTL:
		delete(w.expected, key)
		return false
	case e.from != from:
		return false
	}
	delete(w.expected, key)
	return true
}

// notOwnWrite passes every event but the one the expected write caused: the create, or
// the update that leaves the version the write started from. A change made by someone
// else between the read and the write leaves that version instead and is dropped, but
// the write's own event then starts from the other version and queues a pass.
func (w *ownWrites) notOwnWrite() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(e event.CreateEvent) bool { return !w.consume(e.Object, "") },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return !w.consume(e.ObjectNew, e.ObjectOld.GetResourceVersion())
		},
		DeleteFunc: func(e event.DeleteEvent) bool {
			w.forget(e.Object)
			return true
		},
	}
}
