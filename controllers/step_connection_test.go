package controllers

import (
	"strings"
	"testing"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

func TestTestConnectionDecisions(t *testing.T) {
	sysAdmin := dataverse.Role{ID: "30000000-0000-0000-0000-000000000001", Name: "System Administrator", RoleTemplateID: systemAdministratorTemplate}
	cases := []struct {
		name  string
		setup func(w *stepWorld)
		// want is the reason the step ends with; "" means Verified.
		want     salesv1alpha1.Reason
		terminal bool
		watched  bool
		says     string
	}{
		{name: "verified", says: "as svc-bc@contoso.com"},
		{name: "sdkVersion older than an on-premises server", setup: func(w *stepWorld) {
			w.s.obj.Spec.SDKVersion, w.s.envURL = "9.1", "https://crm.contoso.local/Contoso"
		}, want: salesv1alpha1.ReasonVersionIncompatible, terminal: true, watched: true, says: "set sdkVersion to 9.2"},
		{name: "sdkVersion informational for an online server", setup: func(w *stepWorld) { w.s.obj.Spec.SDKVersion = "91" },
			says: "as svc-bc@contoso.com"},
		{name: "user disabled, as Dataverse answers every request", setup: func(w *stepWorld) {
			w.dv.errs = map[string]error{"WhoAmI": &dataverse.Error{Reason: dataverse.ReasonBadRequest, Kind: dataverse.Terminal, Code: codeUserDisabled}}
		}, want: salesv1alpha1.ReasonUserDisabled, terminal: true, says: "enable it"},
		{name: "user disabled, as its record says", setup: func(w *stepWorld) { w.dv.user.IsDisabled = true },
			want: salesv1alpha1.ReasonUserDisabled, terminal: true, says: "svc-bc@contoso.com is disabled"},
		{name: "user is a System Administrator", setup: func(w *stepWorld) { w.dv.userRoles = []dataverse.Role{sysAdmin} },
			want: salesv1alpha1.ReasonUserIsSysAdmin, terminal: true, says: "remove the role"},
		{name: "credentials refused", setup: func(w *stepWorld) {
			w.dv.errs = map[string]error{"WhoAmI": &dataverse.Error{Reason: dataverse.ReasonAuthenticationFailed, Kind: dataverse.Terminal}}
		}, want: salesv1alpha1.ReasonAuthenticationFailed, terminal: true, watched: true, says: "Secret erp/integration"},
		{name: "server down", setup: func(w *stepWorld) {
			w.dv.errs = map[string]error{"RetrieveVersion": &dataverse.Error{Reason: dataverse.ReasonServerError, Kind: dataverse.Transient}}
		}, want: salesv1alpha1.ReasonDataverseError, says: "retrying"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newStepWorld(t)
			if tc.setup != nil {
				tc.setup(w)
			}
			res := w.run(stepNamed("connection"))
			if len(w.dv.writes) != 0 {
				t.Errorf("Test Connection wrote %v", w.dv.writes)
			}
			if tc.want == "" {
				c := w.condition(salesv1alpha1.ConditionConnectionVerified)
				if !res.isDone() || c == nil || c.Status != "True" || !strings.Contains(c.Message, tc.says) {
					t.Fatalf("result %+v, condition %+v; want Verified saying %q", res.failure, c, tc.says)
				}
				if w.s.obj.Status.LastVerifiedTime == nil || w.s.obj.Status.IntegrationUser.BusinessUnitID != fakeBU {
					t.Errorf("status = %+v", w.s.obj.Status)
				}
				return
			}
			f := res.failure
			if f == nil || f.reason != tc.want || f.terminal != tc.terminal || f.watched != tc.watched || !strings.Contains(f.message, tc.says) {
				t.Fatalf("failure = %+v; want %s (terminal %v, watched %v) saying %q", f, tc.want, tc.terminal, tc.watched, tc.says)
			}
			if res.condition != salesv1alpha1.ConditionConnectionVerified {
				t.Errorf("reported on %s", res.condition)
			}
		})
	}
}

func TestLastVerifiedTimeMovesOnlyOnANewVerification(t *testing.T) {
	w := newStepWorld(t)
	w.pass(stepNamed("connection"))
	first := w.s.obj.Status.LastVerifiedTime
	w.again()
	w.s.obj.Status.LastVerifiedTime = first.DeepCopy()
	w.pass(stepNamed("connection"))
	if !w.s.obj.Status.LastVerifiedTime.Equal(first) {
		t.Error("a resync moved lastVerifiedTime: every resync would write status")
	}
	w.again()
	w.s.obj.Annotations = map[string]string{salesv1alpha1.AnnotationRequestedAt: "now"}
	before := w.s.obj.Status.LastVerifiedTime
	w.s.obj.Status.LastVerifiedTime = nil
	w.pass(stepNamed("connection"))
	if w.s.obj.Status.LastVerifiedTime == nil || before == nil {
		t.Error("a requested Test Connection did not record when it verified")
	}
}
