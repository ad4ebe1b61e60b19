package dataverse_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
	"github.com/bcconnect/salesconnection-operator/internal/testpki"
)

// These tests run the client against the simulator over TLS: every call, every
// credential type and every failure class the reconciler tells apart.

const (
	simTenant      = "00000000-0000-0000-0000-000000000001"
	simIntegration = "00000000-0000-0000-0000-00000000a001"
	simAdmin       = "00000000-0000-0000-0000-00000000a002"
	simIntSecret   = "integration-secret-Never-Shown"
	simAdminSecret = "admin-secret-Never-Shown"
	simUPN         = "svc-bc@contoso.com"
	simPassword    = "user-password-Never-Shown"
	simEnv         = "contoso"
	saIssuer       = "https://kubernetes.default.svc.cluster.local"
	saSubject      = "system:serviceaccount:salesconnection-system:controller-manager"
)

type simFixture struct {
	srv       *dataversesim.Server
	env       *dataversesim.Environment
	pool      *dataverse.Pool
	certPEM   []byte
	keyPEM    []byte
	tokenFile string
}

func newSim(t *testing.T, mutate ...func(*dataversesim.Config)) *simFixture {
	t.Helper()
	certPEM, keyPEM := testpki.SelfSigned(t, false)
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := dataversesim.Config{
		Tenants: []dataversesim.TenantConfig{{
			ID: simTenant,
			Apps: []dataversesim.AppConfig{
				{ClientID: simIntegration, Secrets: []string{simIntSecret}, CertificatesPEM: []string{string(certPEM)},
					FederatedCredentials: []dataversesim.FederatedCredential{{Issuer: saIssuer, Subject: saSubject,
						PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))}}},
				{ClientID: simAdmin, Secrets: []string{simAdminSecret}},
				{ClientID: dataverse.DefaultPublicClientID, PublicClient: true},
			},
			Users: []dataversesim.UserAccount{{UserPrincipalName: simUPN, Password: simPassword}},
		}},
		Environments: []dataversesim.EnvironmentConfig{{
			Name:          simEnv,
			BusinessUnits: []dataversesim.BusinessUnitConfig{{Name: simEnv}, {Name: "sales"}},
			SystemUsers: []dataversesim.SystemUserConfig{
				{FullName: "Integration app", ApplicationID: simIntegration, Roles: []string{"Basic User"}},
				{FullName: "Admin app", ApplicationID: simAdmin, Roles: []string{"System Administrator"}},
				{FullName: "Service account", InternalEmailAddress: simUPN, Roles: []string{"Basic User"}},
				{InternalEmailAddress: "alice@contoso.com"},
				{InternalEmailAddress: "bob@contoso.com", Disabled: true},
				{InternalEmailAddress: "o'brien@contoso.com"},
				{InternalEmailAddress: "carol@contoso.com", BusinessUnit: "sales"},
			},
			SubmittedSalesOrders: 1,
			ImportDuration:       dataversesim.Duration{Duration: 200 * time.Millisecond},
		}},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	srv := dataversesim.NewTestServer(t, cfg)

	// A projected service account token, as the Azure workload identity webhook mounts it.
	sa := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		Issuer: saIssuer, Subject: saSubject, Audience: jwt.ClaimStrings{"api://AzureADTokenExchange"},
		IssuedAt: jwt.NewNumericDate(time.Now()), ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	})
	signed, err := sa.SignedString(saKey)
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "azure-identity-token")
	if err := os.WriteFile(tokenFile, []byte(signed), 0o600); err != nil {
		t.Fatal(err)
	}
	return &simFixture{
		srv: srv, env: srv.Environment(simEnv), certPEM: certPEM, keyPEM: keyPEM, tokenFile: tokenFile,
		pool: dataverse.NewPool(dataverse.PoolOptions{
			UserAgent: "dataverse-sim-test", Timeout: 10 * time.Second,
			AllowedAuthorityHosts: simHosts, AllowedEnvironmentDomains: simHosts,
			Retry: dataverse.RetryPolicy{MaxAttempts: 3, BaseDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond, MaxWait: 10 * time.Second},
		}),
	}
}

// simHosts allows the simulator, which listens on the loopback address.
var simHosts = []string{"127.0.0.1"}

func (f *simFixture) integrationCreds() dataverse.Credentials {
	return dataverse.Credentials{Type: dataverse.AuthClientSecret, TenantID: simTenant, ClientID: simIntegration,
		ClientSecret: simIntSecret, AuthorityHost: f.srv.AuthorityHost()}
}

func (f *simFixture) adminCreds() dataverse.Credentials {
	return dataverse.Credentials{Type: dataverse.AuthClientSecret, TenantID: simTenant, ClientID: simAdmin,
		ClientSecret: simAdminSecret, AuthorityHost: f.srv.AuthorityHost()}
}

func (f *simFixture) client(t *testing.T, creds dataverse.Credentials) *dataverse.Client {
	t.Helper()
	c, err := f.pool.Client(f.srv.EnvironmentURL(simEnv), creds, f.srv.CACertPEM())
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	return c
}

// requests returns the simulator's log entries of one operation.
func (f *simFixture) requests(op string) []dataversesim.Request {
	var out []dataversesim.Request
	for _, r := range f.srv.Requests() {
		if r.Operation == op {
			out = append(out, r)
		}
	}
	return out
}

func integrationPackage(t *testing.T, version string) []byte {
	t.Helper()
	pkg, err := solution.Build(solution.Package{UniqueName: dataversesim.IntegrationSolutionName,
		FriendlyName: "Dynamics 365 Business Central", Version: version, Managed: true})
	if err != nil {
		t.Fatal(err)
	}
	return pkg
}

// importAndWait imports pkg as the administrator and polls the job until it is done.
func importAndWait(t *testing.T, ctx context.Context, admin *dataverse.Client, pkg []byte) (dataverse.ImportHandle, dataverse.AsyncOperation) {
	t.Helper()
	h, err := admin.ImportSolutionAsync(ctx, pkg)
	if err != nil {
		t.Fatalf("ImportSolutionAsync: %v", err)
	}
	return h, waitDone(t, ctx, admin, h)
}

// waitDone polls an import's async operation until it completes.
func waitDone(t *testing.T, ctx context.Context, admin *dataverse.Client, h dataverse.ImportHandle) dataverse.AsyncOperation {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		op, err := admin.GetAsyncOperation(ctx, h.AsyncOperationID)
		if err != nil {
			t.Fatalf("GetAsyncOperation: %v", err)
		}
		if op.Done() {
			return op
		}
		if time.Now().After(deadline) {
			t.Fatalf("import still running: %+v", op)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSimEveryCall(t *testing.T) {
	f := newSim(t)
	ctx := context.Background()
	integ := f.client(t, f.integrationCreds())
	admin := f.client(t, f.adminCreds())

	who, err := integ.WhoAmI(ctx)
	if err != nil {
		t.Fatalf("WhoAmI: %v", err)
	}
	want, _ := f.env.UserByApplicationID(simIntegration)
	if who.UserID != want.ID || who.BusinessUnitID != want.BusinessUnitID || who.OrganizationID != f.env.OrganizationID() {
		t.Errorf("WhoAmI = %+v, want user %s in %s", who, want.ID, want.BusinessUnitID)
	}
	if v, err := integ.RetrieveVersion(ctx); err != nil || v != "9.2.24101.140" {
		t.Errorf("RetrieveVersion = %q, %v", v, err)
	}
	user, err := integ.GetSystemUser(ctx, who.UserID)
	if err != nil || user.ID != who.UserID || user.ApplicationID != simIntegration || user.IsDisabled || user.BusinessUnitID != who.BusinessUnitID {
		t.Errorf("GetSystemUser = %+v, %v", user, err)
	}
	if _, err := integ.GetSystemUser(ctx, "99999999-9999-9999-9999-999999999999"); !dataverse.IsNotFound(err) {
		t.Errorf("GetSystemUser(unknown) = %v, want NotFound", err)
	}

	users, err := integ.FindUsersByEmail(ctx, []string{"ALICE@contoso.com", "bob@contoso.com", "o'brien@contoso.com", "nobody@contoso.com"})
	if err != nil {
		t.Fatalf("FindUsersByEmail: %v", err)
	}
	var emails []string
	for _, u := range users {
		emails = append(emails, u.InternalEmailAddress)
	}
	sort.Strings(emails)
	if strings.Join(emails, ",") != "alice@contoso.com,o'brien@contoso.com" {
		t.Errorf("FindUsersByEmail found %v, want the enabled alice and o'brien", emails)
	}

	// Before the integration solution: no solution, no integration roles, no nav_connections.
	if s, err := integ.GetSolution(ctx, dataversesim.IntegrationSolutionName); s != nil || err != nil {
		t.Errorf("GetSolution before import = %+v, %v", s, err)
	}
	if _, err := admin.FindBusinessUnitRole(ctx, dataversesim.IntegrationAdministratorID, who.BusinessUnitID); !dataverse.IsNotFound(err) {
		t.Errorf("FindBusinessUnitRole before import = %v, want NotFound", err)
	}
	if _, err := admin.FindNavConnection(ctx, "CRONUS"); !dataverse.IsNotFound(err) {
		t.Errorf("FindNavConnection before import = %v, want NotFound (no entity set)", err)
	}

	h, op := importAndWait(t, ctx, admin, integrationPackage(t, "25.0.1.0"))
	if !op.Succeeded() || op.ID != h.AsyncOperationID || op.CompletedOn.IsZero() {
		t.Fatalf("import = %+v", op)
	}
	if res, err := admin.GetImportResult(ctx, h.ImportJobKey); err != nil || !res.Succeeded || len(res.ErrorMessages) != 0 {
		t.Errorf("GetImportResult = %+v, %v", res, err)
	}
	sol, err := integ.GetSolution(ctx, dataversesim.IntegrationSolutionName)
	if err != nil || sol == nil || sol.Version != "25.0.1.0" || !sol.IsManaged || sol.InstalledOn.IsZero() || sol.ID == "" {
		t.Fatalf("GetSolution after import = %+v, %v", sol, err)
	}
	if _, err := admin.GetAsyncOperation(ctx, "99999999-9999-9999-9999-999999999999"); !dataverse.IsNotFound(err) {
		t.Errorf("GetAsyncOperation(unknown) = %v, want NotFound", err)
	}

	// Roles: the business unit's copies, assigned, a duplicate refused, one removed.
	adminRole, err := admin.FindBusinessUnitRole(ctx, dataversesim.IntegrationAdministratorID, who.BusinessUnitID)
	if err != nil || adminRole.Name != "Integration Administrator" || adminRole.BusinessUnitID != who.BusinessUnitID ||
		adminRole.ParentRootRoleID != dataversesim.IntegrationAdministratorID {
		t.Fatalf("FindBusinessUnitRole = %+v, %v", adminRole, err)
	}
	userRole, err := admin.FindRoleByName(ctx, "Integration User", who.BusinessUnitID)
	if err != nil || userRole.ParentRootRoleID != dataversesim.IntegrationUserID {
		t.Fatalf("FindRoleByName = %+v, %v", userRole, err)
	}
	if _, err := admin.FindRoleByName(ctx, "No such role", who.BusinessUnitID); !dataverse.IsNotFound(err) {
		t.Errorf("FindRoleByName(missing) = %v, want NotFound", err)
	}
	for _, r := range []dataverse.Role{adminRole, userRole} {
		if err := admin.AssociateRole(ctx, who.UserID, r.ID); err != nil {
			t.Fatalf("AssociateRole(%s): %v", r.Name, err)
		}
	}
	if err := admin.AssociateRole(ctx, who.UserID, userRole.ID); !dataverse.IsDuplicate(err) {
		t.Errorf("AssociateRole twice = %v, want Duplicate", err)
	}
	withRoles, err := integ.GetSystemUser(ctx, who.UserID)
	if err != nil {
		t.Fatalf("GetSystemUser: %v", err)
	}
	if names := roleNames(withRoles.Roles); names != "Basic User,Integration Administrator,Integration User" {
		t.Errorf("GetSystemUser roles = %s", names)
	}
	if err := admin.DisassociateRole(ctx, who.UserID, adminRole.ID); err != nil {
		t.Fatalf("DisassociateRole: %v", err)
	}
	if got := f.env.UserRoles(who.UserID); strings.Join(got, ",") != "Basic User,Integration User" {
		t.Errorf("roles after DisassociateRole = %v", got)
	}
	// System Administrator is recognized by its template id.
	adminUser, _ := f.env.UserByApplicationID(simAdmin)
	adminWithRoles, err := admin.GetSystemUser(ctx, adminUser.ID)
	if adminRoles := adminWithRoles.Roles; err != nil || len(adminRoles) != 1 || adminRoles[0].RoleTemplateID != dataversesim.SystemAdministratorTemplateID {
		t.Errorf("admin roles = %+v, %v", adminRoles, err)
	}

	// Organization and sales orders.
	org, err := admin.GetOrganization(ctx)
	if err != nil || org.ID != f.env.OrganizationID() || org.SOPIntegrationEnabled {
		t.Fatalf("GetOrganization = %+v, %v", org, err)
	}
	if err := admin.SetSOPIntegration(ctx, org.ID, true); err != nil || !f.env.SOPIntegration() {
		t.Errorf("SetSOPIntegration: %v (flag %v)", err, f.env.SOPIntegration())
	}
	if has, err := admin.HasSubmittedSalesOrders(ctx); err != nil || !has {
		t.Errorf("HasSubmittedSalesOrders = %v, %v", has, err)
	}
	f.env.ClearSalesOrders()
	if has, err := admin.HasSubmittedSalesOrders(ctx); err != nil || has {
		t.Errorf("HasSubmittedSalesOrders after clearing = %v, %v", has, err)
	}

	// The Business Central link.
	const company = "CRONUS USA, Inc."
	const linkURL = "https://businesscentral.dynamics.com/t/Production?company=CRONUS%20USA,%20Inc."
	if n, err := admin.FindNavConnection(ctx, linkURL); n != nil || err != nil {
		t.Errorf("FindNavConnection before create = %v, %v", n, err)
	}
	link := dataverse.NavConnection{Name: company, URL: linkURL,
		ODataURL: "https://api.businesscentral.dynamics.com/v2.0/t/Production/ODataV4/", ODataUsername: "CRM-ITEMS", ODataAccessKey: "key-123"}
	id, err := admin.CreateNavConnection(ctx, link)
	if err != nil || id == "" {
		t.Fatalf("CreateNavConnection = %q, %v", id, err)
	}
	got, err := admin.FindNavConnection(ctx, linkURL)
	link.ID = id
	if err != nil || got == nil || *got != link {
		t.Fatalf("FindNavConnection = %+v, %v; want %+v", got, err, link)
	}
	link.ODataURL, link.ODataUsername, link.ODataAccessKey = "", "", ""
	if err := admin.UpdateNavConnection(ctx, id, link); err != nil {
		t.Fatalf("UpdateNavConnection: %v", err)
	}
	if rows := f.env.NavConnections(); len(rows) != 1 || rows[0].ODataURL != "" || rows[0].ODataAccessKey != "" || rows[0].URL != link.URL {
		t.Errorf("row after update = %+v", rows)
	}
	if err := admin.DeleteNavConnection(ctx, id); err != nil {
		t.Fatalf("DeleteNavConnection: %v", err)
	}
	if err := admin.DeleteNavConnection(ctx, id); !dataverse.IsNotFound(err) {
		t.Errorf("DeleteNavConnection twice = %v, want NotFound", err)
	}
	if err := admin.UpdateNavConnection(ctx, id, link); !dataverse.IsNotFound(err) {
		t.Errorf("UpdateNavConnection of a deleted row = %v, want NotFound", err)
	}
}

func roleNames(roles []dataverse.Role) string {
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// The simulator registers the operator's default public client in tenants that do not
// list it; both must name the same application.
func TestSimKnowsTheDefaultPublicClient(t *testing.T) {
	if dataverse.DefaultPublicClientID != dataversesim.DefaultPublicClientID {
		t.Fatalf("dataverse.DefaultPublicClientID %s != dataversesim.DefaultPublicClientID %s",
			dataverse.DefaultPublicClientID, dataversesim.DefaultPublicClientID)
	}
	f := newSim(t, func(c *dataversesim.Config) { c.Tenants[0].Apps = c.Tenants[0].Apps[:2] })
	c := f.client(t, dataverse.Credentials{Type: dataverse.AuthOAuth, TenantID: simTenant, Username: simUPN,
		Password: simPassword, AuthorityHost: f.srv.AuthorityHost()})
	if _, err := c.WhoAmI(context.Background()); err != nil {
		t.Fatalf("OAuth without a client ID: %v", err)
	}
}

// TestSimUserWithoutTenant: a user name and password without a tenant signs in through
// Entra ID's organizations alias, and Dataverse accepts the token of the user's tenant.
func TestSimUserWithoutTenant(t *testing.T) {
	f := newSim(t)
	for _, typ := range []dataverse.AuthType{dataverse.AuthOAuth, dataverse.AuthOffice365} {
		t.Run(string(typ), func(t *testing.T) {
			f.srv.ResetRequests()
			c := f.client(t, dataverse.Credentials{Type: typ, Username: simUPN, Password: simPassword, AuthorityHost: f.srv.AuthorityHost()})
			if _, err := c.WhoAmI(context.Background()); err != nil {
				t.Fatalf("WhoAmI: %v", err)
			}
			tokens := f.requests("Token")
			if len(tokens) != 1 || tokens[0].Path != "/organizations/oauth2/v2.0/token" {
				t.Errorf("token requests = %+v, want one to /organizations", tokens)
			}
		})
	}
	// An application has no alias to fall back on: its tenant is required.
	_, err := f.pool.Client(f.srv.EnvironmentURL(simEnv), dataverse.Credentials{Type: dataverse.AuthClientSecret,
		ClientID: simIntegration, ClientSecret: simIntSecret, AuthorityHost: f.srv.AuthorityHost()}, f.srv.CACertPEM())
	if dataverse.ReasonOf(err) != dataverse.ReasonAuthenticationFailed || !strings.Contains(err.Error(), "tenant") {
		t.Errorf("ClientSecret without a tenant: %v, want a missing tenant", err)
	}
}

func TestSimCredentialTypes(t *testing.T) {
	f := newSim(t)
	appUser, _ := f.env.UserByApplicationID(simIntegration)
	authority := f.srv.AuthorityHost()
	tests := []struct {
		name  string
		creds dataverse.Credentials
		// principal is who the simulator's log names.
		principal string
		user      string // "" for the integration application user
	}{
		{"ClientSecret", f.integrationCreds(), simIntegration, ""},
		{"Certificate", dataverse.Credentials{Type: dataverse.AuthCertificate, TenantID: simTenant, ClientID: simIntegration,
			CertificatePEM: f.certPEM, PrivateKeyPEM: f.keyPEM, AuthorityHost: authority}, simIntegration, ""},
		{"WorkloadIdentity", dataverse.Credentials{Type: dataverse.AuthWorkloadIdentity, TenantID: simTenant, ClientID: simIntegration,
			TokenFile: f.tokenFile, AuthorityHost: authority}, simIntegration, ""},
		{"OAuth", dataverse.Credentials{Type: dataverse.AuthOAuth, TenantID: simTenant, Username: simUPN, Password: simPassword,
			AuthorityHost: authority}, simUPN, simUPN},
		{"Office365", dataverse.Credentials{Type: dataverse.AuthOffice365, TenantID: simTenant, ClientID: dataverse.DefaultPublicClientID,
			Username: simUPN, Password: simPassword, AuthorityHost: authority}, simUPN, simUPN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.ResetRequests()
			c := f.client(t, tt.creds)
			who, err := c.WhoAmI(context.Background())
			if err != nil {
				t.Fatalf("WhoAmI: %v", err)
			}
			if tt.user == "" && who.UserID != appUser.ID {
				t.Errorf("signed in as %s, want the application user %s", who.UserID, appUser.ID)
			}
			if tt.user != "" {
				u, err := c.GetSystemUser(context.Background(), who.UserID)
				if err != nil || !strings.EqualFold(u.InternalEmailAddress, tt.user) {
					t.Errorf("signed in as %+v (%v), want %s", u, err, tt.user)
				}
			}
			tokens := f.requests("Token")
			if len(tokens) != 1 || tokens[0].Status != http.StatusOK || tokens[0].Principal != tt.principal {
				t.Errorf("token requests = %+v", tokens)
			}
		})
	}
}

func TestSimSignInFailures(t *testing.T) {
	f := newSim(t)
	authority := f.srv.AuthorityHost()
	tests := []struct {
		name      string
		creds     dataverse.Credentials
		setup     func()
		ca        []byte
		reason    dataverse.Reason
		transient bool
	}{
		{name: "wrong secret", creds: dataverse.Credentials{Type: dataverse.AuthClientSecret, TenantID: simTenant, ClientID: simIntegration,
			ClientSecret: "wrong-" + simIntSecret, AuthorityHost: authority}, reason: dataverse.ReasonAuthenticationFailed},
		{name: "wrong password", creds: dataverse.Credentials{Type: dataverse.AuthOAuth, TenantID: simTenant, Username: simUPN,
			Password: "wrong-" + simPassword, AuthorityHost: authority}, reason: dataverse.ReasonAuthenticationFailed},
		{name: "unknown tenant", creds: dataverse.Credentials{Type: dataverse.AuthClientSecret, TenantID: "contoso.onmicrosoft.com",
			ClientID: simIntegration, ClientSecret: simIntSecret, AuthorityHost: authority}, reason: dataverse.ReasonAuthenticationFailed},
		{name: "unknown application", creds: dataverse.Credentials{Type: dataverse.AuthClientSecret, TenantID: simTenant,
			ClientID: "00000000-0000-0000-0000-00000000ffff", ClientSecret: simIntSecret, AuthorityHost: authority}, reason: dataverse.ReasonAuthenticationFailed},
		{name: "password through an unregistered client", creds: dataverse.Credentials{Type: dataverse.AuthOAuth, TenantID: simTenant,
			ClientID: "00000000-0000-0000-0000-00000000fffe", Username: simUPN, Password: simPassword, AuthorityHost: authority},
			reason: dataverse.ReasonAuthenticationFailed},
		{name: "password through a confidential client without its secret", creds: dataverse.Credentials{Type: dataverse.AuthOAuth,
			TenantID: simTenant, ClientID: simAdmin, Username: simUPN, Password: simPassword, AuthorityHost: authority},
			reason: dataverse.ReasonAuthenticationFailed},
		{name: "certificate not registered", creds: func() dataverse.Credentials {
			cert, key := testpki.SelfSigned(t, false)
			return dataverse.Credentials{Type: dataverse.AuthCertificate, TenantID: simTenant, ClientID: simIntegration,
				CertificatePEM: cert, PrivateKeyPEM: key, AuthorityHost: authority}
		}(), reason: dataverse.ReasonAuthenticationFailed},
		{name: "token endpoint outage", creds: f.integrationCreds(), reason: dataverse.ReasonUnreachable, transient: true,
			setup: func() { f.srv.Faults().TokenEndpointOutage(true) }},
		{name: "CA not trusted", creds: f.integrationCreds(), ca: []byte{}, reason: dataverse.ReasonTLSError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.Faults().TokenEndpointOutage(false)
			if tt.setup != nil {
				tt.setup()
			}
			defer f.srv.Faults().TokenEndpointOutage(false)
			ca := f.srv.CACertPEM()
			if tt.ca != nil {
				ca = tt.ca
			}
			// A pool of its own: no token cached by an earlier case.
			pool := dataverse.NewPool(dataverse.PoolOptions{Retry: dataverse.RetryPolicy{BaseDelay: 10 * time.Millisecond},
				AllowedAuthorityHosts: simHosts, AllowedEnvironmentDomains: simHosts})
			c, err := pool.Client(f.srv.EnvironmentURL(simEnv), tt.creds, ca)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.WhoAmI(context.Background())
			if dataverse.ReasonOf(err) != tt.reason || dataverse.IsTransient(err) != tt.transient {
				t.Fatalf("err = %v, want %s (transient %v)", err, tt.reason, tt.transient)
			}
			for _, secret := range []string{simIntSecret, simPassword, string(f.keyPEM)} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error text leaks a secret: %q", err)
				}
			}
		})
	}
}

// TestSimTokenRefresh: a token Dataverse stops accepting (revoked, expired early) is
// replaced once; a token about to expire is replaced before it is sent.
func TestSimTokenRefresh(t *testing.T) {
	t.Run("revoked", func(t *testing.T) {
		f := newSim(t)
		ctx := context.Background()
		c := f.client(t, f.integrationCreds())
		if _, err := c.WhoAmI(ctx); err != nil {
			t.Fatal(err)
		}
		f.srv.RevokeTokens()
		// The simulator revokes by whole seconds: a token from the next second is valid.
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
		if _, err := c.RetrieveVersion(ctx); err != nil {
			t.Fatalf("after revocation: %v", err)
		}
		calls := f.requests("RetrieveVersion")
		if len(calls) != 2 || calls[0].Status != http.StatusUnauthorized || calls[1].Status != http.StatusOK {
			t.Errorf("RetrieveVersion requests = %+v, want 401 then 200", calls)
		}
		if n := len(f.requests("Token")); n != 2 {
			t.Errorf("%d token requests, want 2", n)
		}
	})
	t.Run("short-lived", func(t *testing.T) {
		f := newSim(t, func(c *dataversesim.Config) { c.TokenLifetime = dataversesim.Duration{Duration: 2 * time.Second} })
		ctx := context.Background()
		c := f.client(t, f.integrationCreds())
		for range 3 {
			if _, err := c.WhoAmI(ctx); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
		}
		for _, r := range f.requests("WhoAmI") {
			if r.Status != http.StatusOK {
				t.Errorf("an expired token was sent: %+v", r)
			}
		}
		if n := len(f.requests("Token")); n < 2 {
			t.Errorf("%d token requests, want the token renewed before expiry", n)
		}
	})
}

// TestSimThrottling: a 429's Retry-After holds back every caller of the environment; no
// request arrives before it has passed.
func TestSimThrottling(t *testing.T) {
	f := newSim(t)
	ctx := context.Background()
	integ := f.client(t, f.integrationCreds())
	other := f.client(t, f.adminCreds())
	for _, c := range []*dataverse.Client{integ, other} { // sign in first: only Web API calls count
		if _, err := c.WhoAmI(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.srv.ResetRequests()
	faults := f.env.Faults()
	faults.ThrottleAfter(1, time.Minute, time.Second)

	if _, err := integ.RetrieveVersion(ctx); err != nil { // the one request the window allows
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { _, errs[0] = integ.WhoAmI(ctx) })
	// Wait for the 429, then lift the limit and start a caller of another principal: it
	// must wait out the same Retry-After although it was never throttled itself.
	env := f.srv.EnvironmentURL(simEnv)
	for deadline := time.Now().Add(5 * time.Second); f.pool.ThrottledUntil(env).IsZero(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the 429 was not recorded")
		}
	}
	var throttled dataversesim.Request
	for _, r := range f.requests("WhoAmI") {
		if r.Status == http.StatusTooManyRequests {
			throttled = r
		}
	}
	if throttled.Status == 0 {
		t.Fatal("no 429 in the simulator's log")
	}
	faults.ThrottleAfter(0, 0, 0)
	wg.Go(func() { _, errs[1] = other.RetrieveVersion(ctx) })
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	retryAt := throttled.Time.Add(time.Second) // Retry-After: 1
	for _, r := range f.srv.Requests() {
		if r.Environment == simEnv && r.Time.After(throttled.Time) && r.Time.Before(retryAt) {
			t.Errorf("%s by %s arrived %v after the 429, before Retry-After passed", r.Operation, r.Principal, r.Time.Sub(throttled.Time))
		}
	}
	if n := len(f.requests("WhoAmI")); n != 2 {
		t.Errorf("%d WhoAmI requests, want the throttled one and its retry", n)
	}
	if until := f.pool.ThrottledUntil(env); until.Before(retryAt) {
		t.Errorf("ThrottledUntil = %v, before %v", until, retryAt)
	}
}

func TestSimServerErrorsAndWrites(t *testing.T) {
	f := newSim(t)
	ctx := context.Background()
	admin := f.client(t, f.adminCreds())
	who, err := admin.WhoAmI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	faults := f.env.Faults()

	t.Run("503 on a read is retried", func(t *testing.T) {
		faults.FailNext("GetSystemUser", http.StatusServiceUnavailable, "0x80040216", 2)
		if _, err := admin.GetSystemUser(ctx, who.UserID); err != nil {
			t.Fatalf("GetSystemUser: %v", err)
		}
		calls := f.requests("GetSystemUser")
		if len(calls) != 3 || calls[0].Status != 503 || calls[1].Status != 503 || calls[2].Status != 200 {
			t.Errorf("requests = %+v, want 503, 503, 200", calls)
		}
	})
	t.Run("503 on a write is not retried", func(t *testing.T) {
		faults.FailNext("PatchOrganization", http.StatusServiceUnavailable, "0x80040216", 1)
		org, err := admin.GetOrganization(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = admin.SetSOPIntegration(ctx, org.ID, true)
		if dataverse.ReasonOf(err) != dataverse.ReasonServerError || !dataverse.IsTransient(err) {
			t.Fatalf("err = %v, want transient ServerError", err)
		}
		if n := len(f.requests("PatchOrganization")); n != 1 {
			t.Errorf("%d PATCH requests, want 1", n)
		}
	})
	t.Run("a role from another business unit", func(t *testing.T) {
		users, err := admin.FindUsersByEmail(ctx, []string{"carol@contoso.com"})
		if err != nil || len(users) != 1 {
			t.Fatalf("FindUsersByEmail = %v, %v", users, err)
		}
		rootRole, err := admin.FindRoleByName(ctx, "Basic User", who.BusinessUnitID)
		if err != nil {
			t.Fatal(err)
		}
		err = admin.AssociateRole(ctx, users[0].ID, rootRole.ID)
		if err == nil || dataverse.IsTransient(err) || dataverse.IsDuplicate(err) {
			t.Errorf("err = %v, want a terminal refusal", err)
		}
	})
}

func TestSimImportFailures(t *testing.T) {
	f := newSim(t, func(c *dataversesim.Config) {
		c.Environments[0].ImportDuration = dataversesim.Duration{Duration: 100 * time.Millisecond}
	})
	ctx := context.Background()
	integ := f.client(t, f.integrationCreds())
	admin := f.client(t, f.adminCreds())
	pkg := integrationPackage(t, "25.0.1.0")

	_, err := integ.ImportSolutionAsync(ctx, pkg)
	if dataverse.ReasonOf(err) != dataverse.ReasonPrivilegeDenied || dataverse.IsTransient(err) {
		t.Fatalf("import without System Administrator: %v, want terminal PrivilegeDenied", err)
	}
	var de *dataverse.Error
	if !errors.As(err, &de) || de.StatusCode != http.StatusForbidden || de.Code != "0x80040220" {
		t.Errorf("error = %#v", de)
	}

	if jobs, err := admin.RunningImports(ctx); err != nil || len(jobs) != 0 {
		t.Fatalf("RunningImports before any import = %+v, %v", jobs, err)
	}
	f.env.HoldImports()
	first, err := admin.ImportSolutionAsync(ctx, pkg)
	if err != nil {
		t.Fatalf("first import: %v", err)
	}
	jobs, err := admin.RunningImports(ctx)
	if err != nil || len(jobs) != 1 || jobs[0].ID != first.ImportJobKey ||
		jobs[0].SolutionName != dataversesim.IntegrationSolutionName || jobs[0].CreatedOn.IsZero() {
		t.Fatalf("RunningImports during the import = %+v, %v", jobs, err)
	}
	if _, err := integ.RunningImports(ctx); dataverse.ReasonOf(err) != dataverse.ReasonPrivilegeDenied {
		t.Errorf("RunningImports without System Administrator: %v, want PrivilegeDenied", err)
	}
	_, err = admin.ImportSolutionAsync(ctx, pkg)
	if dataverse.ReasonOf(err) != dataverse.ReasonImportInProgress || !dataverse.IsTransient(err) {
		t.Fatalf("second import: %v, want transient ImportInProgress", err)
	}
	if !errors.As(err, &de) || de.Code != "0x80071151" {
		t.Errorf("second import's code = %q, want the one classify.go maps", de.Code)
	}
	if n := len(f.requests("ImportSolutionAsync")); n != 3 {
		t.Errorf("%d import requests, want 3: none retried", n)
	}
	for _, r := range f.requests("ImportSolutionAsync") {
		if r.Method != http.MethodPost {
			t.Errorf("unexpected %s", r.Method)
		}
	}

	// A failing import: the job fails and the result says why.
	f.env.SetImportDuration(100 * time.Millisecond)
	f.env.FailImports("The import failed: simulated.")
	f.env.ReleaseImports()
	waitDone(t, ctx, admin, first)
	if jobs, err := admin.RunningImports(ctx); err != nil || len(jobs) != 0 {
		t.Errorf("RunningImports after the import completed = %+v, %v", jobs, err)
	}
	h, op := importAndWait(t, ctx, admin, integrationPackage(t, "25.0.2.0"))
	if !op.Done() || op.Succeeded() || op.StatusCode != dataverse.AsyncStatusFailed {
		t.Fatalf("import = %+v, want failed", op)
	}
	res, err := admin.GetImportResult(ctx, h.ImportJobKey)
	if err != nil || res.Succeeded || len(res.ErrorMessages) == 0 || !strings.Contains(res.ErrorMessages[0], "simulated") {
		t.Errorf("GetImportResult = %+v, %v", res, err)
	}
}

// TestSimImportMissingDependency: a package whose dependency is not installed fails as
// an import job, not as a refused request, and the result names what is missing.
func TestSimImportMissingDependency(t *testing.T) {
	f := newSim(t)
	ctx := context.Background()
	admin := f.client(t, f.adminCreds())
	const base = "bcbi_CdsBaseIntegration"
	pkg, err := solution.Build(solution.Package{UniqueName: dataversesim.IntegrationSolutionName,
		FriendlyName: "Dynamics 365 Business Central", Version: "25.0.1.0", Managed: true, Dependencies: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	h, op := importAndWait(t, ctx, admin, pkg)
	if !op.Done() || op.Succeeded() || op.StatusCode != dataverse.AsyncStatusFailed {
		t.Fatalf("import = %+v, want failed", op)
	}
	res, err := admin.GetImportResult(ctx, h.ImportJobKey)
	if err != nil || res.Succeeded || len(res.ErrorMessages) == 0 ||
		!strings.Contains(res.ErrorMessages[0], "Dependencies are missing") || !strings.Contains(res.ErrorMessages[0], base) {
		t.Fatalf("GetImportResult = %+v, %v; want the missing %s named", res, err, base)
	}
	if _, installed := f.env.Solution(dataversesim.IntegrationSolutionName); installed {
		t.Error("the solution was installed without its dependency")
	}

	// With the dependency in place the same package imports.
	if err := f.env.InstallSolution(base, "1.0.0.0"); err != nil {
		t.Fatal(err)
	}
	if _, op := importAndWait(t, ctx, admin, pkg); !op.Succeeded() {
		t.Errorf("import with the dependency = %+v", op)
	}
}

// TestRootRoleFoundWhateverItsRootReference: the root business unit's copy of a role is
// the root role itself; a server may leave its root reference empty or name itself.
func TestRootRoleFoundWhateverItsRootReference(t *testing.T) {
	for _, shape := range []string{"self", "empty"} {
		t.Run(shape, func(t *testing.T) {
			f := newSim(t, func(cfg *dataversesim.Config) { cfg.Environments[0].RootRoleParentRef = shape })
			ctx := context.Background()
			admin := f.client(t, f.adminCreds())
			who, err := f.client(t, f.integrationCreds()).WhoAmI(ctx)
			if err != nil {
				t.Fatal(err)
			}
			importAndWait(t, ctx, admin, integrationPackage(t, "25.0.1.0"))
			carol, err := admin.FindUsersByEmail(ctx, []string{"carol@contoso.com"})
			if err != nil || len(carol) != 1 {
				t.Fatalf("FindUsersByEmail = %+v, %v", carol, err)
			}
			for _, bu := range []string{who.BusinessUnitID, carol[0].BusinessUnitID} {
				role, err := admin.FindBusinessUnitRole(ctx, dataversesim.IntegrationUserID, bu)
				if err != nil || role.BusinessUnitID != bu || role.Name != "Integration User" {
					t.Errorf("business unit %s: FindBusinessUnitRole = %+v, %v", bu, role, err)
				}
			}
		})
	}
}
