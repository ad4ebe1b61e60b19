package controllers

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// Anyone who may edit a SalesConnection may write its annotations, and anyone who may
// write its status subresource its status. Neither is trusted: garbage there never
// panics, never makes a pass Ready that is not, and never makes the operator write to
// Dataverse what it would not have written without it.

func TestGarbageImportRecordsAreNotTrusted(t *testing.T) {
	garbage := map[string]string{
		"not JSON":                  "{{{",
		"too large":                 `{"asyncOperationID":"` + strings.Repeat("a", 8<<10) + `"}`,
		"an id that is not a GUID":  `{"asyncOperationID":"../../organizations","uniqueName":"MicrosoftDynamicsNavIntegration","version":"25.0.1.0"}`,
		"a version that is not one": `{"asyncOperationID":"` + opID + `","uniqueName":"MicrosoftDynamicsNavIntegration","version":"latest"}`,
		"a failure with a forged reason": `{"asyncOperationID":"` + opID + `","uniqueName":"MicrosoftDynamicsNavIntegration","version":"25.0.1.0",` +
			`"failed":true,"reason":"Ready","message":"all good"}`,
		"a record of another solution":         `{"asyncOperationID":"` + opID + `","uniqueName":"Contoso","version":"25.0.1.0","failed":true,"reason":"ImportFailed","message":"x"}`,
		"a running import that does not exist": `{"asyncOperationID":"` + opID + `","uniqueName":"MicrosoftDynamicsNavIntegration","version":"25.0.1.0"}`,
	}
	for name, raw := range garbage {
		t.Run(name, func(t *testing.T) {
			// The solution is installed at the package's version: nothing to import.
			w := newStepWorld(t, packageConfigMap(t, "25.0.1.0"))
			w.s.obj.Annotations = map[string]string{salesv1alpha1.AnnotationImportJob: raw}
			res := w.pass(stepNamed("solution"))
			if !res.isDone() || len(w.dv.writes) != 0 {
				t.Fatalf("ended %+v with writes %v; want the installed solution reported, nothing written", res.failure, w.dv.writes)
			}
			if c := w.condition(salesv1alpha1.ConditionSolutionImported); c == nil || c.Reason != string(salesv1alpha1.ReasonImported) {
				t.Errorf("SolutionImported = %+v", c)
			}
			if _, ok := w.s.obj.Annotations[salesv1alpha1.AnnotationImportJob]; ok {
				t.Error("the garbage record is kept")
			}
		})
	}
}

func TestForgedStatusIsNotTrusted(t *testing.T) {
	t.Run("a Ready status does not survive a failing pass", func(t *testing.T) {
		w := newStepWorld(t)
		forged := []metav1.Condition{
			{Type: string(salesv1alpha1.ConditionReady), Status: "True", Reason: "Ready", ObservedGeneration: 1},
			{Type: string(salesv1alpha1.ConditionConnectionVerified), Status: "True", Reason: "Verified", ObservedGeneration: 1},
			{Type: string(salesv1alpha1.ConditionSolutionImported), Status: "False", Reason: "ImportInProgress", ObservedGeneration: 1},
		}
		w.s.obj.Status.Conditions, w.s.before.Conditions = forged, forged
		w.dv.errs = map[string]error{"GetSolution": &dataverse.Error{Reason: dataverse.ReasonServerError, Kind: dataverse.Transient}}
		w.pass(connectSteps...)
		if c := w.condition(salesv1alpha1.ConditionReady); c.Status != "False" {
			t.Errorf("Ready = %+v after a failing pass", c)
		}
	})
	t.Run("Deprovision takes back only required roles it assigned", func(t *testing.T) {
		w := newStepWorld(t)
		now := metav1.Now()
		w.s.obj.DeletionTimestamp = &now
		w.s.obj.Spec.DeletionPolicy = salesv1alpha1.DeletionPolicyDeprovision
		w.s.obj.Spec.SalesOrderIntegration = nil
		w.s.obj.Spec.BusinessCentral = nil
		// A status written by someone else: a role the spec does not require, a user
		// that is not the integration user.
		w.s.obj.Status.IntegrationUser = &salesv1alpha1.IntegrationUserStatus{ID: "50000000-0000-0000-0000-000000000001"}
		w.s.obj.Status.AssignedRoles = []salesv1alpha1.RoleStatus{
			{ID: "60000000-0000-0000-0000-000000000001", Name: "Salesperson", Managed: true},
			{ID: w.dv.roles[1].ID, Name: "Integration User", Managed: true},
		}
		rec := &recordingDataverse{fakeDataverse: w.dv}
		w.s.admin = rec
		if res := w.run(cleanupSteps...); !res.isDone() {
			t.Fatalf("cleanup: %+v", res.failure)
		}
		if got := strings.Join(rec.disassociated, ","); got != fakeUserID+"/"+w.dv.roles[1].ID {
			t.Errorf("disassociated %q; want only Integration User, from the user the credentials sign in as", got)
		}
	})
}

// recordingDataverse records whose roles are taken away.
type recordingDataverse struct {
	*fakeDataverse
	disassociated []string
}

func (r *recordingDataverse) DisassociateRole(ctx context.Context, userID, roleID string) error {
	r.disassociated = append(r.disassociated, userID+"/"+roleID)
	return r.fakeDataverse.DisassociateRole(ctx, userID, roleID)
}

func TestSecurityRolesNeverGrantSystemAdministrator(t *testing.T) {
	w := newStepWorld(t).connected()
	// Named anything: the role template tells.
	w.dv.roles = append(w.dv.roles, dataverse.Role{ID: "70000000-0000-0000-0000-000000000001", Name: "Helpdesk",
		BusinessUnitID: fakeBU, RoleTemplateID: systemAdministratorTemplate})
	w.s.obj.Spec.SecurityRoles = []string{"Integration User", "Helpdesk"}
	res := w.pass(stepNamed("roles"))
	if f := res.failure; f == nil || f.reason != salesv1alpha1.ReasonRoleNotAllowed || !strings.Contains(f.message, "spec.securityRoles") {
		t.Fatalf("failure %+v, want RoleNotAllowed naming spec.securityRoles", f)
	}
	if len(w.dv.writes) != 0 {
		t.Errorf("roles given before the check: %v", w.dv.writes)
	}
}

func TestOnlyTheIntegrationSolutionIsImported(t *testing.T) {
	w := newStepWorld(t, packageConfigMap(t, "25.0.1.0"))
	w.r.AllowedSolutions = []string{"SomethingElse"}
	f := w.run(stepNamed("solution")).failure
	if f == nil || f.reason != salesv1alpha1.ReasonInvalidPackage || !strings.Contains(f.message, "--allowed-solutions") {
		t.Fatalf("failure %+v, want InvalidPackage naming --allowed-solutions", f)
	}
	if len(w.dv.calls) != 0 {
		t.Errorf("Dataverse was called for a refused package: %v", w.dv.calls)
	}
}

func TestAPanicIsNeverReady(t *testing.T) {
	w := newStepWorld(t)
	w.s.obj.Status.Conditions = []metav1.Condition{{Type: string(salesv1alpha1.ConditionReady), Status: "True", Reason: "Ready", ObservedGeneration: 1}}
	before := testutil.ToFloat64(reconcilePanics)
	boom := step{name: "boom", condition: salesv1alpha1.ConditionRolesAssigned, observe: func(*Reconciler, context.Context, *scope) (plan, outcome) {
		panic("a bug in a step")
	}}
	res := w.pass(stepNamed("connection"), boom, stepNamed("link"))
	if f := res.failure; f == nil || f.reason != salesv1alpha1.ReasonInternalError || f.terminal {
		t.Fatalf("result %+v, want a retried InternalError", f)
	}
	if c := w.condition(salesv1alpha1.ConditionReady); c.Status != "False" || c.Reason != string(salesv1alpha1.ReasonInternalError) {
		t.Errorf("Ready = %+v", c)
	}
	if got := testutil.ToFloat64(reconcilePanics) - before; got != 1 {
		t.Errorf("panics counted %v times", got)
	}
	if len(w.dv.calls) == 0 || w.dv.calls[len(w.dv.calls)-1] == "FindNavConnection" {
		t.Errorf("steps after the panic ran: %v", w.dv.calls)
	}

	// The end of the pass, as Reconcile runs it: status, then the Warning event for
	// kubectl describe, then a retry with backoff. The panic value goes to the log only.
	key := client.ObjectKeyFromObject(w.s.obj)
	t.Cleanup(func() { forgetObject(key) }) // the Ready metric of the status write
	w.r.Client = &statusKube{memKube: w.kube}
	w.kube.objects[key] = w.s.obj.DeepCopy()
	if _, err := w.r.finish(context.Background(), w.s, res); err == nil {
		t.Error("the pass that panicked is not retried with backoff (finish returned no error)")
	}
	ev := w.emitted()
	var warnings []string
	for _, e := range ev {
		if strings.HasPrefix(e, "Warning ") {
			warnings = append(warnings, e)
		}
	}
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "Warning InternalError ") || !strings.Contains(warnings[0], "step boom") {
		t.Errorf("events %q, want one Warning, InternalError, naming step boom", ev)
	}
	if joined := strings.Join(ev, "\n"); strings.Contains(joined, "a bug in a step") {
		t.Errorf("the panic value is in an event: %q", joined)
	}
}

func TestBoundedTextCutsCharactersNotBytes(t *testing.T) {
	cases := map[string]struct {
		in   string
		max  int
		want string
	}{
		"short":              {"9.2.1", 64, "9.2.1"},
		"cut":                {"abcdef", 3, "abc..."},
		"multi-byte":         {"ééééé", 2, "éé..."},
		"control characters": {"a\x00b\x1bc\nd", 10, "abc d"},
		"invalid UTF-8":      {"a\xffb", 10, "ab"},
	}
	for name, tc := range cases {
		if got := boundedText(tc.in, tc.max); got != tc.want {
			t.Errorf("%s: boundedText(%q, %d) = %q, want %q", name, tc.in, tc.max, got, tc.want)
		}
	}
}

// TestAPanicValueIsRedacted: a panic whose value holds a secret the pass read (a client
// secret, a key) reaches the log without it.
func TestAPanicValueIsRedacted(t *testing.T) {
	const clientSecret = "Panic-S3cret-Never-Logged"
	w := newStepWorld(t)
	var logged bytes.Buffer
	w.s.log = zap.New(zap.WriteTo(&logged))
	w.s.secrets.cache = map[string]*corev1.Secret{"integration": {Data: map[string][]byte{"clientSecret": []byte(clientSecret)}}}
	boom := step{name: "boom", condition: salesv1alpha1.ConditionRolesAssigned, observe: func(*Reconciler, context.Context, *scope) (plan, outcome) {
		panic(fmt.Sprintf("request failed: client_id=x&client_secret=%s&scope=y (secret %s)", clientSecret, clientSecret))
	}}
	w.pass(stepNamed("connection"), boom)
	if !strings.Contains(logged.String(), "a step panicked") {
		t.Fatalf("the panic was not logged:\n%s", logged.String())
	}
	if strings.Contains(logged.String(), clientSecret) {
		t.Errorf("the log holds the client secret from the panic value:\n%s", logged.String())
	}
}
