package controllers

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// The integration solution's roles have the same root role ids in every environment.
const (
	integrationAdministratorRoleID = "8c8d4f51-a72b-e511-80d9-3863bb349780"
	integrationUserRoleID          = "6f960e32-a72b-e511-80d9-3863bb349780"
)

var defaultRoles = []roleRef{
	{rootID: integrationAdministratorRoleID, label: "Integration Administrator"},
	{rootID: integrationUserRoleID, label: "Integration User"},
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// roleRef is a role the integration user needs: by root role id or by name.
type roleRef struct {
	rootID, name, label string
}

func requiredRoles(spec *salesv1alpha1.SalesConnectionSpec) []roleRef {
	if len(spec.SecurityRoles) == 0 {
		return defaultRoles
	}
	refs := make([]roleRef, 0, len(spec.SecurityRoles))
	for _, r := range spec.SecurityRoles {
		if guidPattern.MatchString(r) {
			refs = append(refs, roleRef{rootID: strings.ToLower(r), label: r})
		} else {
			refs = append(refs, roleRef{name: r, label: r})
		}
	}
	return refs
}

// observeRoles finds every required role in the integration user's own business unit
// (roles are copied into each business unit, and a role can be given only to users of its
// business unit) and plans to give the user those it lacks.
func (r *Reconciler) observeRoles(ctx context.Context, s *scope) (plan, outcome) {
	custom := len(s.obj.Spec.SecurityRoles) > 0
	if !custom && !s.solutionInstalled {
		// Like Business Central: the integration roles are required only once the
		// solution that brings them is installed.
		s.obj.Status.AssignedRoles = nil
		return plan{then: conditionAbsent()}, done()
	}
	// Reading roles of the business unit works for the integration user too; the
	// administrator is used when there is one, since it will write.
	reader, principal := s.integration, s.integrationRef()
	if s.admin != nil {
		reader, principal = s.admin, s.adminRef()
	}
	held := map[string]bool{}
	for _, role := range s.userRoles {
		held[strings.ToLower(role.ID)] = true
	}
	managed := map[string]bool{}
	for _, role := range s.before.AssignedRoles {
		managed[strings.ToLower(role.ID)] = role.Managed
	}

	type missingRole struct {
		ref  roleRef
		role dataverse.Role
	}
	var missing []missingRole
	var statuses []salesv1alpha1.RoleStatus
	for _, ref := range requiredRoles(&s.obj.Spec) {
		role, err := r.findRoleCached(ctx, reader, s.envURL, ref, s.whoAmI.BusinessUnitID)
		if dataverse.IsNotFound(err) {
			return plan{}, failed(stalledInDataverse(salesv1alpha1.ReasonRoleNotFound,
				"security role %s does not exist in the integration user's business unit: check spec.securityRoles or import the integration solution", ref.label))
		}
		if err != nil {
			return plan{}, failed(fromDataverse("looking up security role "+ref.label, principal, err))
		}
		if strings.EqualFold(role.RoleTemplateID, systemAdministratorTemplate) {
			// Checked by template, whatever the role is called, before any role is given.
			return plan{}, failed(stalledOnSpec(salesv1alpha1.ReasonRoleNotAllowed,
				"security role %s is System Administrator, which the operator never grants (and Business Central refuses for the integration user): remove it from spec.securityRoles", ref.label))
		}
		role.Name = boundedText(role.Name, maxNameLength)
		id := strings.ToLower(role.ID)
		statuses = append(statuses, salesv1alpha1.RoleStatus{ID: id, Name: role.Name, Managed: managed[id]})
		if !held[id] {
			missing = append(missing, missingRole{ref: ref, role: role})
		}
	}
	s.obj.Status.AssignedRoles = statuses
	then := conditionTrue(salesv1alpha1.ReasonAssigned, fmt.Sprintf("%s holds %s", userName(s.user), roleNames(statuses)))
	if len(missing) == 0 {
		return plan{then: then}, done()
	}
	if s.admin == nil {
		names := make([]string, len(missing))
		for i, m := range missing {
			names[i] = m.role.Name
		}
		return plan{}, failed(stalledInDataverse(salesv1alpha1.ReasonRolesNotAssigned,
			"the integration user %s lacks %s: assign them in Dataverse, or add spec.administrator so the operator can", userName(s.user), strings.Join(names, ", ")))
	}
	p := plan{then: then}
	for _, m := range missing {
		role, ref := m.role, m.ref
		p.changes = append(p.changes, change{
			what:   fmt.Sprintf("assign security role %s to %s", role.Name, userName(s.user)),
			action: "AssignRole",
			repair: "security role " + role.Name + " given back to " + userName(s.user),
			apply: func(ctx context.Context) outcome {
				err := s.admin.AssociateRole(ctx, s.user.ID, role.ID)
				if dataverse.IsNotFound(err) {
					// The role's id, remembered from an earlier pass, is gone: find it again.
					r.roleIDs.forget(roleKey(s.envURL, ref, s.whoAmI.BusinessUnitID))
				}
				if err != nil && !dataverse.IsDuplicate(err) {
					return failed(fromDataverse("assigning security role "+role.Name, s.adminRef(), err))
				}
				markManaged(s.obj.Status.AssignedRoles, role.ID)
				return done()
			},
		})
	}
	return p, done()
}

// markManaged notes that the operator gave the role, so Deprovision takes it back.
func markManaged(roles []salesv1alpha1.RoleStatus, id string) {
	for i := range roles {
		if strings.EqualFold(roles[i].ID, id) {
			roles[i].Managed = true
		}
	}
}

func findRole(ctx context.Context, c dataverseAPI, ref roleRef, businessUnitID string) (dataverse.Role, error) {
	if ref.rootID != "" {
		return c.FindBusinessUnitRole(ctx, ref.rootID, businessUnitID)
	}
	return c.FindRoleByName(ctx, ref.name, businessUnitID)
}

func roleNames(roles []salesv1alpha1.RoleStatus) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = r.Name
	}
	return strings.Join(names, " and ")
}
