package dataversesim_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	tenant      = "00000000-0000-0000-0000-000000000001"
	adminApp    = "22222222-2222-2222-2222-222222222222"
	userApp     = "11111111-1111-1111-1111-111111111111"
	adminSecret = "admin-secret"
	userSecret  = "user-secret"
)

// world is a simulator with two business units: an administrator and an integration
// user in the root one, another user in the second.
func world(t *testing.T) (*dataversesim.Server, *http.Client) {
	t.Helper()
	srv := dataversesim.NewTestServer(t, dataversesim.Config{
		Tenants: []dataversesim.TenantConfig{{ID: tenant, Apps: []dataversesim.AppConfig{
			{ClientID: adminApp, Secrets: []string{adminSecret}},
			{ClientID: userApp, Secrets: []string{userSecret}},
		}}},
		Environments: []dataversesim.EnvironmentConfig{
			{Name: "contoso", BusinessUnits: []dataversesim.BusinessUnitConfig{{Name: "contoso"}, {Name: "sales"}},
				SystemUsers: []dataversesim.SystemUserConfig{
					{ID: "aaaaaaaa-0000-0000-0000-000000000001", ApplicationID: adminApp, Roles: []string{"System Administrator"}},
					{ID: "bbbbbbbb-0000-0000-0000-000000000002", ApplicationID: userApp, Roles: []string{"Basic User"}},
					{ID: "cccccccc-0000-0000-0000-000000000003", InternalEmailAddress: "carol@contoso.com", BusinessUnit: "sales"},
				}},
			{Name: "other"},
		},
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACertPEM())
	return srv, &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// token signs in with the real azidentity client, as the operator does.
func token(t *testing.T, srv *dataversesim.Server, hc *http.Client, clientID, secret, env string) string {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: srv.AuthorityHost()}, Transport: hc},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{srv.EnvironmentURL(env) + "/.default"}})
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	return tok.Token
}

// call sends one Web API request and returns the status and Dataverse's error code.
func call(t *testing.T, srv *dataversesim.Server, hc *http.Client, tok, method, path, body string) (int, string) {
	t.Helper()
	a := send(t, srv, hc, tok, method, path, body)
	return a.status, a.code
}

func TestDataverseRules(t *testing.T) {
	srv, hc := world(t)
	admin := token(t, srv, hc, adminApp, adminSecret, "contoso")
	user := token(t, srv, hc, userApp, userSecret, "contoso")
	otherEnv := token(t, srv, hc, adminApp, adminSecret, "other")
	env := srv.Environment("contoso")
	roleRef := func(id string) string {
		return `{"@odata.id":"` + srv.EnvironmentURL("contoso") + `/api/data/v9.2/roles(` + id + `)"}`
	}
	basicUserInSales := ""
	cases := []struct {
		name, tok, method, path, body string
		status                        int
		code                          string
	}{
		{"no token", "", "GET", "WhoAmI", "", 401, ""},
		{"token for another environment", otherEnv, "GET", "WhoAmI", "", 401, ""},
		{"integration user reads WhoAmI", user, "GET", "WhoAmI", "", 200, ""},
		{"integration user reads solutions", user, "GET", "solutions?$filter=uniquename eq 'x'", "", 200, ""},
		{"integration user cannot import", user, "POST", "ImportSolutionAsync", `{"CustomizationFile":"","OverwriteUnmanagedCustomizations":false,"PublishWorkflows":true,"ComponentParameters":[]}`, 403, "0x80040220"},
		{"integration user cannot change the organization", user, "PATCH", "organizations(" + env.OrganizationID() + ")", `{"issopintegrationenabled":true}`, 403, "0x80040220"},
		{"nav_connections before the integration solution", admin, "GET", "nav_connections", "", 404, "0x80060888"},
		{"integration roles before the integration solution", admin, "GET", "roles?$filter=_parentrootroleid_value eq " + dataversesim.IntegrationUserID, "", 200, ""},
		{"unknown property in $filter", admin, "GET", "roles?$filter=nosuch eq 1", "", 400, "0x80048d19"},
		{"unknown property in $select", admin, "GET", "roles?$select=roleid,bogus", "", 400, "0x80048d19"},
		{"broken package", admin, "POST", "ImportSolutionAsync", `{"CustomizationFile":"bm90IGEgemlw","OverwriteUnmanagedCustomizations":false,"PublishWorkflows":true,"ComponentParameters":[]}`, 400, "0x8004801a"},
		{"role of another business unit", admin, "POST", "systemusers(bbbbbbbb-0000-0000-0000-000000000002)/systemuserroles_association/$ref", "", 400, "0x80041d3e"},
	}
	// The Basic User copy in the "sales" business unit, for the cross-unit case.
	status, _ := call(t, srv, hc, admin, "GET", "roles?$filter=name eq 'Basic User'", "")
	if status != 200 {
		t.Fatal("listing roles failed")
	}
	for _, r := range rolesNamed(t, srv, hc, admin, "Basic User") {
		if r.BU != whoAmIBU(t, srv, hc, user) {
			basicUserInSales = r.ID
		}
	}
	cases[len(cases)-1].body = roleRef(basicUserInSales)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, code := call(t, srv, hc, tc.tok, tc.method, tc.path, tc.body)
			if status != tc.status || (tc.code != "" && code != tc.code) {
				t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, status, code, tc.status, tc.code)
			}
		})
	}

	// Associating a role twice is a duplicate, as in Dataverse.
	if err := env.InstallSolution(dataversesim.IntegrationSolutionName, "1.0.0.0"); err != nil {
		t.Fatal(err)
	}
	ref := roleRef(dataversesim.IntegrationUserID)
	path := "systemusers(bbbbbbbb-0000-0000-0000-000000000002)/systemuserroles_association/$ref"
	if status, _ := call(t, srv, hc, admin, "POST", path, ref); status != 204 {
		t.Fatalf("first association: %d", status)
	}
	if status, code := call(t, srv, hc, admin, "POST", path, ref); status != 412 || code != "0x80040237" {
		t.Errorf("second association = %d %s, want 412 0x80040237", status, code)
	}
	if status, _ := call(t, srv, hc, admin, "GET", "nav_connections", ""); status != 200 {
		t.Errorf("nav_connections after the import = %d", status)
	}

	// Revoked tokens are refused; the request log saw every request.
	srv.RevokeTokens()
	if status, _ := call(t, srv, hc, admin, "GET", "WhoAmI", ""); status != 401 {
		t.Errorf("revoked token = %d, want 401", status)
	}
	if srv.Writes("contoso") == 0 || srv.CountRequests(func(r dataversesim.Request) bool { return r.Operation == "AssociateRole" }) != 3 {
		t.Errorf("request log: %d writes, %+v", srv.Writes("contoso"), srv.Requests()[len(srv.Requests())-1])
	}
}

func TestFaultKnobs(t *testing.T) {
	srv, hc := world(t)
	admin := token(t, srv, hc, adminApp, adminSecret, "contoso")
	faults := srv.Environment("contoso").Faults()

	faults.FailNext("WhoAmI", 503, "0x80040216", 2)
	for i, want := range []int{503, 503, 200} {
		if status, _ := call(t, srv, hc, admin, "GET", "WhoAmI", ""); status != want {
			t.Errorf("call %d = %d, want %d", i, status, want)
		}
	}

	faults.ThrottleAfter(1, time.Minute, 3*time.Second)
	call(t, srv, hc, admin, "GET", "WhoAmI", "")
	req, _ := http.NewRequest(http.MethodGet, srv.EnvironmentURL("contoso")+"/api/data/v9.2/WhoAmI", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("throttled = %d, Retry-After %q; want 429 and 3", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	faults.ThrottleAfter(0, 0, 0)

	srv.Faults().TokenEndpointOutage(true)
	resp, err = hc.Post(srv.AuthorityHost()+tenant+"/oauth2/v2.0/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("token endpoint during an outage = %d, want 503", resp.StatusCode)
	}
}

type roleRow struct {
	ID string `json:"roleid"`
	BU string `json:"_businessunitid_value"`
}

func rolesNamed(t *testing.T, srv *dataversesim.Server, hc *http.Client, tok, name string) []roleRow {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.EnvironmentURL("contoso")+"/api/data/v9.2/roles?$select=roleid,_businessunitid_value&$filter=name%20eq%20'"+strings.ReplaceAll(name, " ", "%20")+"'", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Value []roleRow }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	return page.Value
}

func whoAmIBU(t *testing.T, srv *dataversesim.Server, hc *http.Client, tok string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.EnvironmentURL("contoso")+"/api/data/v9.2/WhoAmI", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var w struct {
		BusinessUnitID string `json:"BusinessUnitId"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&w); err != nil {
		t.Fatal(err)
	}
	return w.BusinessUnitID
}
