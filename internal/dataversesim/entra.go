package dataversesim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	grantClientCredentials = "client_credentials"
	grantPassword          = "password"
	assertionTypeJWT       = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	defaultFederatedAud    = "api://AzureADTokenExchange"
)

// oauthError is an Entra ID error answer.
type oauthError struct {
	status      int
	code        string // invalid_client, invalid_grant, ...
	description string // starts with the AADSTS code
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

// handleOpenIDConfiguration serves the v2.0 metadata azidentity (MSAL) reads first.
func (s *Server) handleOpenIDConfiguration(w http.ResponseWriter, tenantID string) {
	issuer := s.issuer(tenantID)
	if isTenantAlias(tenantID) {
		// Entra ID's metadata for an alias leaves the tenant of the issuer open.
		issuer = s.issuer("{tenantid}")
	} else if _, ok := s.tenant(tenantID); !ok {
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_tenant",
			fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", tenantID)})
		return
	}
	base := s.AuthorityHost() + tenantID
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        s.entraTokenEndpoint(tenantID),
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"response_types_supported":              []string{"code", "id_token", "token id_token"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"tenant_region_scope":                   "WW",
		"cloud_instance_name":                   "microsoftonline.com",
	})
}

// handleUserRealm answers MSAL's question before a password grant: is the user federated?
// Every simulated user is managed (its password is checked here).
func (s *Server) handleUserRealm(w http.ResponseWriter, username string) {
	domain := username
	if _, d, ok := strings.Cut(username, "@"); ok {
		domain = d
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"ver": "1.0", "account_type": "Managed", "domain_name": domain,
		"cloud_instance_name": "microsoftonline.com", "cloud_audience_urn": "urn:federation:MicrosoftOnline",
	})
}

// handleToken is the v2.0 token endpoint.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request, tenantID string) (principal string) {
	if s.faults.tokenOutage() {
		writeOAuthError(w, &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable",
			"AADSTS90033: A transient error has occurred. Please try again."})
		return ""
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must be application/x-www-form-urlencoded."})
		return ""
	}
	grant := r.PostForm.Get("grant_type")
	tenant, oerr := s.resolveTenant(tenantID, grant, r.PostForm)
	if oerr != nil {
		writeOAuthError(w, oerr)
		return ""
	}
	audience, oerr := audienceOf(r.PostForm.Get("scope"), grant == grantClientCredentials)
	if oerr != nil {
		writeOAuthError(w, oerr)
		return ""
	}
	claims := accessClaims{TenantID: tenant.ID, Version: "2.0"}
	switch grant {
	case grantClientCredentials:
		app, oerr := s.authenticateApp(r, tenant, s.entraTokenEndpoint(tenantID))
		if oerr != nil {
			writeOAuthError(w, oerr)
			return r.PostForm.Get("client_id")
		}
		claims.AppID, claims.ObjectID, principal = app.ClientID, app.ClientID, app.ClientID
		claims.AuthorizedParty = app.ClientID
	case grantPassword:
		app, user, oerr := s.authenticatePassword(r, tenant, s.entraTokenEndpoint(tenantID))
		if oerr != nil {
			writeOAuthError(w, oerr)
			return r.PostForm.Get("username")
		}
		claims.UPN, claims.ObjectID, principal = user.UserPrincipalName, userObjectID(user.UserPrincipalName), user.UserPrincipalName
		// A v2.0 token names its client in azp; appid is left to tokens of applications
		// signing in as themselves, which Dataverse maps to their application user.
		claims.AuthorizedParty = app.ClientID
	default:
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "unsupported_grant_type",
			"AADSTS70003: The app requested an unsupported grant type '" + r.PostForm.Get("grant_type") + "'."})
		return ""
	}
	now := s.now()
	// A JWT's exp holds whole seconds: expires_in is counted to that second, so a client
	// never believes a token lives longer than the Web API accepts it.
	expiry := now.Add(s.tokenLifetime()).Truncate(time.Second)
	expiresIn := int(expiry.Sub(now) / time.Second)
	claims.RegisteredClaims = jwt.RegisteredClaims{
		// The issuer names the tenant's own id, whatever alias or case the path used.
		Issuer:    s.issuer(tenant.ID),
		Subject:   claims.ObjectID,
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Second)),
		ExpiresAt: jwt.NewNumericDate(expiry),
		ID:        newID(),
	}
	token, err := s.signer.issue(claims)
	if err != nil {
		writeOAuthError(w, &oauthError{http.StatusInternalServerError, "server_error", "AADSTS50000: token signing failed"})
		return principal
	}
	resp := map[string]any{
		"token_type": "Bearer", "access_token": token,
		"expires_in": expiresIn, "ext_expires_in": expiresIn,
		"scope": r.PostForm.Get("scope"),
	}
	if claims.UPN != "" {
		// A public client's answer carries the account, which MSAL caches.
		info, _ := json.Marshal(map[string]string{"uid": claims.ObjectID, "utid": tenant.ID})
		resp["client_info"] = base64.RawURLEncoding.EncodeToString(info)
		idToken, _ := s.signer.issue(accessClaims{RegisteredClaims: jwt.RegisteredClaims{
			Issuer: claims.Issuer, Subject: claims.ObjectID, Audience: jwt.ClaimStrings{r.PostForm.Get("client_id")},
			IssuedAt: claims.IssuedAt, ExpiresAt: claims.ExpiresAt,
		}, TenantID: tenant.ID, ObjectID: claims.ObjectID, UPN: claims.UPN, Version: "2.0"})
		resp["id_token"] = idToken
	}
	writeJSON(w, http.StatusOK, resp)
	return principal
}

// entraTokenEndpoint is a tenant's v2.0 token endpoint, as its metadata names it.
func (s *Server) entraTokenEndpoint(tenantID string) string {
	return s.AuthorityHost() + tenantID + "/oauth2/v2.0/token"
}

// tokenLifetime is how long issued access tokens live (default one hour).
func (s *Server) tokenLifetime() time.Duration {
	if l := s.cfg.TokenLifetime.Duration; l > 0 {
		return l
	}
	return time.Hour
}

// userObjectID is a stable object id for a user account.
func userObjectID(upn string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(upn)))
	b := sum[:16]
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	writeJSON(w, e.status, map[string]any{
		"error": e.code, "error_description": e.description,
		"error_codes": []int{}, "timestamp": time.Now().UTC().Format(time.DateTime),
		"trace_id": newID(), "correlation_id": newID(),
	})
}
