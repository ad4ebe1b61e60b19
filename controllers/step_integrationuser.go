package controllers

import (
	"context"
	"fmt"
	"strings"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// observeIntegrationUser prepares a user account that signs in as the integration user
// the way Business Central's setup prepares it with the administrator's connection
// (CDSIntegrationImpl.ConfigureIntegrationSolution): SetUserAsIntegrationUser sets
// isintegrationuser and an accepted invitation (invitestatuscode 4), and
// SetAccessModeToNonInteractive sets accessmode 4, except on premises (AD, IFD), where
// non-interactive users do not exist. Business Central skips both for application users
// and Office365, and so does the operator. Without it a submitted sales order stays
// read-only to the integration user. It also checks the license as Business Central
// does (CheckIntegrationUserPrerequisites): a user that is not non-interactive must be
// licensed.
func (r *Reconciler) observeIntegrationUser(_ context.Context, s *scope) (plan, outcome) {
	typ := s.obj.Spec.Authentication.Type
	if typ != salesv1alpha1.AuthenticationOAuth && typ != salesv1alpha1.AuthenticationIFD {
		return plan{then: conditionAbsent()}, done()
	}
	u := s.user
	name := userName(u)
	var prep dataverse.UserPreparation
	var what []string
	if !u.IsIntegrationUser || u.InviteStatusCode != dataverse.InviteStatusInvitationAccepted {
		prep.IsIntegrationUser, prep.InviteStatusCode = new(true), new(dataverse.InviteStatusInvitationAccepted)
		what = append(what, "integration user with an accepted invitation")
	}
	accessMode := u.AccessMode
	if typ != salesv1alpha1.AuthenticationIFD && u.AccessMode != dataverse.AccessModeNonInteractive {
		prep.AccessMode = new(dataverse.AccessModeNonInteractive)
		accessMode = dataverse.AccessModeNonInteractive
		what = append(what, "non-interactive access mode")
	}
	if !u.IsLicensed && accessMode != dataverse.AccessModeNonInteractive {
		return plan{}, failed(stalledInDataverse(salesv1alpha1.ReasonIntegrationUserNotLicensed,
			"the integration user %s has no license and is not non-interactive: assign it a Dynamics 365 license (Business Central requires one for a user that signs in interactively)", name))
	}
	then := conditionTrue(salesv1alpha1.ReasonPrepared, fmt.Sprintf("%s is prepared as Business Central's integration user", name))
	if len(what) == 0 {
		return plan{then: then}, done()
	}
	if s.admin == nil {
		return plan{}, failed(stalledInDataverse(salesv1alpha1.ReasonIntegrationUserNotPrepared,
			"the integration user %s is not yet %s, as Business Central's setup makes it: add spec.administrator so the operator prepares it, or set it in Dataverse", name, strings.Join(what, " and ")))
	}
	return plan{then: then, changes: []change{{
		what:   fmt.Sprintf("make %s an %s", name, strings.Join(what, " and ")),
		action: "PrepareIntegrationUser",
		repair: name + " made an " + strings.Join(what, " and ") + " again",
		apply: func(ctx context.Context) outcome {
			if err := s.admin.PrepareUser(ctx, u.ID, prep); err != nil {
				return failed(fromDataverse("preparing the integration user", s.adminRef(), err))
			}
			return done()
		},
	}}}, done()
}
