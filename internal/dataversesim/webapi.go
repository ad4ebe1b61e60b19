package dataversesim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Dataverse error codes the simulator answers with.
const (
	codeNotFound          = "0x80040217" // record does not exist
	codeSegmentNotFound   = "0x80060888" // resource (entity set) not found
	codePrivilegeDenied   = "0x80040220" // principal lacks a privilege
	codeDuplicate         = "0x80040237" // cannot insert duplicate key
	codeUserDisabled      = "0x80040225" // the user is disabled
	codeBadRequest        = "0x80048d19" // payload or query error
	codeInvalidArgument   = "0x80040203" // invalid argument
	codeImportInProgress  = "0x80071151" // another solution operation is running
	codeBusinessUnitMatch = "0x80041d3e" // role and user in different business units
	codeNotAMember        = "0x80072560" // the caller has no systemuser
	// codeTooLong: a string longer than its column. The message shape ("The length of
	// the 'x' attribute of the 'y' entity exceeded the maximum allowed length of 'n'")
	// is what clients of Dataverse parse; the code is a guess [I].
	codeTooLong = "0x80044331"
)

// apiError is a Dataverse error answer.
type apiError struct {
	status        int
	code, message string
}

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// call is one Web API request, authenticated.
type call struct {
	w     http.ResponseWriter
	r     *http.Request
	env   *Environment
	user  *User // the caller
	base  string
	query map[string]string
}

func (c *call) isAdmin() bool {
	for id := range c.user.Roles {
		if role, ok := c.env.roles[id]; ok && role.RoleTemplateID == SystemAdministratorTemplateID {
			return true
		}
	}
	return false
}

// requireAdmin refuses a write by a principal without System Administrator.
func (c *call) requireAdmin(privilege string) *apiError {
	if c.isAdmin() {
		return nil
	}
	return errf(http.StatusForbidden, codePrivilegeDenied,
		"Principal user (Id=%s, type=8, roleCount=%d, privilegeName=%s, accessRight=None), is missing %s privilege.",
		c.user.ID, len(c.user.Roles), privilege, privilege)
}

// serveWebAPI authenticates, applies the fault knobs and routes one request.
func (s *Server) serveWebAPI(w http.ResponseWriter, r *http.Request, env *Environment, apiVersion, path string, entry *Request) {
	entry.Operation = operationOf(r.Method, path)
	if d := env.faults.delay(); d > 0 {
		time.Sleep(d)
	}
	if env.faults.drop() {
		entry.Dropped = true
		panic(http.ErrAbortHandler) // the server resets the connection, answering nothing
	}
	claims, aerr := s.authenticate(r, env)
	if aerr != nil {
		writeODataError(w, aerr.status, aerr.code, aerr.message)
		return
	}
	entry.Principal = claims.AppID
	if entry.Principal == "" {
		entry.Principal = claims.UPN
	}
	if inj, retryAfter := env.faults.inject(entry.Operation, entry.Principal, s.now()); inj != nil {
		if retryAfter > 0 {
			seconds := int((retryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(seconds))
			entry.RetryAfter = time.Duration(seconds) * time.Second
		}
		writeODataError(w, inj.status, inj.code, inj.message)
		return
	}
	env.releaseImportsFor(entry.Operation)

	env.mu.Lock()
	defer env.mu.Unlock()
	user := env.callerLocked(claims)
	if user == nil {
		writeODataError(w, http.StatusUnauthorized, codeNotAMember, "The user is not a member of the organization.")
		return
	}
	if user.Disabled {
		writeODataError(w, http.StatusForbidden, codeUserDisabled,
			fmt.Sprintf("The user with SystemUserId=%s is disabled. Disabled users cannot access the system.", user.ID))
		return
	}
	q := map[string]string{}
	for k, v := range r.URL.Query() {
		q[k] = v[0]
	}
	c := &call{w: w, r: r, env: env, user: user, base: s.EnvironmentURL(env.name) + "/api/data/" + apiVersion + "/", query: q}
	if err := s.route(c, path, entry.Operation); err != nil {
		writeODataError(w, err.status, err.code, err.message)
	}
}

// authenticate checks the bearer token: signature, lifetime, audience = this environment,
// issuer and tenant = the environment's tenant, not revoked.
func (s *Server) authenticate(r *http.Request, env *Environment) (*accessClaims, *apiError) {
	auth := r.Header.Get("Authorization")
	raw, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || raw == "" {
		return nil, errf(http.StatusUnauthorized, "", "Bearer token is missing.")
	}
	claims, err := s.signer.verify(raw, s.now())
	if err != nil {
		return nil, errf(http.StatusUnauthorized, "", "The access token is invalid or has expired.")
	}
	want := strings.ToLower(s.EnvironmentURL(env.name))
	audOK := false
	for _, aud := range claims.Audience {
		if strings.TrimSuffix(strings.ToLower(aud), "/") == want {
			audOK = true
		}
	}
	if !audOK {
		return nil, errf(http.StatusUnauthorized, "", "The access token was issued for another resource.")
	}
	// The environment belongs to one tenant: a token another tenant issued, even for an
	// application registered in both, does not sign in here.
	if !s.issuedFor(claims, env.tenantID) {
		return nil, errf(http.StatusUnauthorized, "", "The access token was issued by another tenant than the organization's.")
	}
	if revoked := s.revocationTime(); !revoked.IsZero() && claims.IssuedAt != nil && claims.IssuedAt.Before(revoked) {
		return nil, errf(http.StatusUnauthorized, "", "The access token has been revoked.")
	}
	return claims, nil
}

// issuedFor reports whether the environment's identity provider issued the token: its
// Entra tenant (issuer and tid), or for an on-premises environment its AD FS farm, whose
// access tokens carry the farm's access_token_issuer and no tenant.
func (s *Server) issuedFor(claims *accessClaims, tenantID string) bool {
	switch {
	case tenantID == "":
		return false
	case isADFS(tenantID):
		return claims.TenantID == "" && claims.Issuer == s.adfsTokenIssuer()
	}
	return strings.EqualFold(claims.TenantID, tenantID) && strings.EqualFold(claims.Issuer, s.issuer(tenantID))
}

// callerLocked maps a token to its systemuser: an application user by app id, a user by
// user principal name.
func (e *Environment) callerLocked(c *accessClaims) *User {
	for _, u := range e.users {
		if c.AppID != "" && strings.EqualFold(u.ApplicationID, c.AppID) {
			return u
		}
		if c.UPN != "" && (strings.EqualFold(u.InternalEmailAddress, c.UPN) || strings.EqualFold(u.DomainName, c.UPN)) {
			return u
		}
	}
	return nil
}

// operationOf names a request for the request log and FailNext.
func operationOf(method, path string) string {
	set, _, hasKey := strings.Cut(path, "(")
	switch {
	case set == "WhoAmI":
		return "WhoAmI"
	case set == "RetrieveVersion":
		return "RetrieveVersion"
	case set == "ImportSolutionAsync":
		return "ImportSolutionAsync"
	case set == "RetrieveSolutionImportResult":
		return "GetImportResult"
	case set == "asyncoperations":
		return "GetAsyncOperation"
	case set == "importjobs":
		return "ListImportJobs"
	case set == "systemusers" && strings.HasSuffix(path, "/$ref"):
		if method == http.MethodDelete {
			return "DisassociateRole"
		}
		return "AssociateRole"
	case set == "systemusers" && hasKey && method == http.MethodPatch:
		return "PrepareUser"
	case set == "systemusers" && hasKey:
		return "GetSystemUser"
	case set == "systemusers":
		return "ListSystemUsers"
	case set == "roles":
		return "ListRoles"
	case set == "solutions":
		return "ListSolutions"
	case set == "organizations" && method == http.MethodPatch:
		return "PatchOrganization"
	case set == "organizations":
		return "GetOrganization"
	case set == "salesorders":
		return "ListSalesOrders"
	case set == "nav_connections":
		switch method {
		case http.MethodPost:
			return "CreateNavConnection"
		case http.MethodPatch:
			return "UpdateNavConnection"
		case http.MethodDelete:
			return "DeleteNavConnection"
		}
		return "ListNavConnections"
	}
	return "Unknown"
}

func (s *Server) route(c *call, path, op string) *apiError {
	set, key := splitKey(path)
	switch op {
	case "WhoAmI":
		writeJSON(c.w, http.StatusOK, map[string]any{
			"@odata.context": c.base + "$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
			"BusinessUnitId": c.user.BusinessUnitID, "UserId": c.user.ID, "OrganizationId": c.env.orgID,
		})
		return nil
	case "RetrieveVersion":
		writeJSON(c.w, http.StatusOK, map[string]any{
			"@odata.context": c.base + "$metadata#Microsoft.Dynamics.CRM.RetrieveVersionResponse", "Version": c.env.version,
		})
		return nil
	case "GetSystemUser":
		return c.getSystemUser(key)
	case "PrepareUser":
		return c.prepareUser(key)
	case "ListSystemUsers":
		return c.list("systemuser", userProperties, c.userRows())
	case "AssociateRole", "DisassociateRole":
		return c.associate(key, op == "AssociateRole")
	case "ListRoles":
		if key != "" {
			return c.getOne("role", roleProperties, c.roleRows(), "roleid", key)
		}
		return c.list("role", roleProperties, c.roleRows())
	case "ListSolutions":
		return c.list("solution", solutionProperties, c.solutionRows())
	case "ImportSolutionAsync":
		return s.importSolution(c)
	case "GetAsyncOperation":
		return c.getAsyncOperation(key)
	case "ListImportJobs":
		if err := c.requireAdmin("prvReadImportJob"); err != nil {
			return err
		}
		return c.list("importjob", importJobProperties, c.importJobRows())
	case "GetImportResult":
		return c.getImportResult(path)
	case "GetOrganization":
		return c.list("organization", orgProperties, []row{c.orgRow()})
	case "PatchOrganization":
		return c.patchOrganization(key)
	case "ListSalesOrders":
		return c.list("salesorder", salesOrderProperties, c.salesOrderRows())
	case "ListNavConnections", "CreateNavConnection", "UpdateNavConnection", "DeleteNavConnection":
		if !c.env.integrationInstalled() {
			return errf(http.StatusNotFound, codeSegmentNotFound, "Resource not found for the segment '%s'.", set)
		}
		return c.navConnection(op, key)
	}
	return errf(http.StatusNotFound, codeSegmentNotFound, "Resource not found for the segment '%s'.", set)
}

// splitKey reads "set(key)/rest" into set and key.
func splitKey(path string) (set, key string) {
	set, rest, ok := strings.Cut(path, "(")
	if !ok {
		return path, ""
	}
	key, _, _ = strings.Cut(rest, ")")
	return set, strings.ToLower(key)
}

// readBody decodes a JSON body.
func (c *call) readBody(v any) *apiError {
	data, err := io.ReadAll(io.LimitReader(c.r.Body, 64<<20))
	if err != nil {
		return errf(http.StatusBadRequest, codeBadRequest, "The request body could not be read.")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errf(http.StatusBadRequest, codeBadRequest, "Error identified in Payload provided by the user for Entity: %v", err)
	}
	return nil
}

// list answers a collection query with $select, $filter and $top.
func (c *call) list(entity string, props map[string]bool, rows []row) *apiError {
	if err := checkSelect(c.query["$select"], props, entity); err != nil {
		return errf(http.StatusBadRequest, codeBadRequest, "%v", err)
	}
	var f filter
	if expr := c.query["$filter"]; expr != "" {
		var err error
		if f, err = parseFilter(expr, props, entity); err != nil {
			return errf(http.StatusBadRequest, codeBadRequest, "%v", err)
		}
	}
	top := -1
	if t := c.query["$top"]; t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			return errf(http.StatusBadRequest, codeBadRequest, "Invalid $top value '%s'.", t)
		}
		top = n
	}
	out := []row{}
	for _, r := range rows {
		if f != nil && !f.match(r) {
			continue
		}
		if top >= 0 && len(out) >= top {
			break
		}
		out = append(out, project(r, c.query["$select"]))
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"@odata.context": c.base + "$metadata#" + entity + "s", "value": out})
	return nil
}

// getOne answers a single-record read.
func (c *call) getOne(entity string, props map[string]bool, rows []row, idProp, id string) *apiError {
	if err := checkSelect(c.query["$select"], props, entity); err != nil {
		return errf(http.StatusBadRequest, codeBadRequest, "%v", err)
	}
	for _, r := range rows {
		if r[idProp] == id {
			writeJSON(c.w, http.StatusOK, project(r, c.query["$select"]))
			return nil
		}
	}
	return errf(http.StatusNotFound, codeNotFound, "%s With Id = %s Does Not Exist", entity, id)
}
