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
	IntegrationAdministratorRoleID = "8c8d4f51-a72b-e511-80d9-3863bb349780"
	IntegrationUserRoleID          = "6f960e32-a72b-e511-80d9-3863bb349780"
)

var defaultRoles = []roleRef{
	{rootID: IntegrationAdministratorRoleID, label: "Integration Administrator"},
	{rootID: IntegrationUserRoleID, label: "Integration User"},
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

// reconcileRoles gives the integration user every required role in its own business
// unit (roles are copied into each business unit, and a role can be given only to users
// of its business unit).
func (r *Reconciler) reconcileRoles(ctx context.Context, s *scope) error {
	const cond = salesv1alpha1.ConditionRolesAssigned
	custom := len(s.obj.Spec.SecurityRoles) > 0
	if !custom && !s.solutionInstalled {
		// Like Business Central: the integration roles are required only once the
		// solution that brings them is installed.
		removeCondition(s.obj, cond)
		s.obj.Status.AssignedRoles = nil
		return nil
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

	var statuses []salesv1alpha1.RoleStatus
	var missing []string
	for _, ref := range requiredRoles(&s.obj.Spec) {
		role, err := findRole(ctx, reader, ref, s.whoAmI.BusinessUnitID)
		if dataverse.IsNotFound(err) {
			return stalled(cond, ReasonRoleNotFound,
				"security role %s does not exist in the integration user's business unit: check spec.securityRoles or import the integration solution", ref.label)
		}
		if err != nil {
			return fromDataverse(cond, "looking up security role "+ref.label, principal, err)
		}
		id := strings.ToLower(role.ID)
		st := salesv1alpha1.RoleStatus{ID: id, Name: role.Name, Managed: managed[id]}
		if !held[id] {
			switch {
			case s.observing():
				s.pending = append(s.pending, fmt.Sprintf("assign security role %s to %s", role.Name, userName(s.user)))
				missing = append(missing, role.Name)
			case s.admin == nil:
				missing = append(missing, role.Name)
			default:
				if err := s.admin.AssociateRole(ctx, s.user.ID, role.ID); err != nil && !dataverse.IsDuplicate(err) {
					return fromDataverse(cond, "assigning security role "+role.Name, s.adminRef(), err)
				}
				st.Managed = true
				s.changed(cond, "AssignRole", "security role "+role.Name+" given back to "+userName(s.user))
			}
		}
		statuses = append(statuses, st)
	}
	s.obj.Status.AssignedRoles = statuses
	if len(missing) > 0 && s.observing() {
		setFalse(s.obj, cond, ReasonPendingChanges, "would assign "+strings.Join(missing, ", "))
		return nil
	}
	if len(missing) > 0 {
		return stalled(cond, ReasonRolesNotAssigned,
			"the integration user %s lacks %s: assign them in Dataverse, or add spec.administrator so the operator can", userName(s.user), strings.Join(missing, ", "))
	}
	setTrue(s.obj, cond, ReasonAssigned, fmt.Sprintf("%s holds %s", userName(s.user), roleNames(statuses)))
	return nil
}

func findRole(ctx context.Context, c *dataverse.Client, ref roleRef, businessUnitID string) (dataverse.Role, error) {
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
