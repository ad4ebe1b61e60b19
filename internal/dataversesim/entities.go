package dataversesim

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"
)

var (
	userProperties = propertySet("systemuserid", "fullname", "domainname", "internalemailaddress", "applicationid",
		"isdisabled", "_businessunitid_value", "islicensed", "accessmode", "isintegrationuser", "invitestatuscode")
	roleProperties = propertySet("roleid", "name", "_businessunitid_value", "_parentrootroleid_value",
		"_parentroleid_value", "_roletemplateid_value", "ismanaged")
	solutionProperties   = propertySet("solutionid", "uniquename", "friendlyname", "version", "ismanaged", "installedon")
	importJobProperties  = propertySet("importjobid", "solutionname", "createdon", "completedon", "progress")
	orgProperties        = propertySet("organizationid", "name", "issopintegrationenabled")
	salesOrderProperties = propertySet("salesorderid", "statecode", "statuscode")
	navProperties        = propertySet("nav_connectionid", "nav_name", "nav_dynamicsnavurl", "nav_dynamicsnavodataurl",
		"nav_dynamicsnavodatausername", "nav_dynamicsnavodataaccesskey")
)

func (c *call) userRows() []row {
	var rows []row
	for _, u := range c.env.users {
		rows = append(rows, userRow(u))
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i]["systemuserid"].(string) < rows[j]["systemuserid"].(string) })
	return rows
}

func userRow(u *User) row {
	var app any
	if u.ApplicationID != "" {
		app = u.ApplicationID
	}
	return row{
		"systemuserid": u.ID, "fullname": u.FullName, "domainname": u.DomainName,
		"internalemailaddress": u.InternalEmailAddress, "applicationid": app, "isdisabled": u.Disabled,
		"_businessunitid_value": u.BusinessUnitID, "islicensed": !u.Unlicensed, "accessmode": u.AccessMode,
		"isintegrationuser": u.IsIntegrationUser, "invitestatuscode": u.InviteStatusCode,
	}
}

func (c *call) roleRows() []row {
	var rows []row
	for _, r := range c.env.roles {
		rows = append(rows, roleRow(r))
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i]["roleid"].(string) < rows[j]["roleid"].(string) })
	return rows
}

func roleRow(r *Role) row {
	var template any
	if r.RoleTemplateID != "" {
		template = r.RoleTemplateID
	}
	return row{
		"roleid": r.ID, "name": r.Name, "_businessunitid_value": r.BusinessUnitID,
		"_parentrootroleid_value": r.ParentRootRoleID, "_parentroleid_value": nil,
		"_roletemplateid_value": template, "ismanaged": template != nil,
	}
}

func (c *call) solutionRows() []row {
	var rows []row
	for _, s := range c.env.solutions {
		rows = append(rows, row{"solutionid": s.ID, "uniquename": s.UniqueName, "friendlyname": s.FriendlyName,
			"version": s.Version, "ismanaged": s.Managed, "installedon": s.InstalledOn.Format("2006-01-02T15:04:05Z")})
	}
	return rows
}

func (c *call) orgRow() row {
	return row{"organizationid": c.env.orgID, "name": c.env.name, "issopintegrationenabled": c.env.sopEnabled}
}

func (c *call) salesOrderRows() []row {
	var rows []row
	for i, state := range c.env.salesOrders {
		rows = append(rows, row{"salesorderid": orderID(i), "statecode": state, "statuscode": state + 1})
	}
	return rows
}

func orderID(i int) string {
	return fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
}

// getSystemUser reads one user, with its roles when $expand asks.
func (c *call) getSystemUser(id string) *apiError {
	u, ok := c.env.users[id]
	if !ok {
		return errf(http.StatusNotFound, codeNotFound, "systemuser With Id = %s Does Not Exist", id)
	}
	sel := c.query["$select"]
	if err := checkSelect(sel, userProperties, "systemuser"); err != nil {
		return errf(http.StatusBadRequest, codeBadRequest, "%v", err)
	}
	out := project(userRow(u), sel)
	if expand := c.query["$expand"]; expand != "" {
		nav, inner, _ := strings.Cut(expand, "(")
		if nav != "systemuserroles_association" {
			return errf(http.StatusBadRequest, codeBadRequest, "Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.systemuser'.", nav)
		}
		roleSel := strings.TrimSuffix(strings.TrimPrefix(inner, "$select="), ")")
		if err := checkSelect(roleSel, roleProperties, "role"); err != nil {
			return errf(http.StatusBadRequest, codeBadRequest, "%v", err)
		}
		roles := []row{}
		for id := range u.Roles {
			if r, ok := c.env.roles[id]; ok {
				roles = append(roles, project(roleRow(r), roleSel))
			}
		}
		out["systemuserroles_association"] = roles
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

// prepareUser is a PATCH of systemusers(id): the columns Business Central sets on its
// integration user, by a System Administrator. Other columns, and values outside their
// option sets, are refused as Dataverse refuses them.
func (c *call) prepareUser(id string) *apiError {
	if err := c.requireAdmin("prvWriteUser"); err != nil {
		return err
	}
	u, ok := c.env.users[id]
	if !ok {
		return errf(http.StatusNotFound, codeNotFound, "systemuser With Id = %s Does Not Exist", id)
	}
	var body map[string]any
	if err := c.readBody(&body); err != nil {
		return err
	}
	next := *u
	for k, v := range body {
		switch k {
		case "isintegrationuser":
			b, ok := v.(bool)
			if !ok {
				return errf(http.StatusBadRequest, codeBadRequest, "Cannot convert the literal '%v' to the expected type 'Edm.Boolean'.", v)
			}
			next.IsIntegrationUser = b
		case "invitestatuscode", "accessmode":
			n, ok := v.(float64)
			limit := map[string]float64{"invitestatuscode": 6, "accessmode": 5}[k]
			if !ok || n != float64(int(n)) || n < 0 || n > limit {
				return errf(http.StatusBadRequest, "0x8004431a", "%v is not a valid status code for state code systemuser.%s", v, k)
			}
			if k == "accessmode" {
				next.AccessMode = int(n)
			} else {
				next.InviteStatusCode = int(n)
			}
		default:
			return errf(http.StatusBadRequest, codeBadRequest, "The property '%s' cannot be updated here.", k)
		}
	}
	if next.ApplicationID != "" && next.AccessMode != 4 {
		return errf(http.StatusBadRequest, codeBadRequest, "The access mode of an application user cannot be changed.")
	}
	*u = next
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// associate gives or takes a role: only System Administrators may, only roles of the
// user's business unit, and never twice.
func (c *call) associate(userID string, add bool) *apiError {
	if err := c.requireAdmin("prvAssignRole"); err != nil {
		return err
	}
	u, ok := c.env.users[userID]
	if !ok {
		return errf(http.StatusNotFound, codeNotFound, "systemuser With Id = %s Does Not Exist", userID)
	}
	var ref string
	if add {
		var body map[string]string
		if err := c.readBody(&body); err != nil {
			return err
		}
		ref = body["@odata.id"]
	} else {
		ref = c.query["$id"]
	}
	_, roleID := splitKey(ref[strings.LastIndex(ref, "/")+1:])
	if !strings.Contains(ref, "roles(") || !isGUID(roleID) {
		return errf(http.StatusBadRequest, codeInvalidArgument, "The @odata.id '%s' does not identify a role.", ref)
	}
	role, ok := c.env.roles[roleID]
	if !ok {
		return errf(http.StatusNotFound, codeSegmentNotFound, "role With Id = %s Does Not Exist", roleID)
	}
	if !add {
		if !u.Roles[roleID] {
			return errf(http.StatusNotFound, codeNotFound, "The association between systemuser %s and role %s does not exist.", userID, roleID)
		}
		delete(u.Roles, roleID)
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if role.BusinessUnitID != u.BusinessUnitID {
		return errf(http.StatusBadRequest, codeBusinessUnitMatch,
			"The role %s belongs to another business unit than the user %s. A role can only be assigned to users of its own business unit.", roleID, userID)
	}
	if u.Roles[roleID] {
		return errf(http.StatusPreconditionFailed, codeDuplicate, "Cannot insert duplicate key.")
	}
	u.Roles[roleID] = true
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// patchOrganization changes the sales order integration flag (System Administrator only).
func (c *call) patchOrganization(id string) *apiError {
	if err := c.requireAdmin("prvWriteOrganization"); err != nil {
		return err
	}
	if id != c.env.orgID {
		return errf(http.StatusNotFound, codeNotFound, "organization With Id = %s Does Not Exist", id)
	}
	var body map[string]any
	if err := c.readBody(&body); err != nil {
		return err
	}
	for k, v := range body {
		if k != "issopintegrationenabled" {
			return errf(http.StatusBadRequest, codeBadRequest, "The property '%s' does not exist on type 'Microsoft.Dynamics.CRM.organization'.", k)
		}
		b, ok := v.(bool)
		if !ok {
			return errf(http.StatusBadRequest, codeBadRequest, "Cannot convert the literal to the expected type 'Edm.Boolean'.")
		}
		c.env.sopEnabled = b
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// navConnection handles the nav_connections entity set the integration solution adds.
func (c *call) navConnection(op, id string) *apiError {
	switch op {
	case "ListNavConnections":
		var rows []row
		for _, n := range c.env.navConnections {
			rows = append(rows, navRow(n))
		}
		return c.list("nav_connection", navProperties, rows)
	case "DeleteNavConnection":
		if err := c.requireAdmin("prvDeletenav_connection"); err != nil {
			return err
		}
		if _, ok := c.env.navConnections[id]; !ok {
			return errf(http.StatusNotFound, codeNotFound, "nav_connection With Id = %s Does Not Exist", id)
		}
		delete(c.env.navConnections, id)
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	var body map[string]string
	if err := c.readBody(&body); err != nil {
		return err
	}
	for k, v := range body {
		if !navProperties[k] || k == "nav_connectionid" {
			return errf(http.StatusBadRequest, codeBadRequest, "The property '%s' does not exist on type 'Microsoft.Dynamics.CRM.nav_connection'.", k)
		}
		if limit := navMaxLength[k]; utf8.RuneCountInString(v) > limit {
			return errf(http.StatusBadRequest, codeTooLong,
				"A validation error occurred. The length of the '%s' attribute of the 'nav_connection' entity exceeded the maximum allowed length of '%d'.", k, limit)
		}
	}
	if op == "CreateNavConnection" {
		if err := c.requireAdmin("prvCreatenav_connection"); err != nil {
			return err
		}
		n := &NavConnection{ID: newID()}
		applyNav(n, body)
		c.env.navConnections[n.ID] = n
		c.w.Header().Set("OData-EntityId", c.base+"nav_connections("+n.ID+")")
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err := c.requireAdmin("prvWritenav_connection"); err != nil {
		return err
	}
	n, ok := c.env.navConnections[id]
	if !ok {
		return errf(http.StatusNotFound, codeNotFound, "nav_connection With Id = %s Does Not Exist", id)
	}
	applyNav(n, body)
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// navMaxLength are the column lengths of nav_connection (Business Central's proxy table
// 5368 "CRM NAV Connection": Name Text[100], the URL, user name and key Text[250]).
var navMaxLength = map[string]int{
	"nav_name": 100, "nav_dynamicsnavurl": 250, "nav_dynamicsnavodataurl": 250,
	"nav_dynamicsnavodatausername": 250, "nav_dynamicsnavodataaccesskey": 250,
}

func navRow(n *NavConnection) row {
	return row{"nav_connectionid": n.ID, "nav_name": n.Name, "nav_dynamicsnavurl": n.URL,
		"nav_dynamicsnavodataurl": n.ODataURL, "nav_dynamicsnavodatausername": n.ODataUsername,
		"nav_dynamicsnavodataaccesskey": n.ODataAccessKey}
}

func applyNav(n *NavConnection, body map[string]string) {
	for k, v := range body {
		switch k {
		case "nav_name":
			n.Name = v
		case "nav_dynamicsnavurl":
			n.URL = v
		case "nav_dynamicsnavodataurl":
			n.ODataURL = v
		case "nav_dynamicsnavodatausername":
			n.ODataUsername = v
		case "nav_dynamicsnavodataaccesskey":
			n.ODataAccessKey = v
		}
	}
}
