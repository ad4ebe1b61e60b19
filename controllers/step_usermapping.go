package controllers

import (
	"context"
	"fmt"
	"strings"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// maxUnmappedShown bounds status.userMapping.unmapped; the count is always complete.
const maxUnmappedShown = 50

// checkUserMapping reports which listed Business Central users have an enabled
// Dataverse user, matched as Business Central matches them
// (CRMConnectionSetup.TryGetSystemUserId): by domain name with AD and IFD sign-in, by
// email otherwise. It only reads.
func (r *Reconciler) checkUserMapping(ctx context.Context, s *scope) (plan, outcome) {
	um := s.obj.Spec.UserMapping
	if um == nil || len(um.Users) == 0 {
		s.obj.Status.UserMapping = nil
		return plan{then: conditionAbsent()}, done()
	}
	byDomainName := s.obj.Spec.Authentication.Type == salesv1alpha1.AuthenticationAD || s.obj.Spec.Authentication.Type == salesv1alpha1.AuthenticationIFD
	find, key := s.integration.FindUsersByEmail, func(u dataverse.SystemUser) string { return u.InternalEmailAddress }
	if byDomainName {
		find, key = s.integration.FindUsersByDomainName, func(u dataverse.SystemUser) string { return u.DomainName }
	}
	found, err := find(ctx, um.Users)
	if err != nil {
		return plan{}, failed(fromDataverse("looking up the mapped users", s.integrationRef(), err))
	}
	mapped := map[string]bool{}
	for _, u := range found {
		if !u.IsDisabled {
			mapped[strings.ToLower(key(u))] = true
		}
	}
	status := &salesv1alpha1.UserMappingStatus{Total: int32(len(um.Users))}
	var unmapped []string
	for _, email := range um.Users {
		if mapped[strings.ToLower(email)] {
			status.Mapped++
			continue
		}
		unmapped = append(unmapped, email)
	}
	if len(unmapped) > maxUnmappedShown {
		status.Unmapped = unmapped[:maxUnmappedShown]
	} else {
		status.Unmapped = unmapped
	}
	s.obj.Status.UserMapping = status
	if len(unmapped) == 0 {
		return plan{then: conditionTrue(salesv1alpha1.ReasonAllUsersMapped, fmt.Sprintf("all %d users have an enabled Dataverse user", status.Total))}, done()
	}
	msg := fmt.Sprintf("%d of %d users have no enabled Dataverse user with that email or domain name (see status.userMapping.unmapped): add or enable them in Dataverse",
		len(unmapped), status.Total)
	if um.Required {
		return plan{}, failed(stalledInDataverse(salesv1alpha1.ReasonUnmappedUsers, "%s", msg))
	}
	return plan{then: conditionFalse(salesv1alpha1.ReasonUnmappedUsers, msg+"; informational, since userMapping.required is false")}, done()
}
