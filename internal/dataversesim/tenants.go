package dataversesim

import (
	"fmt"
	"slices"
	"strings"
)

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
