package controllers

import (
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// announcedConditions get a Normal event when they become True (DESIGN section 3). The
// other steps show in status only: every event is a write to the API server, and at a
// thousand connections those writes are what the operator waits on.
var announcedConditions = []string{
	salesv1alpha1.ConditionConnectionVerified,
	salesv1alpha1.ConditionSolutionImported,
	salesv1alpha1.ConditionRolesAssigned,
}

// emitEvents reports this pass's actions in Dataverse (drift put back, an import started,
// a disconnect) and, when its status was written (or needed no write), its transitions:
// a step that became True and a new failure reason. Never a steady state. Transitions of
// a pass whose status write failed are left to the pass that retries it.
func (r *Reconciler) emitEvents(s *scope, statusWritten bool) {
	r.emitActions(s)
	if statusWritten {
		r.emitTransitions(s)
	}
}

// emitTransitions reports steps that became True and a new failure reason.
func (r *Reconciler) emitTransitions(s *scope) {
	obj := s.obj
	for _, t := range announcedConditions {
		now := meta.FindStatusCondition(obj.Status.Conditions, t)
		if now == nil || now.Status != "True" {
			continue
		}
		if was := meta.FindStatusCondition(s.before.Conditions, t); was != nil && was.Status == "True" {
			continue
		}
		r.Recorder.Eventf(obj, nil, corev1.EventTypeNormal, t, "Reconcile", "%s", now.Message)
	}
	if pe := s.failure; pe != nil && isNewFailure(s.before, pe) {
		note := pe.message
		if pe.cause != nil {
			// The cause carries the library's detail; Dataverse client errors never hold
			// secrets.
			note += ": " + pe.cause.Error()
		}
		r.Recorder.Eventf(obj, nil, corev1.EventTypeWarning, pe.reason, "Reconcile", "%s", truncate(note, 1000))
	}
}

// isNewFailure reports whether a failure reason differs from what Ready said before.
func isNewFailure(before salesv1alpha1.SalesConnectionStatus, pe *phaseError) bool {
	ready := meta.FindStatusCondition(before.Conditions, salesv1alpha1.ConditionReady)
	return ready == nil || ready.Status == "True" || ready.Reason != pe.reason
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// emitActions reports what this pass changed in Dataverse.
func (r *Reconciler) emitActions(s *scope) {
	// One DriftCorrected event per kind of repair: client-go folds events with the same
	// reason, action and object version into a series that keeps only the first note, so
	// repairs of another kind in a later pass would otherwise never be seen.
	corrected := s.driftCorrected()
	for _, action := range slices.Sorted(maps.Keys(corrected)) {
		r.Recorder.Eventf(s.obj, nil, corev1.EventTypeNormal, "DriftCorrected", action,
			"put back what was changed outside the operator: %s", strings.Join(corrected[action], "; "))
	}
	for _, e := range s.events {
		r.Recorder.Eventf(s.obj, nil, e.eventType, e.reason, e.action, "%s", e.message)
	}
}
