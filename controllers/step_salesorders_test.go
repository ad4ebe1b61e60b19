package controllers

import (
	"fmt"
	"strings"
	"testing"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

func TestSalesOrderStepDecisions(t *testing.T) {
	cases := []struct {
		name          string
		want, have    bool
		submitted     bool
		noAdmin       bool
		noSolution    bool
		wantEnd       salesv1alpha1.Reason
		wantCondition salesv1alpha1.Reason
		wantWrites    string
	}{
		{name: "off in Dataverse, on in the spec: turned on", want: true, wantCondition: salesv1alpha1.ReasonConfigured, wantWrites: "SetSOPIntegration"},
		{name: "as the spec asks", want: true, have: true, wantCondition: salesv1alpha1.ReasonConfigured},
		{name: "turned off when nothing is submitted", have: true, wantCondition: salesv1alpha1.ReasonConfigured, wantWrites: "SetSOPIntegration"},
		{name: "not turned off while an order is submitted", have: true, submitted: true,
			wantEnd: salesv1alpha1.ReasonSubmittedOrdersExist, wantCondition: salesv1alpha1.ReasonSubmittedOrdersExist},
		{name: "no administrator and the flag differs: reported, not changed", have: true, noAdmin: true,
			wantEnd: salesv1alpha1.ReasonConfigurationDiffers, wantCondition: salesv1alpha1.ReasonConfigurationDiffers},
		{name: "no administrator and the flag as the spec says", noAdmin: true, wantCondition: salesv1alpha1.ReasonConfigured},
		{name: "turned on only once the solution is installed", want: true, noSolution: true,
			wantEnd: salesv1alpha1.ReasonSolutionNotImported, wantCondition: salesv1alpha1.ReasonSolutionNotImported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newStepWorld(t)
			w.s.obj.Spec.SalesOrderIntegration.Enabled = tc.want
			w.dv.org.SOPIntegrationEnabled = tc.have
			w.dv.submittedOrders = tc.submitted
			w.s.solutionInstalled = !tc.noSolution
			if tc.noAdmin {
				w.s.admin = nil
			}
			res := w.run(stepNamed("salesOrders"))
			setSummary(w.s.obj, res)
			if end, _ := res.summary(); (res.isDone() && tc.wantEnd != "") || (!res.isDone() && end != tc.wantEnd) {
				t.Errorf("ended %+v, want %q", res.failure, tc.wantEnd)
			}
			c := w.condition(salesv1alpha1.ConditionSalesOrderIntegrationConfigured)
			if (tc.wantCondition == "") != (c == nil) || (c != nil && c.Reason != string(tc.wantCondition)) {
				t.Errorf("SalesOrderIntegrationConfigured = %+v, want %q", c, tc.wantCondition)
			}
			if got := strings.Join(w.dv.writes, ","); got != tc.wantWrites {
				t.Errorf("writes = %q, want %q", got, tc.wantWrites)
			}
		})
	}
}

func TestUserMappingDecisions(t *testing.T) {
	users := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("user%d@contoso.com", i)
		}
		return out
	}
	cases := []struct {
		name          string
		listed        []string
		enabled       []string
		disabled      []string
		required      bool
		wantEnd       salesv1alpha1.Reason
		wantCondition salesv1alpha1.Reason
		wantUnmapped  int
	}{
		{name: "everyone has an enabled user", listed: []string{"Alice@contoso.com"}, enabled: []string{"alice@contoso.com"},
			wantCondition: salesv1alpha1.ReasonAllUsersMapped},
		{name: "a disabled user does not count; informational", listed: []string{"alice@contoso.com", "bob@contoso.com"},
			enabled: []string{"alice@contoso.com"}, disabled: []string{"bob@contoso.com"},
			wantCondition: salesv1alpha1.ReasonUnmappedUsers, wantUnmapped: 1},
		{name: "required: stalls", listed: []string{"bob@contoso.com"}, required: true,
			wantEnd: salesv1alpha1.ReasonUnmappedUsers, wantCondition: salesv1alpha1.ReasonUnmappedUsers, wantUnmapped: 1},
		{name: "the unmapped list is bounded, the count is not", listed: users(120),
			wantCondition: salesv1alpha1.ReasonUnmappedUsers, wantUnmapped: maxUnmappedShown},
		{name: "no users listed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newStepWorld(t)
			if tc.listed != nil {
				w.s.obj.Spec.UserMapping = &salesv1alpha1.UserMapping{Users: tc.listed, Required: tc.required}
			}
			for _, e := range tc.enabled {
				w.dv.users = append(w.dv.users, dataverse.SystemUser{InternalEmailAddress: e})
			}
			for _, e := range tc.disabled {
				w.dv.users = append(w.dv.users, dataverse.SystemUser{InternalEmailAddress: e, IsDisabled: true})
			}
			res := w.run(stepNamed("userMapping"))
			setSummary(w.s.obj, res)
			if end, _ := res.summary(); (res.isDone() && tc.wantEnd != "") || (!res.isDone() && end != tc.wantEnd) {
				t.Errorf("ended %+v, want %q", res.failure, tc.wantEnd)
			}
			c := w.condition(salesv1alpha1.ConditionUsersMapped)
			if (tc.wantCondition == "") != (c == nil) || (c != nil && c.Reason != string(tc.wantCondition)) {
				t.Errorf("UsersMapped = %+v, want %q", c, tc.wantCondition)
			}
			if um := w.s.obj.Status.UserMapping; um != nil && (len(um.Unmapped) != tc.wantUnmapped || int(um.Total) != len(tc.listed)) {
				t.Errorf("status.userMapping = %d unmapped shown of %d, want %d of %d", len(um.Unmapped), um.Total, tc.wantUnmapped, len(tc.listed))
			}
			if len(w.dv.writes) != 0 {
				t.Errorf("user mapping wrote %v", w.dv.writes)
			}
		})
	}
}
