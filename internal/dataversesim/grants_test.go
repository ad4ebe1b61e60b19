package dataversesim_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

const (
	confApp    = "44444444-4444-4444-4444-444444444444"
	confSecret = "conf-secret"
	publicApp  = "55555555-5555-5555-5555-555555555555"
	alice      = "alice@contoso.com"
	alicePass  = "alice-password"
	// optOut lists the default public client as a confidential one.
	optOut = "00000000-0000-0000-0000-00000000000f"
)

func tokenServer(t *testing.T) (*dataversesim.Server, *http.Client) {
	t.Helper()
	users := []dataversesim.UserAccount{{UserPrincipalName: alice, Password: alicePass}}
	srv := dataversesim.NewTestServer(t, dataversesim.Config{Tenants: []dataversesim.TenantConfig{
		{ID: tenant, Users: users, Apps: []dataversesim.AppConfig{
			{ClientID: confApp, Secrets: []string{confSecret}},
			{ClientID: publicApp, PublicClient: true},
		}},
		{ID: optOut, Users: users, Apps: []dataversesim.AppConfig{
			{ClientID: dataversesim.DefaultPublicClientID, Secrets: []string{confSecret}},
		}},
	}})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACertPEM())
	return srv, &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// postToken sends a raw token request and returns the status, the OAuth error and its
// description.
func postToken(t *testing.T, srv *dataversesim.Server, hc *http.Client, tenantID string, form url.Values) (int, string, string) {
	t.Helper()
	status, oauth, desc, _ := postTokenClaims(t, srv, hc, tenantID, form)
	return status, oauth, desc
}

// postTokenClaims is postToken that also returns the access token's claims, unverified.
func postTokenClaims(t *testing.T, srv *dataversesim.Server, hc *http.Client, tenantID string, form url.Values) (int, string, string, map[string]any) {
	t.Helper()
	resp, err := hc.PostForm(srv.AuthorityHost()+tenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	claims := map[string]any{}
	if parts := strings.Split(body.AccessToken, "."); len(parts) == 3 {
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil || json.Unmarshal(payload, &claims) != nil {
			t.Fatalf("unreadable access token payload: %v", err)
		}
	}
	return resp.StatusCode, body.Error, body.Description, claims
}

func TestTokenGrants(t *testing.T) {
	srv, hc := tokenServer(t)
	resource := "https://contoso.crm.dynamics.com"
	password := func(clientID, secret, pass string) url.Values {
		v := url.Values{"grant_type": {"password"}, "username": {alice}, "password": {pass},
			"scope": {resource + "/user_impersonation openid profile offline_access"}}
		if clientID != "" {
			v.Set("client_id", clientID)
		}
		if secret != "" {
			v.Set("client_secret", secret)
		}
		return v
	}
	clientCredentials := func(scope string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {confApp}, "client_secret": {confSecret}, "scope": {scope}}
	}
	tests := []struct {
		name   string
		tenant string
		form   url.Values
		status int
		oauth  string // OAuth error
		aadsts string // in the description
	}{
		{"password, public client", tenant, password(publicApp, "", alicePass), 200, "", ""},
		{"password, default public client", tenant, password(dataversesim.DefaultPublicClientID, "", alicePass), 200, "", ""},
		{"password, confidential client with its secret", tenant, password(confApp, confSecret, alicePass), 200, "", ""},
		{"password, unregistered client", tenant, password("66666666-6666-6666-6666-666666666666", "", alicePass), 400, "unauthorized_client", "AADSTS700016"},
		{"password, no client", tenant, password("", "", alicePass), 400, "unauthorized_client", "AADSTS700016"},
		{"password, confidential client without a secret", tenant, password(confApp, "", alicePass), 401, "invalid_client", "AADSTS7000218"},
		{"password, confidential client with a wrong secret", tenant, password(confApp, "wrong", alicePass), 401, "invalid_client", "AADSTS7000215"},
		{"password, default client listed as confidential", optOut, password(dataversesim.DefaultPublicClientID, "", alicePass), 401, "invalid_client", "AADSTS7000218"},
		{"password, wrong password", tenant, password(publicApp, "", "wrong"), 400, "invalid_grant", "AADSTS50126"},
		{"client credentials, /.default", tenant, clientCredentials(resource + "/.default"), 200, "", ""},
		{"client credentials, /.default and OpenID scopes", tenant, clientCredentials("openid " + resource + "/.default offline_access"), 200, "", ""},
		{"client credentials, user_impersonation", tenant, clientCredentials(resource + "/user_impersonation"), 400, "invalid_scope", "AADSTS1002012"},
		{"client credentials, no resource", tenant, clientCredentials("openid"), 400, "invalid_scope", "AADSTS70011"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, oauth, desc := postToken(t, srv, hc, tt.tenant, tt.form)
			if status != tt.status || oauth != tt.oauth || !strings.HasPrefix(desc, tt.aadsts) {
				t.Errorf("= %d %s %q, want %d %s %s", status, oauth, desc, tt.status, tt.oauth, tt.aadsts)
			}
		})
	}
}

// TestTenantAliases: organizations resolves to the tenant of the user or the application
// and the token names that tenant; the password grant is refused over common and consumers.
func TestTenantAliases(t *testing.T) {
	srv, hc := tokenServer(t)
	resource := "https://contoso.crm.dynamics.com"
	password := func(user string) url.Values {
		return url.Values{"grant_type": {"password"}, "client_id": {publicApp}, "username": {user}, "password": {alicePass},
			"scope": {resource + "/user_impersonation"}}
	}
	clientCredentials := url.Values{"grant_type": {"client_credentials"}, "client_id": {confApp}, "client_secret": {confSecret},
		"scope": {resource + "/.default"}}
	tests := []struct {
		name, alias string
		form        url.Values
		status      int
		aadsts      string
		tid         string
	}{
		{"password over organizations", "organizations", password(strings.ToUpper(alice)), 200, "", tenant},
		{"client credentials over organizations", "organizations", clientCredentials, 200, "", tenant},
		{"unknown user over organizations", "organizations", password("nobody@contoso.com"), 400, "AADSTS50034", ""},
		{"password over common", "common", password(alice), 400, "AADSTS9001023", ""},
		{"password over consumers", "consumers", password(alice), 400, "AADSTS9001023", ""},
		{"client credentials over common", "common", clientCredentials, 400, "AADSTS50059", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, oauth, desc, claims := postTokenClaims(t, srv, hc, tt.alias, tt.form)
			if status != tt.status || !strings.HasPrefix(desc, tt.aadsts) {
				t.Fatalf("= %d %s %q, want %d %s", status, oauth, desc, tt.status, tt.aadsts)
			}
			if tt.tid == "" {
				return
			}
			if claims["tid"] != tt.tid || claims["iss"] != srv.AuthorityHost()+tt.tid+"/v2.0" {
				t.Errorf("tid %v, iss %v: want the real tenant %s", claims["tid"], claims["iss"], tt.tid)
			}
		})
	}
}
