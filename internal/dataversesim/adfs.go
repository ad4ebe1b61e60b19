package dataversesim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ADFSTenantID names the TenantConfig that is not an Entra ID tenant but an AD FS farm
// (Windows Server 2019 or later) on the authority host, for on-premises environments: its
// apps are AD FS application groups, its users Active Directory accounts. MSAL, and so
// azidentity, recognize AD FS by this same path segment: the authority
// https://host/adfs/ (MSAL Go, apps/internal/oauth/ops/authority/authority.go).
const ADFSTenantID = "adfs"

func isADFS(tenantID string) bool { return strings.EqualFold(tenantID, ADFSTenantID) }

// adfsScopes are AD FS's built-in scopes (Microsoft Learn, "AD FS OpenID Connect/OAuth
// concepts", Scopes:
// https://learn.microsoft.com/windows-server/identity/ad-fs/development/ad-fs-openid-connect-oauth-concepts),
// plus offline_access, which MSAL adds to every request.
var adfsScopes = map[string]bool{
	"openid": true, "profile": true, "email": true, "allatclaims": true, "aza": true,
	"user_impersonation": true, "logon_cert": true, "vpn_cert": true, "winhello_cert": true,
	"offline_access": true,
}

// adfsTokenIssuer is the iss of AD FS access tokens: the farm's "access_token_issuer",
// an http URI (Microsoft Learn, "Single log-out for OpenID Connect with AD FS", sample
// discovery document: "access_token_issuer":"http://fs.fabidentity.com/adfs/services/trust").
func (s *Server) adfsTokenIssuer() string {
	u, err := url.Parse(s.URL())
	if err != nil {
		return ""
	}
	return "http://" + u.Hostname() + "/adfs/services/trust"
}

func (s *Server) adfsTokenEndpoint() string { return s.AuthorityHost() + "adfs/oauth2/token/" }

// handleADFSConfiguration serves /adfs/.well-known/openid-configuration, which MSAL reads
// for an AD FS authority; it needs issuer, authorization_endpoint and token_endpoint.
func (s *Server) handleADFSConfiguration(w http.ResponseWriter) {
	if _, ok := s.tenant(ADFSTenantID); !ok {
		http.NotFound(w, nil)
		return
	}
	base := s.AuthorityHost() + "adfs"
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base,
		"authorization_endpoint":                base + "/oauth2/authorize/",
		"token_endpoint":                        s.adfsTokenEndpoint(),
		"jwks_uri":                              base + "/discovery/keys",
		"access_token_issuer":                   s.adfsTokenIssuer(),
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials", "password", "device_code"},
		"scopes_supported":                      []string{"openid", "profile", "email", "allatclaims", "aza", "user_impersonation", "logon_cert", "vpn_cert", "winhello_cert"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic", "private_key_jwt", "windows_client_authentication"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

// adfsResource is the relying party a token request names. AD FS 2019 reads the resource
// from the scope parameter as "<resource>/<scope>", one resource per request (Microsoft
// Learn, "What's new in AD FS", Windows Server 2019: "you can now pass the resource value
// embedded in the scope parameter ... each entry is structure as resource/scope"). It
// knows no ".default": that is Entra ID's convention (Azure SDK for Go PR #19872, "ADFS
// does not translate the fake .default scope segment"; MSAL.NET issue #1422). A request
// that names no resource gets a token for the userinfo endpoint, urn:microsoft:userinfo,
// which no relying party accepts. The error wording below is the simulator's: AD FS's
// own text for these cases is not documented (a guess).
func adfsResource(scope string) (string, *oauthError) {
	resource := ""
	for _, s := range strings.Fields(scope) {
		if adfsScopes[s] {
			continue
		}
		i := strings.LastIndex(s, "/")
		if i <= 0 || !adfsScopes[s[i+1:]] {
			return "", &oauthError{http.StatusBadRequest, "invalid_scope",
				fmt.Sprintf("The scope '%s' is not a scope AD FS knows; name the relying party and a scope as <resource>/<scope>, for example <resource>/openid.", s)}
		}
		if resource != "" && resource != s[:i] {
			return "", &oauthError{http.StatusBadRequest, "invalid_scope", "Only one resource can be specified in a request."}
		}
		resource = s[:i]
	}
	if resource == "" {
		return "urn:microsoft:userinfo", nil
	}
	return resource, nil
}

// handleADFSToken serves AD FS's token endpoint: client credentials (secret or
// certificate assertion) and the password grant (Microsoft Learn, "AD FS OpenID
// Connect/OAuth flows and application scenarios", AD FS 2019 and later).
func (s *Server) handleADFSToken(w http.ResponseWriter, r *http.Request) (principal string) {
	tenant, ok := s.tenant(ADFSTenantID)
	if !ok {
		http.NotFound(w, r)
		return ""
	}
	if s.faults.tokenOutage() {
		writeOAuthError(w, &oauthError{http.StatusServiceUnavailable, "temporarily_unavailable", "The service is temporarily unavailable."})
		return ""
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request", "The request body must be application/x-www-form-urlencoded."})
		return ""
	}
	audience, oerr := adfsResource(r.PostForm.Get("scope"))
	if oerr != nil {
		writeOAuthError(w, oerr)
		return ""
	}
	claims := accessClaims{Version: "1.0"}
	switch r.PostForm.Get("grant_type") {
	case grantClientCredentials:
		app, oerr := s.authenticateApp(r, tenant, s.adfsTokenEndpoint())
		if oerr != nil {
			writeOAuthError(w, oerr)
			return r.PostForm.Get("client_id")
		}
		claims.AppID, principal = app.ClientID, app.ClientID
	case grantPassword:
		app, user, oerr := s.authenticatePassword(r, tenant, s.adfsTokenEndpoint())
		if oerr != nil {
			writeOAuthError(w, oerr)
			return r.PostForm.Get("username")
		}
		// The caller is the user: the client is named as the authorized party, as in the
		// Entra tokens, so the Web API maps the token to the user's systemuser.
		claims.AuthorizedParty, claims.UPN, principal = app.ClientID, user.UserPrincipalName, user.UserPrincipalName
	default:
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "unsupported_grant_type",
			"The authorization server does not support the requested 'grant_type' value."})
		return ""
	}
	now := s.now()
	expiry := now.Add(s.tokenLifetime()).Truncate(time.Second)
	claims.RegisteredClaims = jwt.RegisteredClaims{
		Issuer: s.adfsTokenIssuer(), Subject: principal, Audience: jwt.ClaimStrings{audience},
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(-time.Second)),
		ExpiresAt: jwt.NewNumericDate(expiry), ID: newID(),
	}
	token, err := s.signer.issue(claims)
	if err != nil {
		writeOAuthError(w, &oauthError{http.StatusInternalServerError, "server_error", "token signing failed"})
		return principal
	}
	resp := map[string]any{
		"token_type": "bearer", "access_token": token, "resource": audience,
		"expires_in": int(expiry.Sub(now) / time.Second), "scope": r.PostForm.Get("scope"),
	}
	if claims.UPN != "" && strings.Contains(" "+r.PostForm.Get("scope")+" ", " openid ") {
		idToken, _ := s.signer.issue(accessClaims{RegisteredClaims: jwt.RegisteredClaims{
			Issuer: s.AuthorityHost() + "adfs", Subject: userObjectID(claims.UPN), Audience: jwt.ClaimStrings{r.PostForm.Get("client_id")},
			IssuedAt: claims.IssuedAt, ExpiresAt: claims.ExpiresAt,
		}, UPN: claims.UPN, Version: "1.0"})
		resp["id_token"] = idToken
	}
	writeJSON(w, http.StatusOK, resp)
	return principal
}
