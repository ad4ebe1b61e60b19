package controllers

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// TestOwnWritesDropOnlyTheirOwnEvent: the reconciler's write of its profile must not
// queue a pass, while any change made by someone else still must.
func TestOwnWritesDropOnlyTheirOwnEvent(t *testing.T) {
	at := func(rv string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "profile", ResourceVersion: rv}}
	}
	update := func(p interface{ Update(event.UpdateEvent) bool }, from, to string) bool {
		return p.Update(event.UpdateEvent{ObjectOld: at(from), ObjectNew: at(to)})
	}
	var w ownWrites
	p := w.notOwnWrite()

	w.expect(at(""))
	if p.Create(event.CreateEvent{Object: at("10")}) {
		t.Error("the create the reconciler made queued a pass")
	}
	if !p.Create(event.CreateEvent{Object: at("10")}) {
		t.Error("a second create event was dropped: one write, one event")
	}

	w.expect(at("10"))
	if !update(p, "9", "10") {
		t.Error("an update leaving another version was dropped")
	}
	if update(p, "10", "11") {
		t.Error("the update the reconciler made queued a pass")
	}
	if !update(p, "11", "12") {
		t.Error("a later edit by someone else was dropped")
	}

	// Someone edits between the reconciler's read and its write: their event is dropped
	// in place of the reconciler's, whose own event then queues the pass that rechecks.
	w.expect(at("12"))
	if update(p, "12", "13") {
		t.Error("want the event leaving the read version dropped")
	}
	if !update(p, "13", "14") {
		t.Error("the write after a concurrent edit queued no pass")
	}

	// A failed write expects nothing, and a deletion always queues a pass.
	w.expect(at("14"))
	w.forget(at("14"))
	if !update(p, "14", "15") {
		t.Error("an edit after a failed write was dropped")
	}
	w.expect(at("15"))
	if !p.Delete(event.DeleteEvent{Object: at("15")}) {
		t.Error("a deleted profile queued no pass")
	}
	if !update(p, "15", "16") {
		t.Error("a deletion left the expectation behind")
	}

	// A write whose event never came (folded into another by a relist) does not swallow
	// a much later edit that happens to leave the same version.
	w.expect(at("16"))
	w.expected[client.ObjectKeyFromObject(at("16"))] = expectation{from: "16", at: time.Now().Add(-2 * expectationTTL)}
	if !update(p, "16", "17") {
		t.Error("an expired expectation dropped an edit")
	}
}
