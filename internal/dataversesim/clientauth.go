package dataversesim

import (
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition (RFC 7515)
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// authenticateApp checks a client secret or a client assertion (certificate or
// federated).
// tokenEndpoint is the endpoint the request came to: a certificate assertion must name it
// as its audience.
func (s *Server) authenticateApp(r *http.Request, tenant *TenantConfig, tokenEndpoint string) (*AppConfig, *oauthError) {
	clientID := r.PostForm.Get("client_id")
	app, oerr := findApp(tenant, clientID)
	if oerr != nil {
		return nil, oerr
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

// authenticatePasswordClient checks the client of a password grant. It must be registered
// in the tenant; with a secret or an assertion it proves itself as a confidential client,
// and without one it must allow public client flows: Entra ID answers a confidential
// client that sends neither with AADSTS7000218.
func (s *Server) authenticatePasswordClient(r *http.Request, tenant *TenantConfig, tokenEndpoint string) (*AppConfig, *oauthError) {
	if r.PostForm.Get("client_secret") != "" || r.PostForm.Get("client_assertion") != "" {
		return s.authenticateApp(r, tenant, tokenEndpoint)
	}
	app, oerr := findApp(tenant, r.PostForm.Get("client_id"))
	if oerr != nil {
		return nil, oerr
	}
	if !app.PublicClient {
		return nil, &oauthError{http.StatusUnauthorized, "invalid_client",
			"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}
	}
	return app, nil
}

// authenticatePassword checks a password grant: its client, then the user.
func (s *Server) authenticatePassword(r *http.Request, tenant *TenantConfig, tokenEndpoint string) (*AppConfig, *UserAccount, *oauthError) {
	app, oerr := s.authenticatePasswordClient(r, tenant, tokenEndpoint)
	if oerr != nil {
		return nil, nil, oerr
	}
	user, oerr := authenticateUser(r, tenant)
	if oerr != nil {
		return nil, nil, oerr
	}
	return app, user, nil
}

// findApp returns the tenant's registration of clientID.
func findApp(tenant *TenantConfig, clientID string) (*AppConfig, *oauthError) {
	for i := range tenant.Apps {
		if clientID != "" && strings.EqualFold(tenant.Apps[i].ClientID, clientID) {
			return &tenant.Apps[i], nil
		}
	}
	return nil, &oauthError{http.StatusBadRequest, "unauthorized_client",
		fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'.", clientID, tenant.ID)}
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
		sum1, sum256 := sha1.Sum(c.Raw), sha256.Sum256(c.Raw) //nolint:gosec // x5t is a SHA-1 thumbprint by definition (RFC 7515); only matched, never trusted
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
	lastErr := errors.New("the application trusts no federated issuer")
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
