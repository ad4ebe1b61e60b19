package controllers

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// stepNames are the names of steps, for comparing passes.
func stepNames(steps []step) []string {
	names := make([]string, len(steps))
	for i, st := range steps {
		names[i] = st.name
	}
	return names
}

func TestTheStepTableGivesEachPassItsOrder(t *testing.T) {
	w := newStepWorld(t)
	if got := strings.Join(stepNames(stepsFor(w.s)), ","); got != "url,credentials,connection,integrationUser,solution,roles,link,salesOrders,userMapping,profile" {
		t.Errorf("an enabled connection runs %s", got)
	}
	// Polling an import: the solution step first, Test Connection once it is done.
	w.s.before.Conditions = []metav1.Condition{
		{Type: string(salesv1alpha1.ConditionConnectionVerified), Status: "True", ObservedGeneration: 1},
		{Type: string(salesv1alpha1.ConditionSolutionImported), Status: "False", Reason: string(salesv1alpha1.ReasonImportInProgress), ObservedGeneration: 1},
	}
	if got := strings.Join(stepNames(stepsFor(w.s)), ","); got != "url,credentials,solution,connection,integrationUser,roles,link,salesOrders,userMapping,profile" {
		t.Errorf("a connection waiting for its import runs %s", got)
	}
	w.s.obj.Spec.Enabled = new(false)
	if got := strings.Join(stepNames(stepsFor(w.s)), ","); got != "url,credentials,disconnect,profile" {
		t.Errorf("a disabled connection runs %s", got)
	}
	now := metav1.Now()
	w.s.obj.DeletionTimestamp = &now
	if got := strings.Join(stepNames(stepsFor(w.s)), ","); got != "url,credentials,unlink,removeRoles,salesOrdersOff" {
		t.Errorf("a deleted connection runs %s", got)
	}
	if want := []salesv1alpha1.ConditionType{salesv1alpha1.ConditionConnectionVerified, salesv1alpha1.ConditionIntegrationUserPrepared, salesv1alpha1.ConditionSolutionImported,
		salesv1alpha1.ConditionRolesAssigned, salesv1alpha1.ConditionBusinessCentralLinked,
		salesv1alpha1.ConditionSalesOrderIntegrationConfigured, salesv1alpha1.ConditionUsersMapped}; !slices.Equal(stepConditions, want) {
		t.Errorf("stepConditions = %v", stepConditions)
	}
}

// connectPass is an enabled connection's pass after preparation.
func connectPass() []step { return connectSteps }

func TestObserveModeWritesNothingAndListsWhatManageWould(t *testing.T) {
	w := newStepWorld(t, packageConfigMap(t, "25.0.1.0"))
	w.s.obj.Spec.ManagementPolicy = salesv1alpha1.ManagementPolicyObserve
	delete(w.dv.solutions, integrationSolutionName)
	res := w.pass(connectPass()...)

	if len(w.dv.writes) != 0 {
		t.Fatalf("Observe mode wrote %v", w.dv.writes)
	}
	if !res.isDone() {
		t.Fatalf("an Observe pass ended early: %+v", res)
	}
	pending := strings.Join(w.s.obj.Status.PendingChanges, "\n")
	for _, want := range []string{
		"import solution MicrosoftDynamicsNavIntegration (not installed -> 25.0.1.0)",
		"link Business Central company CRONUS USA, Inc. once the integration solution is imported",
		"turn sales order integration on",
	} {
		if !strings.Contains(pending, want) {
			t.Errorf("pendingChanges lack %q:\n%s", want, pending)
		}
	}
	if c := w.condition(salesv1alpha1.ConditionStalled); c == nil || c.Reason != string(salesv1alpha1.ReasonPendingChanges) {
		t.Errorf("Stalled = %+v, want PendingChanges", c)
	}
	for _, ct := range []salesv1alpha1.ConditionType{salesv1alpha1.ConditionSolutionImported, salesv1alpha1.ConditionSalesOrderIntegrationConfigured} {
		if c := w.condition(ct); c == nil || c.Reason != string(salesv1alpha1.ReasonPendingChanges) || !strings.HasPrefix(c.Message, "would ") {
			t.Errorf("%s = %+v, want PendingChanges saying what would change", ct, c)
		}
	}

	// Switched to Manage, the same pass makes the changes: the import first.
	w.again()
	w.s.obj.Spec.ManagementPolicy = salesv1alpha1.ManagementPolicyManage
	w.dv.importStarted = dataverse.ImportHandle{AsyncOperationID: opID, ImportJobKey: opID}
	res = w.pass(connectPass()...)
	if got := strings.Join(w.dv.writes, ","); got != "ImportSolutionAsync" || res.wait == nil {
		t.Errorf("Manage wrote %q and ended %+v; want the import started and waited for", got, res)
	}
	if len(w.s.obj.Status.PendingChanges) != 0 {
		t.Errorf("pendingChanges in Manage mode: %v", w.s.obj.Status.PendingChanges)
	}
	if slices.Contains(w.dv.calls, "FindNavConnection") {
		t.Error("the steps after a wait ran")
	}
}

func TestAPassStopsAtTheFirstStepThatDoesNotFinish(t *testing.T) {
	w := newStepWorld(t)
	w.dv.errs = map[string]error{"WhoAmI": &dataverse.Error{Reason: dataverse.ReasonAuthenticationFailed, Kind: dataverse.Terminal}}
	w.s.obj.Status.Conditions = []metav1.Condition{
		{Type: string(salesv1alpha1.ConditionSolutionImported), Status: "True", Reason: "Imported", ObservedGeneration: 1},
	}
	res := w.pass(connectPass()...)
	if res.condition != salesv1alpha1.ConditionConnectionVerified || !slices.Equal(w.dv.calls, []string{"RetrieveVersion", "WhoAmI"}) {
		t.Errorf("ended on %s after calls %v", res.condition, w.dv.calls)
	}
	if c := w.condition(salesv1alpha1.ConditionSolutionImported); c.Status != metav1.ConditionUnknown || c.Reason != string(salesv1alpha1.ReasonBlocked) {
		t.Errorf("a later step after a Stalled one = %+v, want Unknown/Blocked", c)
	}
}

func TestDriftIsPutBackAndReportedOncePerKind(t *testing.T) {
	w := newStepWorld(t, packageConfigMap(t, "25.0.1.0"))
	if res := w.pass(connectPass()...); !res.isDone() {
		t.Fatalf("first pass: %+v", res)
	}
	w.emitted()
	w.again()
	if len(w.dv.links) != 1 || len(w.dv.userRoles) != 2 {
		t.Fatalf("first pass left links %v, roles %v", w.dv.links, w.dv.userRoles)
	}
	// Changed by hand: both roles taken away, the flag turned off.
	w.dv.userRoles = nil
	w.dv.org.SOPIntegrationEnabled = false
	if res := w.pass(connectPass()...); !res.isDone() {
		t.Fatalf("repair pass: %+v", res)
	}
	if got := strings.Join(w.dv.writes, ","); got != "AssociateRole,AssociateRole,SetSOPIntegration" {
		t.Errorf("repairs = %s", got)
	}
	var drift []string
	for _, e := range w.emitted() {
		if strings.Contains(e, "DriftCorrected") {
			drift = append(drift, e)
		}
	}
	if len(drift) != 2 || !strings.Contains(drift[0], "Integration Administrator given back") || !strings.Contains(drift[0], "Integration User given back") ||
		!strings.Contains(drift[1], "issopintegrationenabled set back to true") {
		t.Errorf("DriftCorrected events = %q; want one for the roles, one for the flag", drift)
	}

	// The steady state: nothing to change, nothing written, nothing announced.
	w.again()
	w.pass(connectPass()...)
	if len(w.dv.writes) != 0 || len(w.emitted()) != 0 {
		t.Errorf("a steady pass wrote %v", w.dv.writes)
	}
}

func TestDisablingRemovesOnlyTheLink(t *testing.T) {
	w := newStepWorld(t)
	w.dv.links = []dataverse.NavConnection{{ID: "r", Name: "CRONUS USA, Inc.", URL: linkURL(w.s.obj.Spec.BusinessCentral.WebClientURL, "CRONUS USA, Inc.")}}
	w.dv.org.SOPIntegrationEnabled = true
	w.s.obj.Spec.Enabled = new(false)
	res := w.pass(disconnectSteps...)
	if got := strings.Join(w.dv.writes, ","); got != "DeleteNavConnection" || !res.isDone() {
		t.Errorf("disabling wrote %q and ended %+v", got, res)
	}
	if c := w.condition(salesv1alpha1.ConditionReady); c == nil || c.Status != "True" || c.Reason != string(salesv1alpha1.ReasonDisabled) {
		t.Errorf("Ready = %+v, want True/Disabled", c)
	}
	if ev := strings.Join(w.emitted(), "\n"); !strings.Contains(ev, "Disconnected") {
		t.Errorf("events %q lack Disconnected", ev)
	}
}

func TestCleanupFollowsTheDeletionPolicy(t *testing.T) {
	cases := []struct {
		name       string
		policy     salesv1alpha1.DeletionPolicy
		submitted  bool
		wantWrites string
		wantEnd    salesv1alpha1.Reason
	}{
		{name: "Disconnect removes the link only", policy: salesv1alpha1.DeletionPolicyDisconnect, wantWrites: "DeleteNavConnection"},
		{name: "Deprovision also takes back the roles it gave and turns the flag off", policy: salesv1alpha1.DeletionPolicyDeprovision,
			wantWrites: "DeleteNavConnection,DisassociateRole,SetSOPIntegration"},
		{name: "Deprovision waits for submitted orders", policy: salesv1alpha1.DeletionPolicyDeprovision, submitted: true,
			wantWrites: "DeleteNavConnection,DisassociateRole", wantEnd: salesv1alpha1.ReasonSubmittedOrdersExist},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newStepWorld(t)
			w.s.obj.Spec.DeletionPolicy = tc.policy
			now := metav1.Now()
			w.s.obj.DeletionTimestamp = &now
			w.dv.links = []dataverse.NavConnection{{ID: "r", Name: "CRONUS USA, Inc.", URL: linkURL(w.s.obj.Spec.BusinessCentral.WebClientURL, "CRONUS USA, Inc.")}}
			w.dv.org.SOPIntegrationEnabled = true
			w.dv.submittedOrders = tc.submitted
			w.dv.userRoles = w.dv.roles
			w.s.obj.Status.IntegrationUser = &salesv1alpha1.IntegrationUserStatus{ID: fakeUserID, Name: "svc"}
			w.s.obj.Status.AssignedRoles = []salesv1alpha1.RoleStatus{
				{ID: w.dv.roles[0].ID, Name: w.dv.roles[0].Name, Managed: true},
				{ID: w.dv.roles[1].ID, Name: w.dv.roles[1].Name}, // held before the operator came
			}
			res := w.run(cleanupSteps...)
			if got := strings.Join(w.dv.writes, ","); got != tc.wantWrites {
				t.Errorf("writes = %s, want %s", got, tc.wantWrites)
			}
			if end, _ := res.summary(); (res.isDone() && tc.wantEnd != "") || (!res.isDone() && end != tc.wantEnd) {
				t.Errorf("ended %+v, want %q", res.failure, tc.wantEnd)
			}
		})
	}
}

func TestASteadyPassReadsOnlyWhatCanDrift(t *testing.T) {
	w := newStepWorld(t, packageConfigMap(t, "25.0.1.0"))
	w.s.integrationKey = "erp|contoso|fingerprint"
	if res := w.pass(connectPass()...); !res.isDone() {
		t.Fatalf("first pass: %+v", res)
	}
	w.again()
	w.pass(connectPass()...)
	if got := strings.Join(w.dv.calls, ","); got != "GetSystemUser,GetSolution,FindNavConnection,GetOrganization" {
		t.Errorf("a steady pass made %s", got)
	}
	// Drift is still seen: a role taken away is given back on that pass.
	w.again()
	w.dv.userRoles = w.dv.userRoles[:1]
	w.pass(connectPass()...)
	if got := strings.Join(w.dv.writes, ","); got != "AssociateRole" {
		t.Errorf("a removed role: writes %q", got)
	}
	// Test Connection on request asks who the principal is and the version again.
	w.again()
	w.s.obj.Annotations = map[string]string{salesv1alpha1.AnnotationRequestedAt: "now"}
	w.pass(connectPass()...)
	if !slices.Contains(w.dv.calls, "WhoAmI") || !slices.Contains(w.dv.calls, "RetrieveVersion") {
		t.Errorf("a requested Test Connection made %v", w.dv.calls)
	}
}
