package dataverse

import (
	"context"
	"net/http"
)

// Role is a security role in one business unit. Roles are copied into every business
// unit; ParentRootRoleID is the id of the root role all copies share.
type Role struct {
	ID               string
	Name             string
	BusinessUnitID   string
	ParentRootRoleID string
	// RoleTemplateID is set for the built-in roles (System Administrator's is
	// 627090ff-40a3-4053-8790-584edc5be201).
	RoleTemplateID string
}

// roleSelect names the lookups by their Web API property (_x_value): a lookup's logical
// name is not a selectable property.
const roleSelect = "roleid,name,_businessunitid_value,_parentrootroleid_value,_roletemplateid_value"

type roleJSON struct {
	ID               string `json:"roleid"`
	Name             string `json:"name"`
	BusinessUnitID   string `json:"_businessunitid_value"`
	ParentRootRoleID string `json:"_parentrootroleid_value"`
	RoleTemplateID   string `json:"_roletemplateid_value"`
}

func (r roleJSON) role() Role { return Role(r) }

// FindBusinessUnitRole returns the copy of the root role rootRoleID in a business unit;
// a NotFound error when there is none (the solution that adds it is not imported). The
// root business unit's copy is the root role itself, whose own root reference may name
// itself or be empty, so it is found by its id as well (Business Central's CRMRole
// lookup by ParentRoleId and BusinessUnitId, CRMIntegrationManagement; the shape of the
// root copy is not documented [I]).
func (c *Client) FindBusinessUnitRole(ctx context.Context, rootRoleID, businessUnitID string) (Role, error) {
	const op = "FindBusinessUnitRole"
	root, err := normalizeID(op, "the root role id", rootRoleID)
	if err != nil {
		return Role{}, err
	}
	bu, err := normalizeID(op, "the business unit id", businessUnitID)
	if err != nil {
		return Role{}, err
	}
	return c.findRole(ctx, op, "(roleid eq "+root+" or _parentrootroleid_value eq "+root+") and _businessunitid_value eq "+bu)
}

// FindRoleByName returns the role called name in a business unit; NotFound when none.
func (c *Client) FindRoleByName(ctx context.Context, name, businessUnitID string) (Role, error) {
	const op = "FindRoleByName"
	bu, err := normalizeID(op, "the business unit id", businessUnitID)
	if err != nil {
		return Role{}, err
	}
	return c.findRole(ctx, op, "name eq "+stringLiteral(name)+" and _businessunitid_value eq "+bu)
}

func (c *Client) findRole(ctx context.Context, op, filter string) (Role, error) {
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: "roles",
		query: query{}.add("$select", roleSelect).add("$filter", filter).add("$top", "1")})
	if err != nil {
		return Role{}, err
	}
	var page struct {
		Value []roleJSON `json:"value"`
	}
	if err := decode(op, resp, &page); err != nil {
		return Role{}, err
	}
	if len(page.Value) == 0 {
		return Role{}, newError(op, ReasonNotFound, 0, "", "no such role in the business unit", nil)
	}
	return page.Value[0].role(), nil
}

// AssociateRole gives the user a role of the user's own business unit. Giving a role the
// user holds already fails with a Duplicate error: read the user's roles (GetSystemUser) first.
func (c *Client) AssociateRole(ctx context.Context, userID, roleID string) error {
	const op = "AssociateRole"
	userID, err := normalizeID(op, "the user id", userID)
	if err != nil {
		return err
	}
	roleID, err = normalizeID(op, "the role id", roleID)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, &request{op: op, method: http.MethodPost, retry: retryWrite,
		path: "systemusers(" + userID + ")/systemuserroles_association/$ref",
		body: map[string]string{"@odata.id": c.apiBase() + "roles(" + roleID + ")"}})
	return err
}

// DisassociateRole takes a role away from the user.
func (c *Client) DisassociateRole(ctx context.Context, userID, roleID string) error {
	const op = "DisassociateRole"
	userID, err := normalizeID(op, "the user id", userID)
	if err != nil {
		return err
	}
	roleID, err = normalizeID(op, "the role id", roleID)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, &request{op: op, method: http.MethodDelete, retry: retryWrite,
		path:  "systemusers(" + userID + ")/systemuserroles_association/$ref",
		query: query{}.add("$id", c.apiBase()+"roles("+roleID+")")})
	return err
}
