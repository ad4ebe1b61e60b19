package controllers

import (
	"strings"
	"testing"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

func TestRolesStepDecisions(t *testing.T) {
	cases := []struct {
		name          string
		setup         func(w *stepWorld)
		wantEnd       salesv1alpha1.Reason // "" when the step is done
		wantCondition salesv1alpha1.Reason // "" when absent
		wantWrites    int
		wantManaged   bool
	}{
		{name: "both missing: assigned", wantCondition: salesv1alpha1.ReasonAssigned, wantWrites: 2, wantManaged: true},
		{name: "both held: nothing to do", setup: func(w *stepWorld) { w.s.userRoles = w.dv.roles },
			wantCondition: salesv1alpha1.ReasonAssigned},
		{name: "the solution that brings them is not installed", setup: func(w *stepWorld) { w.s.solutionInstalled = false }},
		{name: "no administrator: named, not assigned", setup: func(w *stepWorld) { w.s.admin = nil },
			wantEnd: salesv1alpha1.ReasonRolesNotAssigned, wantCondition: salesv1alpha1.ReasonRolesNotAssigned},
		{name: "a role missing from the business unit", setup: func(w *stepWorld) { w.dv.roles = w.dv.roles[:1] },
			wantEnd: salesv1alpha1.ReasonRoleNotFound, wantCondition: salesv1alpha1.ReasonRoleNotFound},
		{name: "a role named in securityRoles", setup: func(w *stepWorld) {
			w.s.obj.Spec.SecurityRoles = []string{"Integration User"}
			w.s.solutionInstalled = false // a custom role does not need the solution
		}, wantCondition: salesv1alpha1.ReasonAssigned, wantWrites: 1, wantManaged: true},
		{name: "already associated: Dataverse's duplicate answer is success", setup: func(w *stepWorld) {
			w.dv.errs = map[string]error{"AssociateRole": &dataverse.Error{Reason: dataverse.ReasonDuplicate, Kind: dataverse.Terminal}}
		}, wantCondition: salesv1alpha1.ReasonAssigned, wantManaged: true},
		{name: "the administrator lacks the privilege", setup: func(w *stepWorld) {
			w.dv.errs = map[string]error{"AssociateRole": &dataverse.Error{Reason: dataverse.ReasonPrivilegeDenied, Kind: dataverse.Terminal}}
		}, wantEnd: salesv1alpha1.ReasonInsufficientPrivilege, wantCondition: salesv1alpha1.ReasonInsufficientPrivilege},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newStepWorld(t).connected()
			w.s.solutionInstalled = true
			if tc.setup != nil {
				tc.setup(w)
			}
			res := w.run(stepNamed("roles"))
			setSummary(w.s.obj, res)
			if end, _ := res.summary(); (res.isDone() && tc.wantEnd != "") || (!res.isDone() && end != tc.wantEnd) {
				t.Errorf("ended %+v, want %q", res.failure, tc.wantEnd)
			}
			c := w.condition(salesv1alpha1.ConditionRolesAssigned)
			if (tc.wantCondition == "") != (c == nil) || (c != nil && c.Reason != string(tc.wantCondition)) {
				t.Errorf("RolesAssigned = %+v, want %q", c, tc.wantCondition)
			}
			if len(w.dv.writes) != tc.wantWrites {
				t.Errorf("writes = %v, want %d", w.dv.writes, tc.wantWrites)
			}
			managed := false
			for _, r := range w.s.obj.Status.AssignedRoles {
				managed = managed || r.Managed
			}
			if managed != tc.wantManaged {
				t.Errorf("assignedRoles = %+v, want managed=%v", w.s.obj.Status.AssignedRoles, tc.wantManaged)
			}
		})
	}
}

func TestRolesNotAssignedNamesTheRolesAndTheField(t *testing.T) {
	w := newStepWorld(t).connected()
	w.s.solutionInstalled, w.s.admin = true, nil
	f := w.run(stepNamed("roles")).failure
	for _, want := range []string{"Integration Administrator", "Integration User", "spec.administrator"} {
		if f == nil || !strings.Contains(f.message, want) {
			t.Errorf("failure %+v lacks %q", f, want)
		}
	}
	if f != nil && f.watched {
		t.Error("a role is given in Dataverse, where no watch reaches: re-check at the resync")
	}
}
