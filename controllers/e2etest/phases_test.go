package e2etest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

// withIntegrationSolution installs the integration solution before the operator runs,
// as an environment that was connected by hand is.
func withIntegrationSolution(cfg *dataversesim.Config) {
	cfg.Environments[0].Solutions = append(cfg.Environments[0].Solutions,
		dataversesim.SolutionConfig{UniqueName: dataversesim.IntegrationSolutionName, Version: packageVersion, Managed: true})
}

func TestSecurityRolesOverride(t *testing.T) {
	t.Run("the named roles instead of the two integration roles", func(t *testing.T) {
		f := newFixture(t)
		f.standardSecrets()
		spec := f.fullSpec()
		spec.SecurityRoles = []string{dataversesim.IntegrationUserID}
		f.create("contoso", spec)
		sc := waitReady(t, f.ns, "contoso")
		if len(sc.Status.AssignedRoles) != 1 || sc.Status.AssignedRoles[0].Name != "Integration User" || !sc.Status.AssignedRoles[0].Managed {
			t.Errorf("assignedRoles = %+v, want Integration User only, assigned by the operator", sc.Status.AssignedRoles)
		}
		if roles := strings.Join(f.sim.env.UserRoles(f.sim.integrationUserID), ","); roles != "Basic User,Integration User" {
			t.Errorf("integration user roles = %s", roles)
		}
	})
	t.Run("a role that does not exist", func(t *testing.T) {
		f := newFixture(t)
		f.standardSecrets()
		spec := f.fullSpec()
		spec.SecurityRoles = []string{"Integration User", "Salesperson"}
		f.create("contoso", spec)
		sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonRoleNotFound)
		if msg := condition(sc, salesv1alpha1.ConditionRolesAssigned).Message; !strings.Contains(msg, "Salesperson") || !strings.Contains(msg, "spec.securityRoles") {
			t.Errorf("message %q must name the role and the field", msg)
		}
	})
	t.Run("without an administrator the missing roles are named", func(t *testing.T) {
		f := newFixture(t, withIntegrationSolution)
		f.standardSecrets()
		f.create("contoso", f.connectionOnlySpec())
		sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonRolesNotAssigned)
		msg := condition(sc, salesv1alpha1.ConditionRolesAssigned).Message
		for _, want := range []string{"Integration Administrator", "Integration User", "spec.administrator"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q lacks %q", msg, want)
			}
		}
		if w := f.sim.srv.Writes("contoso"); w != 0 {
			t.Errorf("%d writes without an administrator", w)
		}
	})
}

func TestItemAvailabilityFillsTheODataFields(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	const odataURL = "https://bc.contoso.com:7048/BC170/OData/Company('CRONUS%20USA%2C%20Inc.')/ProductItemAvailability"
	f.secret("bc-odata", map[string]string{"accessKey": "first-access-key"})
	spec := f.fullSpec()
	spec.BusinessCentral.ItemAvailability = &salesv1alpha1.ItemAvailability{
		Enabled: true, ODataURL: odataURL, Username: "CRM-ITEMS",
		AccessKeySecretRef: &salesv1alpha1.KeyReference{Name: "bc-odata", Key: "accessKey"},
	}
	f.create("contoso", spec)
	sc := waitReady(t, f.ns, "contoso")
	links := f.sim.env.NavConnections()
	if len(links) != 1 || links[0].ODataURL != odataURL || links[0].ODataUsername != "CRM-ITEMS" || links[0].ODataAccessKey != "first-access-key" {
		t.Fatalf("nav_connections = %+v", links)
	}
	noSecretIn(t, sc, "first-access-key")

	// A rotated access key reaches the link through the Secret watch.
	f.secret("bc-odata", map[string]string{"accessKey": "second-access-key"})
	waitFor(t, f.ns, "contoso", "the rotated access key in the link", func(*salesv1alpha1.SalesConnection) bool {
		links := f.sim.env.NavConnections()
		return len(links) == 1 && links[0].ODataAccessKey == "second-access-key"
	})
	events := strings.Join(eventsFor(t, f.ns, "contoso")["DriftCorrected"], "\n")
	if strings.Contains(events, "access-key") {
		t.Error("an event reveals the access key")
	}
}

func TestInvalidURLStalls(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	spec := f.connectionOnlySpec()
	spec.URL = "https:///contoso" // passes the schema, names no host
	f.create("contoso", spec)
	sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonInvalidURL)
	if msg := condition(sc, salesv1alpha1.ConditionConnectionVerified).Message; !strings.Contains(msg, "spec.url") {
		t.Errorf("message %q must name spec.url", msg)
	}
	if n := f.sim.srv.CountRequests(nil); n != 0 {
		t.Errorf("%d requests for an unusable URL", n)
	}
}

func TestDataverseRefusalStallsWithItsMessage(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.sim.env.Faults().FailNext("GetOrganization", 400, "0x80040203", 1)
	f.create("contoso", f.fullSpec())
	sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonDataverseError)
	msg := condition(sc, salesv1alpha1.ConditionSalesOrderIntegrationConfigured).Message
	if !strings.Contains(msg, "0x80040203") || !strings.Contains(msg, "organization settings") {
		t.Errorf("message %q must say what was refused, with Dataverse's code", msg)
	}
	// Fixed in Dataverse (the fault was one request): a person asks for a new check.
	requestTestConnection(t, f.ns, "after-fix")
	waitReady(t, f.ns, "contoso")
}

func TestDeprovisionWaitsForSubmittedOrders(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	spec := f.fullSpec()
	spec.DeletionPolicy = salesv1alpha1.DeletionPolicyDeprovision
	f.create("contoso", spec)
	sc := waitReady(t, f.ns, "contoso")
	f.sim.env.AddSalesOrder(1)
	if err := k8s.Delete(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	sc = waitFor(t, f.ns, "contoso", "deletion waiting for submitted orders", func(sc *salesv1alpha1.SalesConnection) bool {
		c := condition(sc, salesv1alpha1.ConditionStalled)
		return c != nil && c.Reason == string(salesv1alpha1.ReasonSubmittedOrdersExist)
	})
	if msg := condition(sc, salesv1alpha1.ConditionStalled).Message; !strings.Contains(msg, "deletion is waiting") || !strings.Contains(msg, salesv1alpha1.AnnotationForceDelete) {
		t.Errorf("message %q must say deletion waits and how to force it", msg)
	}
	if !f.sim.env.SOPIntegration() {
		t.Error("the flag was turned off while a submitted order exists")
	}
	f.sim.env.ClearSalesOrders()
	requestTestConnection(t, f.ns, "orders-processed")
	waitGone(t, f.ns)
	if f.sim.env.SOPIntegration() {
		t.Error("Deprovision left sales order integration on")
	}
}

func TestObserveModeDeletionTouchesNothing(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.create("contoso", f.fullSpec())
	waitReady(t, f.ns, "contoso")
	f.update("contoso", func(spec *salesv1alpha1.SalesConnectionSpec) {
		spec.ManagementPolicy = salesv1alpha1.ManagementPolicyObserve
		spec.DeletionPolicy = salesv1alpha1.DeletionPolicyDeprovision
	})
	sc := waitFor(t, f.ns, "contoso", "Observe mode seen", func(sc *salesv1alpha1.SalesConnection) bool {
		return sc.Status.ObservedGeneration == sc.Generation
	})
	f.sim.srv.ResetRequests()
	if err := k8s.Delete(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	waitGone(t, f.ns)
	if w := f.sim.srv.Writes("contoso"); w != 0 {
		t.Errorf("deleting in Observe mode wrote %d times to Dataverse", w)
	}
	if len(f.sim.env.NavConnections()) != 1 || !f.sim.env.SOPIntegration() {
		t.Error("deleting in Observe mode changed Dataverse")
	}
}

// TestTheLinkRowIsBusinessCentrals: the row Business Central wrote for the company is
// adopted, never doubled, and a second SalesConnection for the same environment and
// company is refused until the first gives the link up.
func TestTheLinkRowIsBusinessCentrals(t *testing.T) {
	f := newFixture(t, withIntegrationSolution)
	f.standardSecrets()
	bcRow := webClientURL + "?company=CRONUS%20USA,%20Inc."
	f.sim.env.AddNavConnection(company, bcRow)
	f.create("first", f.fullSpec())
	waitReady(t, f.ns, "first")
	if links := f.sim.env.NavConnections(); len(links) != 1 || links[0].URL != bcRow {
		t.Fatalf("nav_connections = %+v; want Business Central's row, adopted", links)
	}

	second := f.fullSpec()
	second.WriteConnectionProfileTo = &salesv1alpha1.LocalObjectReference{Name: "profile-2"}
	f.create("second", second)
	sc := stalledWith(t, f.ns, "second", salesv1alpha1.ReasonLinkConflict)
	if msg := condition(sc, salesv1alpha1.ConditionBusinessCentralLinked).Message; !strings.Contains(msg, f.ns+"/first") {
		t.Errorf("message %q must name the first", msg)
	}
	// The first gives the link up: the second takes the row over, and it stays one.
	f.update("first", func(spec *salesv1alpha1.SalesConnectionSpec) { spec.BusinessCentral = nil })
	waitReady(t, f.ns, "second")
	if links := f.sim.env.NavConnections(); len(links) != 1 || links[0].URL != bcRow {
		t.Errorf("nav_connections = %+v; want the one row", links)
	}
}

// TestOnPremises91ServerReachesReady: a 9.1 server has no /api/data/v9.2/. The operator
// asks the version in v9.0 and then speaks v9.1, so every phase (import, roles, link,
// sales orders) works against it and no request meets a version the server lacks.
func TestOnPremises91ServerReachesReady(t *testing.T) {
	f := newFixture(t, func(c *dataversesim.Config) { c.Environments[0].Version = "9.1.0.3452" })
	f.standardSecrets()
	spec := f.fullSpec()
	spec.SDKVersion = "9.1"
	f.create("contoso", spec)
	sc := waitReady(t, f.ns, "contoso")
	if sc.Status.ServerVersion != "9.1.0.3452" {
		t.Errorf("status.serverVersion = %q", sc.Status.ServerVersion)
	}
	var versions []string
	for _, r := range f.sim.srv.Requests() {
		if r.Status == http.StatusNotFound && r.Operation == "Unknown" {
			t.Errorf("%s %s answered 404: a Web API version the server does not serve", r.Method, r.Path)
		}
		if strings.Contains(r.Path, "/api/data/v9.1/") {
			versions = append(versions, r.Path)
		}
	}
	if len(versions) == 0 {
		t.Error("no request used the server's own Web API version v9.1")
	}
}

// TestOnPremisesThroughADFSReachesReady: an on-premises 9.1 organization whose identity
// provider is AD FS (IFD). Both principals sign in with user name and password against
// the AD FS authority; AD FS refuses Entra's "/.default" and reads the resource from
// "<resource>/openid", so this fails if the operator asks AD FS the way it asks Entra ID.
func TestOnPremisesThroughADFSReachesReady(t *testing.T) {
	const (
		integrationUPN, integrationPassword = "svc-bc@contoso.local", "ifd-integration-password"
		adminUPN, adminPassword             = "crm-admin@contoso.local", "ifd-admin-password"
	)
	f := newFixture(t, func(c *dataversesim.Config) {
		c.Tenants = append(c.Tenants, dataversesim.TenantConfig{ID: dataversesim.ADFSTenantID, Users: []dataversesim.UserAccount{
			{UserPrincipalName: integrationUPN, Password: integrationPassword},
			{UserPrincipalName: adminUPN, Password: adminPassword},
		}})
		e := &c.Environments[0]
		e.TenantID, e.Version = dataversesim.ADFSTenantID, "9.1.0.3452"
		e.SystemUsers[0] = dataversesim.SystemUserConfig{ID: adminUserID, FullName: "CRM Admin", InternalEmailAddress: adminUPN,
			Roles: []string{"System Administrator"}}
		e.SystemUsers[1] = dataversesim.SystemUserConfig{ID: integrationUserID, FullName: "Business Central Integration",
			InternalEmailAddress: integrationUPN, Roles: []string{"Basic User"}}
	})
	f.secret("ca", map[string]string{"ca.crt": string(f.sim.caPEM)})
	f.secret("integration", map[string]string{"username": integrationUPN, "password": integrationPassword})
	f.secret("admin", map[string]string{"username": adminUPN, "password": adminPassword})
	f.solutionConfigMap(integrationPackage())
	spec := f.fullSpec()
	spec.SDKVersion = "9.1"
	adfs := f.sim.authority + "adfs/"
	spec.Authentication = salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationIFD, AuthorityHost: adfs,
		SecretRef: &salesv1alpha1.LocalObjectReference{Name: "integration"}}
	spec.Administrator = &salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationIFD, AuthorityHost: adfs,
		SecretRef: &salesv1alpha1.LocalObjectReference{Name: "admin"}}
	f.create("contoso", spec)
	waitReady(t, f.ns, "contoso")
	for _, r := range f.sim.srv.Requests() {
		if r.Operation == "Token" && r.Status != http.StatusOK {
			t.Errorf("token request %s answered %d", r.Path, r.Status)
		}
	}
}
