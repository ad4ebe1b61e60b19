package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime/debug"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// step is one entry of a pass: the condition it reports, whether that condition becoming
// True is announced with an event, and its observe function, which reads what it needs and
// says what Manage would change. The driver (runSteps) makes those changes in Manage mode
// and lists them in status.pendingChanges in Observe mode, so no step looks at the
// management policy.
type step struct {
	name      string
	condition salesv1alpha1.ConditionType // "" for a step without a condition of its own
	announce  bool
	observe   func(r *Reconciler, ctx context.Context, s *scope) (plan, outcome)
	// resumesFirst, when it reports true, runs the step before the other steps of the
	// pass (after preparation): the last pass left it waiting, and this pass only looks at
	// what it waits for.
	resumesFirst func(s *scope) bool
}

// prepareSteps resolve what every pass needs, also disabling and deleting: the URL and the
// clients of both principals, from their Secrets.
var prepareSteps = []step{
	{name: "url", condition: salesv1alpha1.ConditionConnectionVerified, observe: (*Reconciler).resolveURL},
	{name: "credentials", condition: salesv1alpha1.ConditionConnectionVerified, observe: (*Reconciler).resolveClients},
}

// connectSteps are the pass of an enabled connection, in order (DESIGN section 4): later
// steps use what earlier ones found.
var connectSteps = []step{
	{name: "connection", condition: salesv1alpha1.ConditionConnectionVerified, announce: true, observe: (*Reconciler).testConnection},
	{name: "integrationUser", condition: salesv1alpha1.ConditionIntegrationUserPrepared, observe: (*Reconciler).observeIntegrationUser},
	{name: "solution", condition: salesv1alpha1.ConditionSolutionImported, announce: true, observe: (*Reconciler).observeSolution,
		// Polling an import: check it first, and test the connection again only once it
		// is done (the roles need what Test Connection reads). Saves four requests per
		// poll for every connection that waits.
		resumesFirst: waitingForImport},
	{name: "roles", condition: salesv1alpha1.ConditionRolesAssigned, announce: true, observe: (*Reconciler).observeRoles},
	{name: "link", condition: salesv1alpha1.ConditionBusinessCentralLinked, observe: (*Reconciler).observeLink},
	{name: "salesOrders", condition: salesv1alpha1.ConditionSalesOrderIntegrationConfigured, observe: (*Reconciler).observeSalesOrders},
	{name: "userMapping", condition: salesv1alpha1.ConditionUsersMapped, observe: (*Reconciler).checkUserMapping},
	{name: "profile", observe: (*Reconciler).reconcileProfile},
}

// disconnectSteps are the pass of a disabled connection: what clearing "Enabled" does in
// Business Central, and the profile, from which Business Central-side tooling reads that
// the connection is off.
var disconnectSteps = []step{
	{name: "disconnect", condition: salesv1alpha1.ConditionBusinessCentralLinked, observe: (*Reconciler).observeDisconnect},
	{name: "profile", observe: (*Reconciler).reconcileProfile},
}

// cleanupSteps carry out spec.deletionPolicy (section 5 of DESIGN).
var cleanupSteps = []step{
	{name: "unlink", condition: salesv1alpha1.ConditionBusinessCentralLinked, observe: (*Reconciler).observeUnlink},
	{name: "removeRoles", condition: salesv1alpha1.ConditionRolesAssigned, observe: (*Reconciler).observeRoleRemoval},
	{name: "salesOrdersOff", condition: salesv1alpha1.ConditionSalesOrderIntegrationConfigured, observe: (*Reconciler).observeSalesOrdersOff},
}

// stepConditions are the conditions of the steps of an enabled connection, in order.
var stepConditions = func() []salesv1alpha1.ConditionType {
	var types []salesv1alpha1.ConditionType
	for _, st := range connectSteps {
		if st.condition != "" && !slices.Contains(types, st.condition) {
			types = append(types, st.condition)
		}
	}
	return types
}()

// stepsFor is the pass this object needs now.
func stepsFor(s *scope) []step {
	switch {
	case !s.obj.DeletionTimestamp.IsZero():
		return slices.Concat(prepareSteps, cleanupSteps)
	case !s.obj.Spec.IsEnabled():
		return slices.Concat(prepareSteps, disconnectSteps)
	}
	steps := slices.Clone(connectSteps)
	for i, st := range steps {
		if st.resumesFirst != nil && st.resumesFirst(s) {
			steps = slices.Insert(slices.Delete(steps, i, i+1), 0, st)
			break
		}
	}
	return slices.Concat(prepareSteps, steps)
}

// plan is what a step observed: the changes that bring Dataverse to the spec, and the
// step's condition once they are made, or when none are needed.
type plan struct {
	changes []change
	// then is the step's condition after the changes; nil leaves it as it is.
	then *conditionState
}

// conditionState is a condition a step reports; an empty status removes the condition
// (the step does not apply to this spec).
type conditionState struct {
	status  metav1.ConditionStatus
	reason  salesv1alpha1.Reason
	message string
}

func conditionTrue(reason salesv1alpha1.Reason, message string) *conditionState {
	return &conditionState{status: metav1.ConditionTrue, reason: reason, message: message}
}

func conditionFalse(reason salesv1alpha1.Reason, message string) *conditionState {
	return &conditionState{status: metav1.ConditionFalse, reason: reason, message: message}
}

// conditionAbsent removes the step's condition: the spec does not ask for the step.
func conditionAbsent() *conditionState { return &conditionState{} }

// change is one write to Dataverse: Manage makes it, Observe lists it.
type change struct {
	// what is what Manage would do, as status.pendingChanges lists it ("assign security
	// role X to Y").
	what string
	// action names the kind of write, for events ("AssignRole").
	action string
	// repair is what a person reads when the change put back drift.
	repair string
	// apply makes the write. It may end the pass: an import started is waited for.
	apply func(ctx context.Context) outcome
}

// passResult is how a pass ended: the outcome of the step that ended it (done when every
// step was done) and that step's condition, and in Observe mode what Manage would change.
type passResult struct {
	outcome
	condition salesv1alpha1.ConditionType
	pending   []string
}

// runSteps runs the steps in order, stopping at the first that does not end done. A
// panic in a step ends the pass with InternalError, so a bug never publishes Ready.
func (r *Reconciler) runSteps(ctx context.Context, s *scope, steps []step) (res passResult) {
	var current step
	defer func() {
		if p := recover(); p != nil {
			reconcilePanics.Inc()
			// The panic value goes to the log only, redacted: it may hold anything the step
			// held, the values of the Secrets this pass read among them.
			value := dataverse.Redact(fmt.Sprintf("panic: %v", p), s.secrets.values()...)
			s.log.Error(errors.New(value), "a step panicked; the pass ends with InternalError", "step", current.name, "stack", string(debug.Stack()))
			res = passResult{condition: current.condition, outcome: failed(&failure{reason: salesv1alpha1.ReasonInternalError,
				message: fmt.Sprintf("the operator hit an internal error in step %s; retrying (the operator log has the details)", current.name)})}
		}
	}()
	for _, st := range steps {
		current = st
		p, o := st.observe(r, ctx, s)
		if o.isDone() {
			o = r.carryOut(ctx, s, st, p, &res.pending)
		}
		if !o.isDone() {
			res.outcome, res.condition = o, st.condition
			return res
		}
	}
	return res
}

// carryOut makes a step's changes in Manage mode, or lists them as pending in Observe
// mode, and sets the step's condition. Changes to a step that was True are drift put
// back: one DriftCorrected event per kind of repair.
func (r *Reconciler) carryOut(ctx context.Context, s *scope, st step, p plan, pending *[]string) outcome {
	if len(p.changes) > 0 && s.observing() {
		whats := make([]string, len(p.changes))
		for i, c := range p.changes {
			whats[i] = c.what
		}
		*pending = append(*pending, whats...)
		setStepCondition(s.obj, st.condition, conditionFalse(salesv1alpha1.ReasonPendingChanges, "would "+strings.Join(whats, "; ")))
		return done()
	}
	repaired := map[string][]string{}
	defer r.announceRepairs(s, repaired)
	for _, c := range p.changes {
		if o := c.apply(ctx); !o.isDone() {
			return o
		}
		if st.condition != "" && s.wasTrue(st.condition) {
			repaired[c.action] = append(repaired[c.action], c.repair)
		}
	}
	setStepCondition(s.obj, st.condition, p.then)
	return done()
}

// announceRepairs reports drift put back, one event per kind of repair: client-go folds
// events with the same reason, action and object version into a series that keeps only
// the first note, so repairs of another kind would otherwise never be seen.
func (r *Reconciler) announceRepairs(s *scope, repaired map[string][]string) {
	for _, action := range slices.Sorted(maps.Keys(repaired)) {
		r.Recorder.Eventf(s.obj, nil, corev1.EventTypeNormal, "DriftCorrected", action,
			"put back what was changed outside the operator: %s", strings.Join(repaired[action], "; "))
	}
}
