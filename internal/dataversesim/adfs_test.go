package dataversesim_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

const (
	adfsApp      = "44444444-4444-4444-4444-444444444444"
	adfsSecret   = "adfs-app-secret"
	adfsUser     = "svc-bc@contoso.local"
	adfsPassword = "adfs-user-password"
)

// onPremises serves an on-premises 9.1 environment "contoso" whose identity provider is
// the simulator's AD FS, and an online environment "online" of an Entra tenant.
func onPremises(t *testing.T) (*dataversesim.Server, *http.Client) {
	t.Helper()
	srv := dataversesim.NewTestServer(t, dataversesim.Config{
		Tenants: []dataversesim.TenantConfig{
			{ID: dataversesim.ADFSTenantID,
				Apps:  []dataversesim.AppConfig{{ClientID: adfsApp, Secrets: []string{adfsSecret}}},
				Users: []dataversesim.UserAccount{{UserPrincipalName: adfsUser, Password: adfsPassword}}},
			{ID: tenant, Apps: []dataversesim.AppConfig{{ClientID: adfsApp, Secrets: []string{adfsSecret}}}},
		},
		Environments: []dataversesim.EnvironmentConfig{
			{Name: "contoso", TenantID: dataversesim.ADFSTenantID, Version: "9.1.0.3452", SystemUsers: []dataversesim.SystemUserConfig{
				{ApplicationID: adfsApp, Roles: []string{"System Administrator"}},
				{InternalEmailAddress: adfsUser, Roles: []string{"Basic User"}},
			}},
			{Name: "online", TenantID: tenant, SystemUsers: []dataversesim.SystemUserConfig{{ApplicationID: adfsApp, Roles: []string{"System Administrator"}}}},
		},
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACertPEM())
	return srv, &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func adfsOptions(srv *dataversesim.Server, hc *http.Client) azcore.ClientOptions {
	return azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.AuthorityHost()}, Transport: hc}
}

// whoAmI calls the environment with tok and returns the status.
func whoAmI(t *testing.T, srv *dataversesim.Server, hc *http.Client, env, tok string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.EnvironmentURL(env)+"/api/data/v9.1/WhoAmI", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func audience(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Aud string `json:"aud"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c.Aud
}

// TestADFSNamesTheResourceInTheScope: AD FS 2019 reads "<resource>/<scope>" and knows no
// ".default"; its tokens sign in to the on-premises environment only.
func TestADFSNamesTheResourceInTheScope(t *testing.T) {
	srv, hc := onPremises(t)
	app, err := azidentity.NewClientSecretCredential(dataversesim.ADFSTenantID, adfsApp, adfsSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: adfsOptions(srv, hc)})
	if err != nil {
		t.Fatal(err)
	}
	envURL := srv.EnvironmentURL("contoso")
	if _, err := app.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{envURL + "/.default"}}); err == nil ||
		!strings.Contains(err.Error(), "invalid_scope") {
		t.Errorf("AD FS accepted the Entra-only scope %s/.default (err %v); it must refuse it", envURL, err)
	}
	tok, err := app.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{envURL + "/openid"}})
	if err != nil {
		t.Fatalf("client credentials with <resource>/openid: %v", err)
	}
	if aud := audience(t, tok.Token); aud != envURL {
		t.Errorf("aud = %q; want the relying party %q", aud, envURL)
	}
	if got := whoAmI(t, srv, hc, "contoso", tok.Token); got != http.StatusOK {
		t.Errorf("the on-premises environment answered %d to its AD FS's token", got)
	}
	if got := whoAmI(t, srv, hc, "online", tok.Token); got != http.StatusUnauthorized {
		t.Errorf("an online environment answered %d to an AD FS token; want 401", got)
	}
	// An Entra token for the on-premises URL (right audience, wrong issuer) is refused.
	entra := tenantToken(t, srv, hc, tenant, adfsApp, adfsSecret, "contoso")
	if got := whoAmI(t, srv, hc, "contoso", entra); got != http.StatusUnauthorized {
		t.Errorf("the on-premises environment answered %d to an Entra token; want 401", got)
	}

	// Without a resource AD FS issues a token for its userinfo endpoint, which the
	// organization refuses. (A new credential: MSAL's cache would answer "openid" alone
	// with the token above.)
	app, err = azidentity.NewClientSecretCredential(dataversesim.ADFSTenantID, adfsApp, adfsSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: adfsOptions(srv, hc)})
	if err != nil {
		t.Fatal(err)
	}
	userinfo, err := app.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	if aud := audience(t, userinfo.Token); aud != "urn:microsoft:userinfo" {
		t.Errorf("aud without a resource = %q; want urn:microsoft:userinfo", aud)
	}
	if got := whoAmI(t, srv, hc, "contoso", userinfo.Token); got != http.StatusUnauthorized {
		t.Errorf("the environment answered %d to a userinfo token; want 401", got)
	}
}

// TestADFSPasswordGrantSignsInTheUser: IFD's user name and password, through azidentity.
func TestADFSPasswordGrantSignsInTheUser(t *testing.T) {
	srv, hc := onPremises(t)
	//nolint:staticcheck // the password grant is what IFD sign-in is
	user, err := azidentity.NewUsernamePasswordCredential(dataversesim.ADFSTenantID, dataversesim.DefaultPublicClientID, adfsUser, adfsPassword,
		&azidentity.UsernamePasswordCredentialOptions{ClientOptions: adfsOptions(srv, hc)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := user.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{srv.EnvironmentURL("contoso") + "/openid"}})
	if err != nil {
		t.Fatalf("password grant through AD FS: %v", err)
	}
	if got := whoAmI(t, srv, hc, "contoso", tok.Token); got != http.StatusOK {
		t.Errorf("WhoAmI as the AD FS user answered %d", got)
	}
}
