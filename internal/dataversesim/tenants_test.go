package dataversesim_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	otherTenant = "00000000-0000-0000-0000-000000000002"
	// multiApp is registered in both tenants, as a multi-tenant application is.
	multiApp    = "33333333-3333-3333-3333-333333333333"
	multiSecret = "multi-secret"
)

// twoTenants serves environment contoso of tenant and fabrikam of otherTenant.
func twoTenants(t *testing.T) (*dataversesim.Server, *http.Client) {
	t.Helper()
	app := dataversesim.AppConfig{ClientID: multiApp, Secrets: []string{multiSecret}}
	users := []dataversesim.SystemUserConfig{{ApplicationID: multiApp, Roles: []string{"System Administrator"}}}
	srv := dataversesim.NewTestServer(t, dataversesim.Config{
		Tenants: []dataversesim.TenantConfig{{ID: tenant, Apps: []dataversesim.AppConfig{app}}, {ID: otherTenant, Apps: []dataversesim.AppConfig{app}}},
		Environments: []dataversesim.EnvironmentConfig{
			{Name: "contoso", TenantID: tenant, SystemUsers: users},
			{Name: "fabrikam", TenantID: otherTenant, SystemUsers: users},
		},
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACertPEM())
	return srv, &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// tenantToken signs in to tenantID with azidentity's client secret credential.
func tenantToken(t *testing.T, srv *dataversesim.Server, hc *http.Client, tenantID, clientID, secret, env string) string {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(tenantID, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.AuthorityHost()}, Transport: hc},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{srv.EnvironmentURL(env) + "/.default"}})
	if err != nil {
		t.Fatalf("sign-in to %s: %v", tenantID, err)
	}
	return tok.Token
}

func TestTokenOfAnotherTenantIsRefused(t *testing.T) {
	srv, hc := twoTenants(t)
	tests := []struct {
		name, tenant, env string
		status            int
	}{
		{"own tenant", tenant, "contoso", http.StatusOK},
		{"other tenant, same app and audience", otherTenant, "contoso", http.StatusUnauthorized},
		{"other environment's own tenant", otherTenant, "fabrikam", http.StatusOK},
		{"first tenant on the other environment", tenant, "fabrikam", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tenantToken(t, srv, hc, tt.tenant, multiApp, multiSecret, tt.env)
			req, _ := http.NewRequest(http.MethodGet, srv.EnvironmentURL(tt.env)+"/api/data/v9.2/WhoAmI", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("WhoAmI on %s with a token of %s = %d, want %d", tt.env, tt.tenant, resp.StatusCode, tt.status)
			}
		})
	}
}

func TestEnvironmentTenantDefaults(t *testing.T) {
	one := []dataversesim.TenantConfig{{ID: tenant}}
	two := []dataversesim.TenantConfig{{ID: tenant}, {ID: otherTenant}}
	tests := []struct {
		name    string
		cfg     dataversesim.Config
		want    string // tenant of environment e, or the error text
		wantErr bool
	}{
		{"the single tenant", dataversesim.Config{Tenants: one, Environments: []dataversesim.EnvironmentConfig{{Name: "e"}}}, tenant, false},
		{"named", dataversesim.Config{Tenants: two, Environments: []dataversesim.EnvironmentConfig{{Name: "e", TenantID: strings.ToUpper(otherTenant)}}}, otherTenant, false},
		{"ambiguous", dataversesim.Config{Tenants: two, Environments: []dataversesim.EnvironmentConfig{{Name: "e"}}}, "tenantID is required", true},
		{"unknown", dataversesim.Config{Tenants: one, Environments: []dataversesim.EnvironmentConfig{{Name: "e", TenantID: otherTenant}}}, "not configured", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := dataversesim.New(tt.cfg)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("New = %v, want an error with %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := srv.Environment("e").TenantID(); got != tt.want {
				t.Errorf("tenant = %q, want %q", got, tt.want)
			}
		})
	}
}
