package e2etest

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
)

// Identities of the simulated tenant and environment every fixture uses.
const (
	tenantID      = "00000000-0000-0000-0000-000000000001"
	adminClientID = "22222222-2222-2222-2222-222222222222"
	// The systemuser ids of the administrator and the integration user.
	adminUserID       = "aaaaaaaa-0000-0000-0000-000000000001"
	integrationUserID = "bbbbbbbb-0000-0000-0000-000000000002"
	adminSecret       = "admin-secret-value"
	integrationAppID  = "11111111-1111-1111-1111-111111111111"
	integrationSecret = "integration-secret-value"
	company           = "CRONUS USA, Inc."
	webClientURL      = "https://businesscentral.dynamics.com/tenant/Production"
	packageVersion    = "25.0.1.0"
)

// fixture is one test's world: a namespace, a simulator with one environment, the
// Secrets and the solution ConfigMap.
type fixture struct {
	t   *testing.T
	ns  string
	sim *simEnv
}

// fullSpec asks for everything: import, roles, link, sales orders, user mapping and
// the connection profile.
func (f *fixture) fullSpec() salesv1alpha1.SalesConnectionSpec {
	return salesv1alpha1.SalesConnectionSpec{
		URL:        f.sim.url + "/main.aspx",
		SDKVersion: "9.2",
		Authentication: salesv1alpha1.Authentication{
			Type: salesv1alpha1.AuthenticationClientSecret, TenantID: tenantID, AuthorityHost: f.sim.authority,
			SecretRef: &salesv1alpha1.LocalObjectReference{Name: "integration"},
		},
		Administrator: &salesv1alpha1.Authentication{
			Type: salesv1alpha1.AuthenticationClientSecret, TenantID: tenantID, AuthorityHost: f.sim.authority,
			SecretRef: &salesv1alpha1.LocalObjectReference{Name: "admin"},
		},
		TLS: &salesv1alpha1.TLSConfig{CASecretRef: &salesv1alpha1.KeyReference{Name: "ca", Key: "ca.crt"}},
		IntegrationSolution: &salesv1alpha1.IntegrationSolution{
			Import: true, PackageRef: &salesv1alpha1.KeyReference{Name: "solution", Key: "solution.zip"},
		},
		BusinessCentral: &salesv1alpha1.BusinessCentral{WebClientURL: webClientURL, Company: company},
		SalesOrderIntegration: &salesv1alpha1.SalesOrderIntegration{
			Enabled: true, AutoCreateSalesOrders: true,
		},
		UserMapping:              &salesv1alpha1.UserMapping{Users: []string{"alice@contoso.com", "bob@contoso.com"}},
		Synchronization:          &salesv1alpha1.Synchronization{UseDefaultSetup: true},
		WriteConnectionProfileTo: &salesv1alpha1.LocalObjectReference{Name: "profile"},
	}
}

// connectionOnlySpec only tests the connection.
func (f *fixture) connectionOnlySpec() salesv1alpha1.SalesConnectionSpec {
	spec := f.fullSpec()
	spec.Administrator = nil
	spec.IntegrationSolution = nil
	spec.BusinessCentral = nil
	spec.SalesOrderIntegration = nil
	spec.UserMapping = nil
	spec.Synchronization = nil
	spec.WriteConnectionProfileTo = nil
	return spec
}

// create creates a SalesConnection.
func (f *fixture) create(name string, spec salesv1alpha1.SalesConnectionSpec) {
	f.t.Helper()
	sc := &salesv1alpha1.SalesConnection{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
		Spec:       spec,
	}
	if sc.Spec.Enabled == nil {
		sc.Spec.Enabled = ptr.To(true)
	}
	if err := k8s.Create(context.Background(), sc); err != nil {
		f.t.Fatalf("creating SalesConnection %s: %v", name, err)
	}
}

// update changes the spec of a SalesConnection.
func (f *fixture) update(name string, change func(spec *salesv1alpha1.SalesConnectionSpec)) {
	f.t.Helper()
	sc := get(f.t, f.ns, name)
	change(&sc.Spec)
	if err := k8s.Update(context.Background(), sc); err != nil {
		f.t.Fatalf("updating SalesConnection %s: %v", name, err)
	}
}

// secret creates or replaces a Secret.
func (f *fixture) secret(name string, data map[string]string) {
	f.t.Helper()
	registerSecrets(data)
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name}, StringData: data}
	ctx := context.Background()
	existing := &corev1.Secret{}
	if err := k8s.Get(ctx, keyOf(f.ns, name), existing); err == nil {
		existing.Data = nil
		existing.StringData = data
		if err := k8s.Update(ctx, existing); err != nil {
			f.t.Fatal(err)
		}
		return
	}
	if err := k8s.Create(ctx, s); err != nil {
		f.t.Fatal(err)
	}
}

// solutionConfigMap stores a solution package as the ConfigMap "solution".
func (f *fixture) solutionConfigMap(p solution.Package) {
	f.t.Helper()
	pkg, err := solution.Build(p)
	if err != nil {
		f.t.Fatal(err)
	}
	f.solutionConfigMapRaw(pkg)
}

// solutionConfigMapRaw stores bytes as the solution package in the ConfigMap "solution".
func (f *fixture) solutionConfigMapRaw(pkg []byte) {
	f.t.Helper()
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "solution"},
		BinaryData: map[string][]byte{"solution.zip": pkg},
	}
	if err := k8s.Create(context.Background(), cm); err != nil {
		f.t.Fatal(err)
	}
}

func integrationPackage() solution.Package {
	return solution.Package{UniqueName: "MicrosoftDynamicsNavIntegration", Version: packageVersion, Managed: true}
}

// standardSecrets creates the CA, integration and admin Secrets and the solution
// package.
func (f *fixture) standardSecrets() {
	f.secret("ca", map[string]string{"ca.crt": string(f.sim.caPEM)})
	f.secret("integration", map[string]string{"clientID": integrationAppID, "clientSecret": integrationSecret})
	f.secret("admin", map[string]string{"clientID": adminClientID, "clientSecret": adminSecret})
	f.solutionConfigMap(integrationPackage())
}

// simEnv is the simulator of one test, with environment "contoso".
type simEnv struct {
	srv       *dataversesim.Server
	env       *dataversesim.Environment
	url       string // the environment URL
	authority string
	caPEM     []byte
	// integrationUserID and adminUserID are the systemuser ids.
	integrationUserID, adminUserID string
}

// simOptions adjust the simulated environment.
type simOptions func(*dataversesim.Config)

// newFixture starts a simulator and a namespace for one test.
func newFixture(t *testing.T, opts ...simOptions) *fixture {
	t.Helper()
	return newFixtureIn(t, newNamespace(t), opts...)
}

// newFixtureIn starts a simulator for one test that works in namespace ns.
func newFixtureIn(t *testing.T, ns string, opts ...simOptions) *fixture {
	t.Helper()
	cfg := dataversesim.Config{
		Tenants: []dataversesim.TenantConfig{{
			ID: tenantID,
			Apps: []dataversesim.AppConfig{
				{ClientID: adminClientID, Secrets: []string{adminSecret}},
				{ClientID: integrationAppID, Secrets: []string{integrationSecret}},
			},
		}},
		Environments: []dataversesim.EnvironmentConfig{{
			Name:           "contoso",
			ImportDuration: dataversesim.Duration{Duration: 300 * time.Millisecond},
			SystemUsers: []dataversesim.SystemUserConfig{
				{ID: adminUserID, FullName: "Admin", ApplicationID: adminClientID, Roles: []string{"System Administrator"}},
				{ID: integrationUserID, FullName: "Business Central Integration",
					InternalEmailAddress: "svc-bc@contoso.com", ApplicationID: integrationAppID, Roles: []string{"Basic User"}},
				{FullName: "Alice", InternalEmailAddress: "alice@contoso.com", Roles: []string{"Basic User"}},
				{FullName: "Bob", InternalEmailAddress: "bob@contoso.com", Roles: []string{"Basic User"}},
			},
		}},
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv := dataversesim.NewTestServer(t, cfg)
	f := &fixture{t: t, ns: ns, sim: &simEnv{
		srv: srv, env: srv.Environment("contoso"), url: srv.EnvironmentURL("contoso"),
		authority: srv.AuthorityHost(), caPEM: srv.CACertPEM(),
		integrationUserID: integrationUserID, adminUserID: adminUserID,
	}}
	return f
}

func keyOf(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
