package metawatch

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// referencedByUser maps an object named "ref-*" to one request for "user-*", and every
// other object to none: what the SalesConnection index does for Secrets it names.
func referencedByUser(_ context.Context, o client.Object) []reconcile.Request {
	name, ok := strings.CutPrefix(o.GetName(), "ref-")
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: "user-" + name}}}
}

func object(name, version string) any {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, ResourceVersion: version,
		Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"data":{"k":"c2VjcmV0"}}`}}}
}

func newStore() (*forwardingStore, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	return &forwardingStore{ctx: context.Background(), mapper: referencedByUser, queue: q, versions: map[string]string{},
		listed: make(chan struct{})}, q
}

// drain returns the names queued, in order.
func drain(q workqueue.TypedRateLimitingInterface[reconcile.Request]) []string {
	var names []string
	for q.Len() > 0 {
		req, _ := q.Get()
		names = append(names, req.Name)
		q.Done(req)
	}
	return names
}

func TestTheFirstListEnqueuesNothingAndRemembersOnlyReferencedObjects(t *testing.T) {
	s, q := newStore()
	var list []any
	for i := range 10000 {
		list = append(list, object(fmt.Sprintf("other-%d", i), "1"))
	}
	list = append(list, object("ref-a", "7"))
	if err := s.Replace(list, "10"); err != nil {
		t.Fatal(err)
	}
	if got := drain(q); len(got) != 0 {
		t.Errorf("the first list enqueued %v; the controller's own watch starts those passes", got)
	}
	if len(s.versions) != 1 || s.versions["ns/ref-a"] != "7" {
		t.Errorf("remembered %d objects (%v); want only ns/ref-a at version 7: memory must not grow with unreferenced objects",
			len(s.versions), s.versions)
	}
}

func TestWatchEventsOfReferencedObjectsAreEnqueued(t *testing.T) {
	s, q := newStore()
	if err := s.Replace(nil, "1"); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() error{
		func() error { return s.Add(object("ref-a", "2")) },
		func() error { return s.Add(object("other", "3")) },
		func() error { return s.Update(object("ref-a", "4")) },
		func() error { return s.Update(object("other", "5")) },
		func() error { return s.Delete(object("ref-a", "6")) },
		func() error { return s.Delete(object("other", "7")) },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
		if got := drain(q); len(got) > 1 || (len(got) == 1 && got[0] != "user-a") {
			t.Fatalf("queued %v; want at most user-a", got)
		}
	}
	if len(s.versions) != 0 {
		t.Errorf("a deleted object is still remembered: %v", s.versions)
	}
}

func TestARelistEnqueuesWhatChangedWhileTheWatchWasDown(t *testing.T) {
	s, q := newStore()
	if err := s.Replace([]any{object("ref-same", "1"), object("ref-changed", "1"), object("ref-gone", "1"), object("other", "1")}, "1"); err != nil {
		t.Fatal(err)
	}
	drain(q)
	// Relisted: one unchanged, one changed, one deleted, one created, others changed.
	if err := s.Replace([]any{object("ref-same", "1"), object("ref-changed", "9"), object("ref-new", "9"), object("other", "9")}, "9"); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, n := range drain(q) {
		got[n] = true
	}
	want := map[string]bool{"user-changed": true, "user-gone": true, "user-new": true}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after a relist, queued %v; want %v (the unchanged and the unreferenced stay quiet)", got, want)
	}
	if _, ok := s.versions["ns/ref-gone"]; ok {
		t.Error("an object gone at the relist is still remembered")
	}
}

func TestTheReflectorNeverHoldsMoreThanKeyAndVersion(t *testing.T) {
	s, _ := newStore()
	out, err := s.Transformer()(object("ref-a", "3"))
	if err != nil {
		t.Fatal(err)
	}
	o := out.(*metav1.PartialObjectMetadata)
	if o.Annotations != nil || o.Name != "ref-a" || o.ResourceVersion != "3" {
		t.Errorf("transformed to %+v; want the key and version only, no annotations", o.ObjectMeta)
	}
}
