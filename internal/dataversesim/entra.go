package dataversesim

import (
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition (RFC 7515)
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
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
	if _, ok := s.tenant(tenantID); !ok {
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_tenant",
			fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", tenantID)})
		return
	}
	base := s.AuthorityHost() + tenantID
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                base + "/v2.0",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"token_endpoint":                        base + "/oauth2/v2.0/token",
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
	tenant, ok := s.tenant(tenantID)
	if !ok {
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_request",
			fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID.", tenantID)})
		return ""
	}
	audience, err := audienceOf(r.PostForm.Get("scope"))
	if err != nil {
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "invalid_scope", err.Error()})
		return ""
	}
	claims := accessClaims{TenantID: tenant.ID, Version: "2.0"}
	switch r.PostForm.Get("grant_type") {
	case grantClientCredentials:
		app, oerr := s.authenticateApp(r, tenant, tenantID)
		if oerr != nil {
			writeOAuthError(w, oerr)
			return r.PostForm.Get("client_id")
		}
		claims.AppID, claims.ObjectID, principal = app.ClientID, app.ClientID, app.ClientID
	case grantPassword:
		user, oerr := authenticateUser(r, tenant)
		if oerr != nil {
			writeOAuthError(w, oerr)
			return r.PostForm.Get("username")
		}
		claims.UPN, claims.ObjectID, principal = user.UserPrincipalName, userObjectID(user.UserPrincipalName), user.UserPrincipalName
	default:
		writeOAuthError(w, &oauthError{http.StatusBadRequest, "unsupported_grant_type",
			"AADSTS70003: The app requested an unsupported grant type '" + r.PostForm.Get("grant_type") + "'."})
		return ""
	}
	now := s.now()
	lifetime := s.cfg.TokenLifetime.Duration
	if lifetime <= 0 {
		lifetime = time.Hour
	}
	claims.RegisteredClaims = jwt.RegisteredClaims{
		// The issuer names the tenant's own id, whatever alias or case the path used.
		Issuer:    s.issuer(tenant.ID),
		Subject:   claims.ObjectID,
		Audience:  jwt.ClaimStrings{audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-time.Second)),
		ExpiresAt: jwt.NewNumericDate(now.Add(lifetime)),
		ID:        newID(),
	}
	token, err := s.signer.issue(claims)
	if err != nil {
		writeOAuthError(w, &oauthError{http.StatusInternalServerError, "server_error", "AADSTS50000: token signing failed"})
		return principal
	}
	resp := map[string]any{
		"token_type": "Bearer", "access_token": token,
		"expires_in": int(lifetime.Seconds()), "ext_expires_in": int(lifetime.Seconds()),
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

// authenticateApp checks a client secret or a client assertion (certificate or
// federated).
func (s *Server) authenticateApp(r *http.Request, tenant *TenantConfig, tenantID string) (*AppConfig, *oauthError) {
	clientID := r.PostForm.Get("client_id")
	var app *AppConfig
	for i := range tenant.Apps {
		if strings.EqualFold(tenant.Apps[i].ClientID, clientID) {
			app = &tenant.Apps[i]
		}
	}
	if app == nil {
		return nil, &oauthError{http.StatusBadRequest, "unauthorized_client",
			fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'.", clientID, tenant.ID)}
	}
	if secret := r.PostForm.Get("client_secret"); secret != "" {
		for _, s := range app.Secrets {
			if subtle.ConstantTimeCompare([]byte(s), []byte(secret)) == 1 {
				return app, nil
			}
		}
		return nil, &oauthError{http.StatusUnauthorized, "invalid_client",
			fmt.Sprintf("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)}
	}
	assertion := r.PostForm.Get("client_assertion")
	if assertion == "" || r.PostForm.Get("client_assertion_type") != assertionTypeJWT {
		return nil, &oauthError{http.StatusUnauthorized, "invalid_client",
			"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	}
	tokenEndpoint := s.AuthorityHost() + tenantID + "/oauth2/v2.0/token"
	if err := s.verifyCertificateAssertion(app, assertion, tokenEndpoint); err == nil {
		return app, nil
	} else if !errors.Is(err, errNotACertificateAssertion) {
		return nil, &oauthError{http.StatusUnauthorized, "invalid_client", "AADSTS700027: Client assertion failed signature validation: " + err.Error()}
	}
	if err := s.verifyFederatedAssertion(app, assertion); err != nil {
		return nil, &oauthError{http.StatusBadRequest, "invalid_client", "AADSTS70021: No matching federated identity record found for presented assertion: " + err.Error()}
	}
	return app, nil
}

var errNotACertificateAssertion = errors.New("the assertion names no certificate thumbprint")

// verifyCertificateAssertion checks an assertion signed with a registered certificate's
// key: thumbprint header, signature, iss = sub = client id, aud = the token endpoint.
func (s *Server) verifyCertificateAssertion(app *AppConfig, assertion, tokenEndpoint string) error {
	parser := jwt.NewParser()
	unverified, _, err := parser.ParseUnverified(assertion, jwt.MapClaims{})
	if err != nil {
		return fmt.Errorf("malformed assertion: %w", err)
	}
	x5t, _ := unverified.Header["x5t"].(string)
	x5t256, _ := unverified.Header["x5t#S256"].(string)
	if x5t == "" && x5t256 == "" {
		return errNotACertificateAssertion
	}
	var cert *x509.Certificate
	for _, p := range app.CertificatesPEM {
		c, err := parseCertificate(p)
		if err != nil {
			continue
		}
		sum1, sum256 := sha1.Sum(c.Raw), sha256.Sum256(c.Raw) //nolint:gosec
		if thumbprintMatches(x5t, sum1[:]) || thumbprintMatches(x5t256, sum256[:]) {
			cert = c
		}
	}
	if cert == nil {
		return errors.New("the certificate is not registered for this application")
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(assertion, claims, func(*jwt.Token) (any, error) { return cert.PublicKey, nil },
		jwt.WithValidMethods([]string{"PS256", "RS256"}), jwt.WithAudience(tokenEndpoint),
		jwt.WithIssuer(app.ClientID), jwt.WithSubject(app.ClientID), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now))
	return err
}

// verifyFederatedAssertion checks a token of a trusted issuer (a Kubernetes service
// account token, for workload identity).
func (s *Server) verifyFederatedAssertion(app *AppConfig, assertion string) error {
	var lastErr error = errors.New("the application trusts no federated issuer")
	for _, fc := range app.FederatedCredentials {
		key, err := parsePublicKey(fc.PublicKeyPEM)
		if err != nil {
			lastErr = err
			continue
		}
		aud := fc.Audience
		if aud == "" {
			aud = defaultFederatedAud
		}
		_, err = jwt.Parse(assertion, func(*jwt.Token) (any, error) { return key, nil },
			jwt.WithValidMethods([]string{"RS256", "PS256", "ES256"}), jwt.WithIssuer(fc.Issuer),
			jwt.WithSubject(fc.Subject), jwt.WithAudience(aud), jwt.WithExpirationRequired(),
			jwt.WithTimeFunc(s.now))
		if err == nil {
			return nil
		}
		lastErr = err
	}
	return lastErr
}

func authenticateUser(r *http.Request, tenant *TenantConfig) (*UserAccount, *oauthError) {
	username, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	for i := range tenant.Users {
		u := &tenant.Users[i]
		if strings.EqualFold(u.UserPrincipalName, username) && subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) == 1 {
			return u, nil
		}
	}
	return nil, &oauthError{http.StatusBadRequest, "invalid_grant", "AADSTS50126: Error validating credentials due to invalid username or password."}
}

func thumbprintMatches(header string, sum []byte) bool {
	if header == "" {
		return false
	}
	return header == base64.StdEncoding.EncodeToString(sum) || header == base64.RawURLEncoding.EncodeToString(sum) ||
		header == base64.URLEncoding.EncodeToString(sum) || header == base64.RawStdEncoding.EncodeToString(sum)
}

func parseCertificate(p string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("not PEM")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parsePublicKey(p string) (any, error) {
	block, _ := pem.Decode([]byte(p))
	if block == nil {
		return nil, errors.New("the federated credential's public key is not PEM")
	}
	if block.Type == "CERTIFICATE" {
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		return c.PublicKey, nil
	}
	return x509.ParsePKIXPublicKey(block.Bytes)
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
