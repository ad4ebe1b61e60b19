package controllers

import (
	"time"

	"github.com/go-logr/logr"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// scope is one reconcile pass: the object, what was resolved for it, and what the phases
// found, did and would do.
type scope struct {
	obj *salesv1alpha1.SalesConnection
	log logr.Logger

	// before is the status the pass started from, to detect transitions and drift.
	before salesv1alpha1.SalesConnectionStatus

	secrets  *secretReader
	envURL   string
	caBundle []byte
	// integration signs in as the integration user; admin as the administrator (nil
	// when the spec names none).
	integration *dataverse.Client
	admin       *dataverse.Client

	whoAmI    dataverse.WhoAmI
	user      dataverse.SystemUser
	userRoles []dataverse.Role
	// solutionInstalled is true once the integration solution is in the environment, so
	// its roles and the nav_connection entity exist.
	solutionInstalled bool

	// requeueAfter, when set, asks for the next pass sooner than the resync interval
	// (polling an import).
	requeueAfter time.Duration
	// failure is the step that failed in this pass, if any.
	failure *phaseError
	// inProgress says work is under way (an import): Reconciling=True.
	inProgress *phaseError
	// pending lists, in Observe mode, what Manage would change.
	pending []string
	// writes lists what this pass changed in Dataverse; those on a step that was already
	// True were drift, put back (DriftCorrected events).
	writes []dataverseWrite
	// events are the Normal events of this pass (transitions and actions).
	events []pendingEvent
}

// dataverseWrite is one change made to Dataverse: the step's condition, the kind of
// write (an event action) and what a person reads.
type dataverseWrite struct {
	condition, action, what string
}

type pendingEvent struct {
	eventType, reason, action, message string
}

func (s *scope) observing() bool { return s.obj.Spec.Observing() }

// wasTrue reports whether a condition was True for the current generation before this
// pass: a write then is a repair of drift, not a first configuration.
func (s *scope) wasTrue(conditionType string) bool {
	for _, c := range s.before.Conditions {
		if c.Type == conditionType {
			return c.Status == "True" && c.ObservedGeneration == s.obj.Generation
		}
	}
	return false
}

// changed records a write to Dataverse (action names its kind). When the step was
// already True it repaired drift: a person sees that something was changed by hand and
// put back.
func (s *scope) changed(conditionType, action, what string) {
	s.writes = append(s.writes, dataverseWrite{condition: conditionType, action: action, what: what})
}

// driftCorrected groups the writes that repaired drift by action.
func (s *scope) driftCorrected() map[string][]string {
	corrected := map[string][]string{}
	for _, w := range s.writes {
		if s.wasTrue(w.condition) {
			corrected[w.action] = append(corrected[w.action], w.what)
		}
	}
	return corrected
}

func (s *scope) normal(reason, action, message string) {
	s.events = append(s.events, pendingEvent{eventType: "Normal", reason: reason, action: action, message: message})
}

// integrationRef and adminRef describe the two principals for messages.
func (s *scope) integrationRef() credentialRef {
	return credentialRef{who: principalIntegration, secret: s.secretName(&s.obj.Spec.Authentication)}
}

func (s *scope) adminRef() credentialRef {
	if s.obj.Spec.Administrator == nil {
		return credentialRef{who: principalAdmin}
	}
	return credentialRef{who: principalAdmin, secret: s.secretName(s.obj.Spec.Administrator)}
}

func (s *scope) secretName(a *salesv1alpha1.Authentication) string {
	if a.SecretRef == nil {
		return ""
	}
	return s.obj.Namespace + "/" + a.SecretRef.Name
}
