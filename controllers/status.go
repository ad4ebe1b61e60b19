package controllers

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// stepConditions are the conditions of the phases, in the order they run.
var stepConditions = []string{
	salesv1alpha1.ConditionConnectionVerified,
	salesv1alpha1.ConditionSolutionImported,
	salesv1alpha1.ConditionRolesAssigned,
	salesv1alpha1.ConditionBusinessCentralLinked,
	salesv1alpha1.ConditionSalesOrderIntegrationConfigured,
	salesv1alpha1.ConditionUsersMapped,
}

// setCondition sets one condition for the object's current generation. The transition
// time changes only when the status does.
func setCondition(obj *salesv1alpha1.SalesConnection, conditionType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
		Type:               conditionType,
		Status:             status,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: obj.Generation,
	})
}

func setTrue(obj *salesv1alpha1.SalesConnection, conditionType, reason, message string) {
	setCondition(obj, conditionType, metav1.ConditionTrue, reason, message)
}

func setFalse(obj *salesv1alpha1.SalesConnection, conditionType, reason, message string) {
	setCondition(obj, conditionType, metav1.ConditionFalse, reason, message)
}

func removeCondition(obj *salesv1alpha1.SalesConnection, conditionType string) {
	meta.RemoveStatusCondition(&obj.Status.Conditions, conditionType)
}

// setFailure records a failed step on its condition. After a failure that needs a person,
// the steps after it, which did not run, are marked Unknown: their last result may no
// longer hold. A passing fault (a network blip, throttling) leaves them as they were, so
// the retry that succeeds does not announce them all again.
func setFailure(obj *salesv1alpha1.SalesConnection, pe *phaseError) {
	if pe.condition == "" {
		return
	}
	setFalse(obj, pe.condition, pe.reason, pe.message)
	if !pe.terminal {
		return
	}
	after := false
	for _, c := range stepConditions {
		if c == pe.condition {
			after = true
			continue
		}
		if after && meta.FindStatusCondition(obj.Status.Conditions, c) != nil {
			setCondition(obj, c, metav1.ConditionUnknown, ReasonBlocked, "waiting for "+pe.condition)
		}
	}
}

// setSummary computes Ready, Reconciling and Stalled from the pass's outcome, so they are
// consistent on every status write: kstatus reads Reconciling=True as InProgress,
// Stalled=True as Failed, and neither with Ready=True as Current.
func setSummary(s *scope) {
	obj := s.obj
	obj.Status.ObservedGeneration = obj.Generation
	if len(s.pending) > 0 {
		obj.Status.PendingChanges = s.pending
	} else {
		obj.Status.PendingChanges = nil
	}

	pe := s.failure
	switch {
	case pe != nil && pe.terminal:
		setFailure(obj, pe)
		removeCondition(obj, salesv1alpha1.ConditionReconciling)
		setTrue(obj, salesv1alpha1.ConditionStalled, pe.reason, pe.message)
		setFalse(obj, salesv1alpha1.ConditionReady, pe.reason, pe.message)
	case pe != nil:
		setFailure(obj, pe)
		removeCondition(obj, salesv1alpha1.ConditionStalled)
		setTrue(obj, salesv1alpha1.ConditionReconciling, pe.reason, pe.message)
		setFalse(obj, salesv1alpha1.ConditionReady, pe.reason, pe.message)
	case s.inProgress != nil:
		removeCondition(obj, salesv1alpha1.ConditionStalled)
		setTrue(obj, salesv1alpha1.ConditionReconciling, s.inProgress.reason, s.inProgress.message)
		setFalse(obj, salesv1alpha1.ConditionReady, s.inProgress.reason, s.inProgress.message)
	case len(s.pending) > 0:
		// Observe mode found differences: only a person can allow them.
		msg := fmt.Sprintf("Observe mode: %d change(s) pending (see status.pendingChanges): %s; set spec.managementPolicy to Manage to carry them out",
			len(s.pending), strings.Join(s.pending, "; "))
		removeCondition(obj, salesv1alpha1.ConditionReconciling)
		setTrue(obj, salesv1alpha1.ConditionStalled, ReasonPendingChanges, msg)
		setFalse(obj, salesv1alpha1.ConditionReady, ReasonPendingChanges, msg)
	case !obj.Spec.IsEnabled():
		removeCondition(obj, salesv1alpha1.ConditionReconciling)
		removeCondition(obj, salesv1alpha1.ConditionStalled)
		setTrue(obj, salesv1alpha1.ConditionReady, ReasonDisabled,
			"the connection is disabled and Business Central is unlinked; set spec.enabled to true to connect")
	default:
		removeCondition(obj, salesv1alpha1.ConditionReconciling)
		removeCondition(obj, salesv1alpha1.ConditionStalled)
		setTrue(obj, salesv1alpha1.ConditionReady, ReasonReady, readyMessage(obj))
	}
}

func readyMessage(obj *salesv1alpha1.SalesConnection) string {
	user := ""
	if obj.Status.IntegrationUser != nil && obj.Status.IntegrationUser.Name != "" {
		user = " as " + obj.Status.IntegrationUser.Name
	}
	return fmt.Sprintf("connected to %s%s", obj.Status.URL, user)
}
