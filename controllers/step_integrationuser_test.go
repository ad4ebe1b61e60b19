package controllers

import (
	"strings"
	"testing"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

func TestIntegrationUserIsPreparedAsBusinessCentralPreparesIt(t *testing.T) {
	cases := []struct {
		name          string
		auth          salesv1alpha1.AuthenticationType
		user          func(u *dataverse.SystemUser)
		noAdmin       bool
		wantEnd       salesv1alpha1.Reason
		wantCondition salesv1alpha1.Reason // "" when absent
		wantUser      dataverse.SystemUser
	}{
		{name: "an application user is not prepared, as in Business Central", auth: salesv1alpha1.AuthenticationClientSecret},
		{name: "Office365 is not prepared, as in Business Central", auth: salesv1alpha1.AuthenticationOffice365},
		{name: "a password user: integration user, invitation accepted, non-interactive", auth: salesv1alpha1.AuthenticationOAuth,
			wantCondition: salesv1alpha1.ReasonPrepared,
			wantUser:      dataverse.SystemUser{IsIntegrationUser: true, InviteStatusCode: 4, AccessMode: 4}},
		{name: "on premises (IFD) stays interactive, and needs a license", auth: salesv1alpha1.AuthenticationIFD,
			user:          func(u *dataverse.SystemUser) { u.IsLicensed = true },
			wantCondition: salesv1alpha1.ReasonPrepared,
			wantUser:      dataverse.SystemUser{IsIntegrationUser: true, InviteStatusCode: 4, AccessMode: 0, IsLicensed: true}},
		{name: "on premises without a license", auth: salesv1alpha1.AuthenticationIFD,
			wantEnd: salesv1alpha1.ReasonIntegrationUserNotLicensed, wantCondition: salesv1alpha1.ReasonIntegrationUserNotLicensed},
		{name: "prepared already: nothing written", auth: salesv1alpha1.AuthenticationOAuth,
			user:          func(u *dataverse.SystemUser) { u.IsIntegrationUser, u.InviteStatusCode, u.AccessMode = true, 4, 4 },
			wantCondition: salesv1alpha1.ReasonPrepared,
			wantUser:      dataverse.SystemUser{IsIntegrationUser: true, InviteStatusCode: 4, AccessMode: 4}},
		{name: "not prepared and no administrator", auth: salesv1alpha1.AuthenticationOAuth, noAdmin: true,
			wantEnd: salesv1alpha1.ReasonIntegrationUserNotPrepared, wantCondition: salesv1alpha1.ReasonIntegrationUserNotPrepared},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newStepWorld(t)
			w.s.obj.Spec.Authentication.Type = tc.auth
			if tc.user != nil {
				tc.user(&w.dv.user)
			}
			w.connected()
			if tc.noAdmin {
				w.s.admin = nil
			}
			res := w.pass(stepNamed("integrationUser"))
			if end, _ := res.summary(); (res.isDone() && tc.wantEnd != "") || (!res.isDone() && end != tc.wantEnd) {
				t.Errorf("ended %+v, want %q", res.failure, tc.wantEnd)
			}
			c := w.condition(salesv1alpha1.ConditionIntegrationUserPrepared)
			if (tc.wantCondition == "") != (c == nil) || (c != nil && c.Reason != string(tc.wantCondition)) {
				t.Errorf("IntegrationUserPrepared = %+v, want %q", c, tc.wantCondition)
			}
			u := w.dv.user
			if tc.wantCondition == salesv1alpha1.ReasonPrepared &&
				(u.IsIntegrationUser != tc.wantUser.IsIntegrationUser || u.InviteStatusCode != tc.wantUser.InviteStatusCode || u.AccessMode != tc.wantUser.AccessMode) {
				t.Errorf("user = %+v, want %+v", u, tc.wantUser)
			}
			if tc.wantCondition == "" && len(w.dv.writes) != 0 {
				t.Errorf("an unprepared type wrote %v", w.dv.writes)
			}
		})
	}
}

func TestPreparationDriftIsPutBack(t *testing.T) {
	w := newStepWorld(t)
	w.s.obj.Spec.Authentication.Type = salesv1alpha1.AuthenticationOAuth
	w.connected()
	w.pass(stepNamed("integrationUser"))
	w.again()
	w.emitted()
	w.dv.user.AccessMode = 0 // changed by hand
	w.connected()
	w.pass(stepNamed("integrationUser"))
	if got := strings.Join(w.dv.writes, ","); got != "PrepareUser" || w.dv.user.AccessMode != 4 {
		t.Errorf("writes %q, access mode %d", got, w.dv.user.AccessMode)
	}
	if ev := strings.Join(w.emitted(), "\n"); !strings.Contains(ev, "DriftCorrected") {
		t.Errorf("events %q lack DriftCorrected", ev)
	}
}
