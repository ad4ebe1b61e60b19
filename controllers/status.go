package controllers

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// setCondition sets one condition for the object's current generation. The transition
// time changes only when the status does.
func setCondition(obj *salesv1alpha1.SalesConnection, t salesv1alpha1.ConditionType, status metav1.ConditionStatus, reason salesv1alpha1.Reason, message string) {
	meta.SetStatusCondition(&obj.Status.Conditions, metav1.Condition{
		Type:               string(t),
		Status:             status,
		Reason:             string(reason),
		Message:            message,
		ObservedGeneration: obj.Generation,
	})
}

func removeCondition(obj *salesv1alpha1.SalesConnection, t salesv1alpha1.ConditionType) {
	meta.RemoveStatusCondition(&obj.Status.Conditions, string(t))
}

// setStepCondition sets a step's condition to what the step reported: nil leaves it, an
// empty status removes it. A step without a condition sets none.
func setStepCondition(obj *salesv1alpha1.SalesConnection, t salesv1alpha1.ConditionType, c *conditionState) {
	switch {
	case t == "" || c == nil:
	case c.status == "":
		removeCondition(obj, t)
	default:
		setCondition(obj, t, c.status, c.reason, c.message)
	}
}

// removeStepConditions drops every step's condition: a disabled connection reports only
// Ready.
func removeStepConditions(obj *salesv1alpha1.SalesConnection) {
	for _, t := range stepConditions {
		removeCondition(obj, t)
	}
}

// setStepEnded records, on the condition of the step that ended the pass, why it did
// not finish. After a failure that needs a person, the steps after it, which did not
// run, are marked Unknown: their last result may no longer hold. A passing fault (a
// network blip, throttling) or a wait leaves them as they were, so the pass that succeeds
// does not announce them all again.
func setStepEnded(obj *salesv1alpha1.SalesConnection, res passResult) {
	if res.condition == "" || res.isDone() {
		return
	}
	reason, message := res.summary()
	setCondition(obj, res.condition, metav1.ConditionFalse, reason, message)
	if res.failure == nil || !res.failure.terminal {
		return
	}
	after := false
	for _, t := range stepConditions {
		if t == res.condition {
			after = true
			continue
		}
		if after && obj.Status.GetCondition(t) != nil {
			setCondition(obj, t, metav1.ConditionUnknown, salesv1alpha1.ReasonBlocked, "waiting for "+string(res.condition))
		}
	}
}

// summary is the reason and message of an outcome that is not done.
func (o outcome) summary() (salesv1alpha1.Reason, string) {
	switch {
	case o.failure != nil:
		return o.failure.reason, o.failure.message
	case o.wait != nil:
		return o.wait.reason, o.wait.message
	}
	return salesv1alpha1.ReasonReady, ""
}

// setSummary computes Ready, Reconciling and Stalled from the pass's result, so they are
// consistent on every status write: kstatus reads Reconciling=True as InProgress,
// Stalled=True as Failed, and neither with Ready=True as Current.
func setSummary(obj *salesv1alpha1.SalesConnection, res passResult) {
	obj.Status.ObservedGeneration = obj.Generation
	obj.Status.PendingChanges = nil
	if len(res.pending) > 0 {
		obj.Status.PendingChanges = res.pending
	}
	setStepEnded(obj, res)

	reason, message := res.summary()
	switch {
	case res.failure != nil && res.failure.terminal:
		removeCondition(obj, salesv1alpha1.ConditionReconciling)
		setCondition(obj, salesv1alpha1.ConditionStalled, metav1.ConditionTrue, reason, message)
		setCondition(obj, salesv1alpha1.ConditionReady, metav1.ConditionFalse, reason, message)
	case !res.isDone():
		// A transient failure, or a wait for Dataverse: work is under way.
		removeCondition(obj, salesv1alpha1.ConditionStalled)
		setCondition(obj, salesv1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, message)
		setCondition(obj, salesv1alpha1.ConditionReady, metav1.ConditionFalse, reason, message)
	case len(res.pending) > 0:
		// Observe mode found differences: only a person can allow them.
		msg := fmt.Sprintf("Observe mode: %d change(s) pending (see status.pendingChanges): %s; set spec.managementPolicy to Manage to carry them out",
			len(res.pending), strings.Join(res.pending, "; "))
		removeCondition(obj, salesv1alpha1.ConditionReconciling)
		setCondition(obj, salesv1alpha1.ConditionStalled, metav1.ConditionTrue, salesv1alpha1.ReasonPendingChanges, msg)
		setCondition(obj, salesv1alpha1.ConditionReady, metav1.ConditionFalse, salesv1alpha1.ReasonPendingChanges, msg)
	case !obj.Spec.IsEnabled():
		removeCondition(obj, salesv1alpha1.ConditionReconciling)
		removeCondition(obj, salesv1alpha1.ConditionStalled)
		setCondition(obj, salesv1alpha1.ConditionReady, metav1.ConditionTrue, salesv1alpha1.ReasonDisabled,
			"the connection is disabled and Business Central is unlinked; set spec.enabled to true to connect")
	default:
		removeCondition(obj, salesv1alpha1.ConditionReconciling)
		removeCondition(obj, salesv1alpha1.ConditionStalled)
		setCondition(obj, salesv1alpha1.ConditionReady, metav1.ConditionTrue, salesv1alpha1.ReasonReady, readyMessage(obj))
	}
}

func readyMessage(obj *salesv1alpha1.SalesConnection) string {
	user := ""
	if obj.Status.IntegrationUser != nil && obj.Status.IntegrationUser.Name != "" {
		user = " as " + obj.Status.IntegrationUser.Name
	}
	return fmt.Sprintf("connected to %s%s", obj.Status.URL, user)
}
