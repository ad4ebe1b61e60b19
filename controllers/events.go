package controllers

import (
	corev1 "k8s.io/api/core/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// emitTransitions reports, once the pass's status is written (or needed no write), the
// steps that became True, for the steps the step table announces, and a new failure
// reason. Never a steady state. What a pass changed in Dataverse is reported as it is
// changed (SolutionImportStarted, Disconnected, DriftCorrected). Every event is a write
// to the API server, and at a thousand connections those writes are what the operator
// waits on, so the other steps show in status only.
func (r *Reconciler) emitTransitions(s *scope, res passResult) {
	for _, st := range connectSteps {
		if !st.announce {
			continue
		}
		now := s.obj.Status.GetCondition(st.condition)
		if now == nil || now.Status != "True" {
			continue
		}
		if was := s.before.GetCondition(st.condition); was != nil && was.Status == "True" {
			continue
		}
		r.Recorder.Eventf(s.obj, nil, corev1.EventTypeNormal, string(st.condition), "Reconcile", "%s", now.Message)
	}
	if f := res.failure; f != nil && isNewFailure(s.before, f.reason) {
		note := f.message
		if f.cause != nil {
			// The cause carries the library's detail; Dataverse client errors never hold
			// secrets.
			note += ": " + f.cause.Error()
		}
		r.Recorder.Eventf(s.obj, nil, corev1.EventTypeWarning, string(f.reason), "Reconcile", "%s", boundedText(note, maxEventNote))
	}
}

// isNewFailure reports whether a failure reason differs from what Ready said before.
func isNewFailure(before salesv1alpha1.SalesConnectionStatus, reason salesv1alpha1.Reason) bool {
	ready := before.GetCondition(salesv1alpha1.ConditionReady)
	return ready == nil || ready.Status == "True" || ready.Reason != string(reason)
}

// maxEventNote bounds a Warning's note in characters; the API server refuses notes over
// 1 kB, so the cut leaves room for multi-byte characters.
const maxEventNote = 300
