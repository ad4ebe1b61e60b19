package dataversesim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Tenant aliases of Entra ID: organizations (any work or school account), common (also
// personal Microsoft accounts), consumers (only those).
const (
	aliasOrganizations = "organizations"
	aliasCommon        = "common"
	aliasConsumers     = "consumers"
)

func isTenantAlias(id string) bool {
	switch strings.ToLower(id) {
	case aliasOrganizations, aliasCommon, aliasConsumers:
		return true
	}
	return false
}

// resolveTenant maps the tenant segment of a token request to a tenant. organizations
// resolves to the tenant that holds the user (password grant) or registers the
// application (client credentials: its home tenant, the first that lists it); the token
// then names that tenant, as Entra ID's does. The password grant is refused over common
// and consumers, and nothing resolves them to a work tenant here.
func (s *Server) resolveTenant(segment, grant string, form url.Values) (*TenantConfig, *oauthError) {
	if !isTenantAlias(segment) {
		if t, ok := s.tenant(segment); ok {
			return t, nil
		}
		return nil, &oauthError{http.StatusBadRequest, "invalid_request",
			fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID.", segment)}
	}
	alias := strings.ToLower(segment)
	switch {
	case grant == grantPassword && alias != aliasOrganizations:
		return nil, &oauthError{http.StatusBadRequest, "invalid_request",
			"AADSTS9001023: The grant type is not supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint."}
	case grant == grantPassword:
		username := form.Get("username")
		for i := range s.cfg.Tenants {
			if slices.ContainsFunc(s.cfg.Tenants[i].Users, func(u UserAccount) bool { return strings.EqualFold(u.UserPrincipalName, username) }) {
				return &s.cfg.Tenants[i], nil
			}
		}
		return nil, &oauthError{http.StatusBadRequest, "invalid_grant", "AADSTS50034: The user account does not exist in the directory."}
	case grant == grantClientCredentials && alias == aliasOrganizations:
		clientID := form.Get("client_id")
		for i := range s.cfg.Tenants {
			if _, oerr := findApp(&s.cfg.Tenants[i], clientID); oerr == nil {
				return &s.cfg.Tenants[i], nil
			}
		}
		return nil, &oauthError{http.StatusBadRequest, "unauthorized_client",
			fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in any directory.", clientID)}
	}
	return nil, &oauthError{http.StatusBadRequest, "invalid_request",
		"AADSTS50059: No tenant-identifying information found in either the request or implied by any provided credentials."}
}

// tenant returns a configured tenant by id (case-insensitive).
func (s *Server) tenant(id string) (*TenantConfig, bool) {
	for i := range s.cfg.Tenants {
		if strings.EqualFold(s.cfg.Tenants[i].ID, id) {
			return &s.cfg.Tenants[i], true
		}
	}
	return nil, false
}

// environmentTenant is the tenant an environment belongs to: the one it names, or the
// only one configured. With several tenants and none named it is an error rather than a
// guess, since a token of the wrong tenant must not work.
func environmentTenant(cfg Config, ec EnvironmentConfig) (string, error) {
	if ec.TenantID != "" {
		for _, t := range cfg.Tenants {
			if strings.EqualFold(t.ID, ec.TenantID) {
				return t.ID, nil
			}
		}
		return "", fmt.Errorf("tenant %q is not configured", ec.TenantID)
	}
	switch len(cfg.Tenants) {
	case 0:
		return "", nil // no tenant issues tokens: every request is refused
	case 1:
		return cfg.Tenants[0].ID, nil
	}
	return "", fmt.Errorf("tenantID is required when %d tenants are configured", len(cfg.Tenants))
}

// withDefaultPublicClient registers DefaultPublicClientID as a public client in every
// tenant with user accounts that does not list it. It copies: the caller's config stays
// as it was.
func withDefaultPublicClient(tenants []TenantConfig) []TenantConfig {
	out := slices.Clone(tenants)
	for i, t := range out {
		listed := slices.ContainsFunc(t.Apps, func(a AppConfig) bool { return strings.EqualFold(a.ClientID, DefaultPublicClientID) })
		if len(t.Users) > 0 && !listed {
			out[i].Apps = append(slices.Clip(t.Apps), AppConfig{ClientID: DefaultPublicClientID, PublicClient: true})
		}
	}
	return out
}
