package v1alpha1_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// One control plane for the package: starting kube-apiserver is the slow part.
var env *testenv.Env

const namespace = "default"

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// minimalSpec is the smallest spec the API server accepts.
const minimalSpec = `
url: https://contoso.crm4.dynamics.com
authentication:
  type: ClientSecret
  tenantID: 00000000-0000-0000-0000-000000000001
  secretRef: {name: contoso-integration}
`

// adminSpec adds an administrator, so admin-only features can be turned on.
const adminSpec = minimalSpec + `
administrator:
  type: ClientSecret
  tenantID: 00000000-0000-0000-0000-000000000001
  secretRef: {name: contoso-admin}
`

// importSpec adds the integration solution import.
const importSpec = adminSpec + `
integrationSolution:
  import: true
  packageRef: {name: bc-integration-solution, key: solution.zip}
`

// fullSpec sets every field.
const fullSpec = `
enabled: true
url: contoso.crm4.dynamics.com/main.aspx
sdkVersion: "9.1"
authentication:
  type: ClientSecret
  tenantID: 00000000-0000-0000-0000-000000000001
  authorityHost: https://login.microsoftonline.com/
  secretRef: {name: contoso-integration}
administrator:
  type: Certificate
  tenantID: contoso.onmicrosoft.com
  secretRef: {name: contoso-admin}
tls:
  caSecretRef: {name: contoso-ca, key: ca.crt}
integrationSolution:
  import: true
  packageRef: {name: bc-integration-solution, key: solution.zip}
securityRoles: [Integration Administrator, 6f960e32-a72b-e511-80d9-3863bb349780]
businessCentral:
  webClientURL: https://businesscentral.dynamics.com/tenant/Production
  company: CRONUS USA, Inc.
  itemAvailability:
    enabled: true
    odataURL: https://bc.contoso.com:7048/BC170/OData/Company('CRONUS%20USA%2C%20Inc.')/ProductItemAvailability
    username: CRM-ITEMS
    accessKeySecretRef: {name: contoso-bc-odata, key: accessKey}
salesOrderIntegration:
  enabled: true
  autoCreateSalesOrders: true
  autoProcessSalesQuotes: false
userMapping:
  required: true
  users: [alice@contoso.com, bob@contoso.com]
synchronization:
  useDefaultSetup: true
writeConnectionProfileTo: {name: contoso-profile}
resyncInterval: 30m
deletionPolicy: Deprovision
managementPolicy: Observe
suspend: false
`

// manifest builds a SalesConnection from a spec in YAML, with edits applied on top: each
// edit is "path.to.field=<yaml value>" or "-path.to.field" to remove it.
func manifest(t *testing.T, name, spec string, edits ...string) *unstructured.Unstructured {
	t.Helper()
	specMap := map[string]any{}
	if err := yaml.Unmarshal([]byte(spec), &specMap); err != nil {
		t.Fatalf("bad test spec: %v", err)
	}
	for _, edit := range edits {
		applyEdit(t, specMap, edit)
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": salesv1alpha1.GroupVersion.String(),
		"kind":       "SalesConnection",
		"metadata":   map[string]any{"name": name, "namespace": namespace},
		"spec":       specMap,
	}}
	return u
}

func applyEdit(t *testing.T, obj map[string]any, edit string) {
	t.Helper()
	remove := strings.HasPrefix(edit, "-")
	path, value, _ := strings.Cut(strings.TrimPrefix(edit, "-"), "=")
	fields := strings.Split(path, ".")
	parent := obj
	for _, f := range fields[:len(fields)-1] {
		next, ok := parent[f].(map[string]any)
		if !ok {
			next = map[string]any{}
			parent[f] = next
		}
		parent = next
	}
	last := fields[len(fields)-1]
	if remove {
		delete(parent, last)
		return
	}
	var v any
	if err := yaml.Unmarshal([]byte(value), &v); err != nil {
		t.Fatalf("bad edit %q: %v", edit, err)
	}
	parent[last] = v
}

func TestRefusedManifestsNameTheField(t *testing.T) {
	tooManyUsers := make([]string, 501)
	for i := range tooManyUsers {
		tooManyUsers[i] = fmt.Sprintf("user%d@contoso.com", i)
	}
	cases := []struct {
		name  string
		spec  string
		edits []string
		// want must all appear in the API server's message: the field path, and a hint
		// of what to do.
		want []string
	}{
		{"url missing", minimalSpec, []string{"-url"}, []string{"spec.url", "Required"}},
		{"url empty", minimalSpec, []string{`url=""`}, []string{"spec.url"}},
		{"url with a space", minimalSpec, []string{"url=https://contoso.crm4.dynamics.com/my org"}, []string{"spec.url", "whitespace"}},
		{"url with a Unicode space", minimalSpec, []string{`url="https://contoso\u2001crm4.dynamics.com"`}, []string{"spec.url", "whitespace", "U+00A0"}},
		{"url with another scheme", minimalSpec, []string{"url=ftp://contoso.crm4.dynamics.com"}, []string{"spec.url", "scheme must be https"}},
		{"url http without a port", minimalSpec, []string{"url=http://crm.local/Contoso"}, []string{"spec.url", "port other than 80"}},
		{"url http on port 80", minimalSpec, []string{"url=http://crm.local:80/Contoso"}, []string{"spec.url", "port other than 80"}},
		{"url too long", minimalSpec, []string{"url=https://contoso.crm4.dynamics.com/" + strings.Repeat("a", 2048)}, []string{"spec.url", "2048"}},
		{"sdkVersion neither major.minor nor a proxy id", minimalSpec, []string{`sdkVersion="7"`}, []string{"spec.sdkVersion", "major.minor", "91"}},
		{"sdkVersion with three parts", minimalSpec, []string{`sdkVersion="9.1.0"`}, []string{"spec.sdkVersion", "major.minor"}},
		{"authentication missing", minimalSpec, []string{"-authentication"}, []string{"spec.authentication", "Required"}},
		{"authentication type unknown", minimalSpec, []string{"authentication.type=Kerberos"}, []string{"spec.authentication.type", "Unsupported value"}},
		{"secretRef missing for ClientSecret", minimalSpec, []string{"-authentication.secretRef"}, []string{"spec.authentication.secretRef", "secretRef is required"}},
		{"tenantID missing for ClientSecret", minimalSpec, []string{"-authentication.tenantID"}, []string{"spec.authentication.tenantID", "tenantID is required"}},
		{"tenantID missing for OAuth", minimalSpec, []string{"authentication.type=OAuth", "-authentication.tenantID"}, []string{"spec.authentication.tenantID", "tenantID is required"}},
		{"tenantID malformed", minimalSpec, []string{"authentication.tenantID=contoso tenant!"}, []string{"spec.authentication.tenantID", "GUID"}},
		{"clientID missing for WorkloadIdentity", minimalSpec, []string{"authentication.type=WorkloadIdentity", "-authentication.secretRef"}, []string{"spec.authentication.clientID", "clientID is required"}},
		{"serviceAccountName without WorkloadIdentity", minimalSpec, []string{"authentication.serviceAccountName=bc-sync"}, []string{"spec.authentication.serviceAccountName", "only for WorkloadIdentity"}},
		{"serviceAccountName not an object name", minimalSpec, []string{"authentication.type=WorkloadIdentity", "-authentication.secretRef", "authentication.clientID=11111111-2222-3333-4444-555555555555", "authentication.serviceAccountName=Team_A"}, []string{"spec.authentication.serviceAccountName", "valid object name"}},
		{"clientID not a GUID", minimalSpec, []string{"authentication.type=WorkloadIdentity", "authentication.clientID=my-app"}, []string{"spec.authentication.clientID", "GUID"}},
		{"authorityHost over http", minimalSpec, []string{"authentication.authorityHost=http://login.microsoftonline.com/"}, []string{"spec.authentication.authorityHost", "https"}},
		{"secretRef name invalid", minimalSpec, []string{"authentication.secretRef.name=Contoso_Secret"}, []string{"spec.authentication.secretRef.name", "valid object name"}},
		{"administrator secretRef missing", adminSpec, []string{"-administrator.secretRef"}, []string{"spec.administrator.secretRef", "secretRef is required"}},
		{"import without administrator", importSpec, []string{"-administrator"}, []string{"spec.administrator", "System Administrator"}},
		{"sales orders without administrator", minimalSpec, []string{"salesOrderIntegration.enabled=true"}, []string{"spec.administrator", "administrator is required"}},
		{"securityRoles without administrator", minimalSpec, []string{"securityRoles=[Integration User]"}, []string{"spec.administrator", "administrator is required"}},
		{"securityRoles duplicated", adminSpec, []string{"securityRoles=[Integration User, Integration User]"}, []string{"spec.securityRoles[1]", "Duplicate value"}},
		{"import without packageRef", adminSpec, []string{"integrationSolution.import=true"}, []string{"spec.integrationSolution.packageRef", "packageRef is required"}},
		{"packageRef without key", importSpec, []string{"-integrationSolution.packageRef.key"}, []string{"spec.integrationSolution.packageRef.key", "Required"}},
		{"caSecretRef without key", minimalSpec, []string{"tls.caSecretRef={name: contoso-ca}"}, []string{"spec.tls.caSecretRef.key", "Required"}},
		{"webClientURL without import", adminSpec, []string{"businessCentral.webClientURL=https://businesscentral.dynamics.com/t/Production", "businessCentral.company=CRONUS"}, []string{"spec.businessCentral.webClientURL", "integrationSolution.import"}},
		{"webClientURL without company", importSpec, []string{"businessCentral.webClientURL=https://businesscentral.dynamics.com/t/Production"}, []string{"spec.businessCentral.company", "company is required"}},
		{"webClientURL longer than nav_dynamicsnavurl", importSpec, []string{"businessCentral.webClientURL=https://bc.example.com/" + strings.Repeat("x", 240), "businessCentral.company=CRONUS"}, []string{"spec.businessCentral.webClientURL", "250"}},
		{"webClientURL not a URL", importSpec, []string{"businessCentral.webClientURL=businesscentral", "businessCentral.company=CRONUS"}, []string{"spec.businessCentral.webClientURL", "http or https URL"}},
		{"company longer than Business Central allows", importSpec, []string{"businessCentral.webClientURL=https://bc.example.com/", "businessCentral.company=" + strings.Repeat("C", 31)}, []string{"spec.businessCentral.company", "30"}},
		{"item availability without import", adminSpec, []string{"businessCentral.itemAvailability={enabled: true, odataURL: 'https://bc.example.com:7048/BC170/OData/', username: CRM, accessKeySecretRef: {name: odata, key: accessKey}}"}, []string{"spec.businessCentral.itemAvailability", "integrationSolution.import"}},
		{"item availability without odataURL", importSpec, []string{"businessCentral.itemAvailability={enabled: true, username: CRM, accessKeySecretRef: {name: odata, key: accessKey}}"}, []string{"spec.businessCentral.itemAvailability.odataURL", "odataURL is required"}},
		{"item availability without username", importSpec, []string{"businessCentral.itemAvailability={enabled: true, odataURL: 'https://bc.example.com:7048/BC170/OData/', accessKeySecretRef: {name: odata, key: accessKey}}"}, []string{"spec.businessCentral.itemAvailability.username", "username is required"}},
		{"item availability without access key", importSpec, []string{"businessCentral.itemAvailability={enabled: true, odataURL: 'https://bc.example.com:7048/BC170/OData/', username: CRM}"}, []string{"spec.businessCentral.itemAvailability.accessKeySecretRef", "accessKeySecretRef is required"}},
		{"auto create orders without sales orders", adminSpec, []string{"salesOrderIntegration.autoCreateSalesOrders=true"}, []string{"spec.salesOrderIntegration.autoCreateSalesOrders", "salesOrderIntegration.enabled"}},
		{"auto process quotes without sales orders", adminSpec, []string{"salesOrderIntegration.autoProcessSalesQuotes=true"}, []string{"spec.salesOrderIntegration.autoProcessSalesQuotes", "salesOrderIntegration.enabled"}},
		{"user mapping with a non-email", minimalSpec, []string{"userMapping.users=[alice@contoso.com, bob]"}, []string{"spec.userMapping.users[1]", "email address"}},
		{"user mapping with a duplicate", minimalSpec, []string{"userMapping.users=[alice@contoso.com, alice@contoso.com]"}, []string{"spec.userMapping.users[1]", "Duplicate value"}},
		{"user mapping with too many users", minimalSpec, []string{"userMapping.users=[" + strings.Join(tooManyUsers, ",") + "]"}, []string{"spec.userMapping.users", "500"}},
		{"resyncInterval too short", minimalSpec, []string{"resyncInterval=30s"}, []string{"spec.resyncInterval", "between 1m and 24h"}},
		{"resyncInterval too long", minimalSpec, []string{"resyncInterval=25h"}, []string{"spec.resyncInterval", "between 1m and 24h"}},
		{"resyncInterval not a duration", minimalSpec, []string{"resyncInterval=soon"}, []string{"spec.resyncInterval", "between 1m and 24h"}},
		{"deletionPolicy unknown", minimalSpec, []string{"deletionPolicy=Delete"}, []string{"spec.deletionPolicy", "Unsupported value"}},
		{"managementPolicy unknown", minimalSpec, []string{"managementPolicy=ReadOnly"}, []string{"spec.managementPolicy", "Unsupported value"}},
		{"enabled not a boolean", minimalSpec, []string{`enabled="yes"`}, []string{"spec.enabled", "boolean"}},
	}
	ctx := context.Background()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("refused-%d", i)
			obj := manifest(t, name, tc.spec, tc.edits...)
			err := env.Client.Create(ctx, obj)
			if err == nil {
				t.Fatalf("the API server accepted a manifest it must refuse")
			}
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message does not contain %q:\n%v", w, err)
				}
			}
			// Nothing is stored.
			got := &salesv1alpha1.SalesConnection{}
			if err := env.Client.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, got); !apierrors.IsNotFound(err) {
				t.Errorf("a refused manifest was stored (get: %v)", err)
			}
		})
	}
}

// TestURLWithUserInfoIsRefused: a user name or password in spec.url is refused by the
// API server, and its answer does not repeat them; an "@" after the host is fine. The
// other url rules pass such a URL, so that only the user-info rule answers, as Forbidden:
// an Invalid answer quotes the value, password included.
func TestURLWithUserInfoIsRefused(t *testing.T) {
	ctx := context.Background()
	for i, url := range []string{
		"https://admin:Pw-S3CR3T@contoso.crm4.dynamics.com",
		"HTTPS://admin:Pw-S3CR3T@contoso.crm4.dynamics.com/main.aspx",
		"admin:Pw-S3CR3T@contoso.crm4.dynamics.com",
		"https://Pw-S3CR3T@contoso.crm4.dynamics.com",
		"http://admin:Pw-S3CR3T@crm.local:5555/Contoso",
	} {
		t.Run(url, func(t *testing.T) {
			obj := manifest(t, fmt.Sprintf("userinfo-%d", i), minimalSpec, "url="+url)
			err := env.Client.Create(ctx, obj)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("want an Invalid error, got %v", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "spec.url") || !strings.Contains(msg, "user name or password") {
				t.Errorf("message does not name spec.url and the user info: %v", err)
			}
			if strings.Contains(err.Error(), "S3CR3T") {
				t.Errorf("the API server's answer repeats the password: %v", err)
			}
		})
	}
	for i, url := range []string{
		"https://contoso.crm4.dynamics.com/main.aspx?user=a@b",
		"contoso.crm4.dynamics.com/main.aspx#a@b",
		"https://crm.local/Org@Name",
	} {
		t.Run(url, func(t *testing.T) {
			obj := manifest(t, fmt.Sprintf("at-after-host-%d", i), minimalSpec, "url="+url)
			if err := env.Client.Create(ctx, obj); err != nil {
				t.Fatalf("refused: %v", err)
			}
			_ = env.Client.Delete(ctx, obj)
		})
	}
}

func TestAcceptedManifestsGetDefaults(t *testing.T) {
	cases := []struct {
		name  string
		spec  string
		edits []string
		check func(t *testing.T, s salesv1alpha1.SalesConnectionSpec)
	}{
		{"minimal", minimalSpec, nil, func(t *testing.T, s salesv1alpha1.SalesConnectionSpec) {
			if s.Enabled == nil || !*s.Enabled {
				t.Errorf("enabled defaults to true, got %v", s.Enabled)
			}
			if s.ResyncInterval == nil || s.ResyncInterval.Duration != 10*time.Minute {
				t.Errorf("resyncInterval defaults to 10m, got %v", s.ResyncInterval)
			}
			if s.DeletionPolicy != salesv1alpha1.DeletionPolicyDisconnect {
				t.Errorf("deletionPolicy defaults to Disconnect, got %q", s.DeletionPolicy)
			}
			if s.ManagementPolicy != salesv1alpha1.ManagementPolicyManage {
				t.Errorf("managementPolicy defaults to Manage, got %q", s.ManagementPolicy)
			}
			if s.Suspend || s.IntegrationSolution != nil || s.Administrator != nil {
				t.Errorf("unset optional fields stay unset: %+v", s)
			}
		}},
		{"every field", fullSpec, nil, func(t *testing.T, s salesv1alpha1.SalesConnectionSpec) {
			if s.URL != "contoso.crm4.dynamics.com/main.aspx" {
				t.Errorf("url is stored as written (normalized only in status), got %q", s.URL)
			}
			if s.ResyncInterval.Duration != 30*time.Minute || s.DeletionPolicy != salesv1alpha1.DeletionPolicyDeprovision || s.ManagementPolicy != salesv1alpha1.ManagementPolicyObserve {
				t.Errorf("explicit values are kept: %v %q %q", s.ResyncInterval, s.DeletionPolicy, s.ManagementPolicy)
			}
			if !s.BusinessCentral.ItemAvailability.Enabled || s.BusinessCentral.ItemAvailability.AccessKeySecretRef.Key != "accessKey" {
				t.Errorf("item availability kept: %+v", s.BusinessCentral.ItemAvailability)
			}
			if len(s.UserMapping.Users) != 2 || !s.UserMapping.Required || !s.Synchronization.UseDefaultSetup {
				t.Errorf("user mapping and synchronization kept: %+v %+v", s.UserMapping, s.Synchronization)
			}
		}},
		{"disabled stays disabled", minimalSpec, []string{"enabled=false"}, func(t *testing.T, s salesv1alpha1.SalesConnectionSpec) {
			if s.Enabled == nil || *s.Enabled {
				t.Errorf("enabled: false must not be defaulted back to true, got %v", s.Enabled)
			}
		}},
		{"empty sections get their defaults", adminSpec, []string{"integrationSolution={}", "salesOrderIntegration={}", "userMapping={}", "synchronization={}"}, func(t *testing.T, s salesv1alpha1.SalesConnectionSpec) {
			if s.IntegrationSolution == nil || s.IntegrationSolution.Import {
				t.Errorf("integrationSolution.import defaults to false: %+v", s.IntegrationSolution)
			}
			if s.SalesOrderIntegration == nil || s.SalesOrderIntegration.Enabled || s.SalesOrderIntegration.AutoCreateSalesOrders {
				t.Errorf("salesOrderIntegration flags default to false: %+v", s.SalesOrderIntegration)
			}
			if s.UserMapping == nil || s.UserMapping.Required || s.Synchronization == nil || s.Synchronization.UseDefaultSetup {
				t.Errorf("userMapping.required and synchronization.useDefaultSetup default to false")
			}
		}},
		{"workload identity needs no Secret", minimalSpec, []string{"authentication.type=WorkloadIdentity", "-authentication.secretRef", "authentication.clientID=11111111-2222-3333-4444-555555555555"}, func(t *testing.T, s salesv1alpha1.SalesConnectionSpec) {
			if s.Authentication.SecretRef != nil || s.Authentication.ClientID == "" {
				t.Errorf("workload identity kept as written: %+v", s.Authentication)
			}
		}},
		{"Office365 needs no tenant", minimalSpec, []string{"authentication.type=Office365", "-authentication.tenantID"}, func(t *testing.T, s salesv1alpha1.SalesConnectionSpec) {
			if s.Authentication.Type != salesv1alpha1.AuthenticationOffice365 {
				t.Errorf("type kept: %q", s.Authentication.Type)
			}
		}},
		{"on-premises http with a port", minimalSpec, []string{"url=http://crm.local:5555/Contoso/main.aspx", "authentication.type=IFD", "-authentication.tenantID"}, func(t *testing.T, s salesv1alpha1.SalesConnectionSpec) {
			if s.URL != "http://crm.local:5555/Contoso/main.aspx" {
				t.Errorf("url kept: %q", s.URL)
			}
		}},
		{"Business Central's proxy version ids", minimalSpec, []string{`sdkVersion="91"`}, func(t *testing.T, s salesv1alpha1.SalesConnectionSpec) {
			if s.SDKVersion != "91" {
				t.Errorf("sdkVersion kept: %q", s.SDKVersion)
			}
		}},
		{"domain names for IFD user mapping", minimalSpec, []string{"authentication.type=IFD", "-authentication.tenantID", `userMapping.users=["CONTOSO\\alice", bob@contoso.com]`}, func(t *testing.T, s salesv1alpha1.SalesConnectionSpec) {
			if len(s.UserMapping.Users) != 2 || s.UserMapping.Users[0] != `CONTOSO\alice` {
				t.Errorf("users kept: %q", s.UserMapping.Users)
			}
		}},
		{"AD is accepted by the schema", minimalSpec, []string{"authentication.type=AD", "-authentication.tenantID"}, func(t *testing.T, s salesv1alpha1.SalesConnectionSpec) {
			if s.Authentication.Type != salesv1alpha1.AuthenticationAD {
				t.Errorf("type kept: %q", s.Authentication.Type)
			}
		}},
		{"a host and port without scheme", minimalSpec, []string{"url=127.0.0.1:8443"}, func(t *testing.T, s salesv1alpha1.SalesConnectionSpec) {
			if s.URL != "127.0.0.1:8443" {
				t.Errorf("url kept: %q", s.URL)
			}
		}},
		{"compound resync interval", minimalSpec, []string{"resyncInterval=1h30m"}, func(t *testing.T, s salesv1alpha1.SalesConnectionSpec) {
			if s.ResyncInterval.Duration != 90*time.Minute {
				t.Errorf("resyncInterval kept: %v", s.ResyncInterval)
			}
		}},
		{"item availability off needs nothing else", importSpec, []string{"businessCentral={webClientURL: 'https://businesscentral.dynamics.com/t/Production', company: CRONUS, itemAvailability: {}}"}, func(t *testing.T, s salesv1alpha1.SalesConnectionSpec) {
			if s.BusinessCentral.ItemAvailability == nil || s.BusinessCentral.ItemAvailability.Enabled {
				t.Errorf("itemAvailability.enabled defaults to false: %+v", s.BusinessCentral.ItemAvailability)
			}
		}},
	}
	ctx := context.Background()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("accepted-%d", i)
			obj := manifest(t, name, tc.spec, tc.edits...)
			if err := env.Client.Create(ctx, obj); err != nil {
				t.Fatalf("the API server refused a valid manifest: %v", err)
			}
			t.Cleanup(func() { _ = env.Client.Delete(ctx, obj) })
			got := &salesv1alpha1.SalesConnection{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
				t.Fatal(err)
			}
			tc.check(t, got.Spec)
		})
	}
}

func TestStatusSubresource(t *testing.T) {
	ctx := context.Background()
	obj := manifest(t, "status-roundtrip", minimalSpec)
	// Status sent with a create is dropped: only the status subresource writes it.
	obj.Object["status"] = map[string]any{"url": "https://forged.example.com"}
	if err := env.Client.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, obj) })

	sc := &salesv1alpha1.SalesConnection{}
	key := client.ObjectKeyFromObject(obj)
	if err := env.Client.Get(ctx, key, sc); err != nil {
		t.Fatal(err)
	}
	if sc.Status.URL != "" {
		t.Fatalf("status sent on create was stored: %q", sc.Status.URL)
	}

	sc.Status = salesv1alpha1.SalesConnectionStatus{
		ObservedGeneration: sc.Generation,
		URL:                "https://contoso.crm4.dynamics.com",
		ServerVersion:      "9.2.24101.140",
		Solution:           &salesv1alpha1.SolutionStatus{UniqueName: "MicrosoftDynamicsNavIntegration", Version: "25.0.1.0"},
		AssignedRoles:      []salesv1alpha1.RoleStatus{{ID: "8c8d4f51-a72b-e511-80d9-3863bb349780", Name: "Integration Administrator"}},
		Conditions: []metav1.Condition{{
			Type: string(salesv1alpha1.ConditionReady), Status: metav1.ConditionTrue, Reason: "Ready",
			Message: "connected", ObservedGeneration: sc.Generation, LastTransitionTime: metav1.Now(),
		}},
	}
	if err := env.Client.Status().Update(ctx, sc); err != nil {
		t.Fatalf("status update: %v", err)
	}
	got := &salesv1alpha1.SalesConnection{}
	if err := env.Client.Get(ctx, key, got); err != nil {
		t.Fatal(err)
	}
	if got.Status.ServerVersion != "9.2.24101.140" || got.Status.Solution.Version != "25.0.1.0" || len(got.Status.Conditions) != 1 {
		t.Fatalf("status did not round-trip: %+v", got.Status)
	}
	generation := got.Generation

	// A status change through the main resource is ignored, and a metadata-only change
	// does not bump the generation.
	patch := []byte(`{"metadata":{"labels":{"team":"erp"}},"status":{"serverVersion":"1.0"}}`)
	if err := env.Client.Patch(ctx, got, client.RawPatch(types.MergePatchType, patch)); err != nil {
		t.Fatal(err)
	}
	after := &salesv1alpha1.SalesConnection{}
	if err := env.Client.Get(ctx, key, after); err != nil {
		t.Fatal(err)
	}
	if after.Status.ServerVersion != "9.2.24101.140" {
		t.Errorf("status was changed through the main resource: %q", after.Status.ServerVersion)
	}
	if after.Labels["team"] != "erp" {
		t.Errorf("the metadata change was lost")
	}
	if after.Generation != generation {
		t.Errorf("a metadata-only change bumped the generation from %d to %d", generation, after.Generation)
	}

	// A spec change bumps the generation, which is what observedGeneration is compared to.
	if err := env.Client.Patch(ctx, after, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"sdkVersion":"9.2"}}`))); err != nil {
		t.Fatal(err)
	}
	if after.Generation != generation+1 {
		t.Errorf("a spec change must bump the generation: %d -> %d", generation, after.Generation)
	}
}

func TestKubectlExplainAndPrinterColumns(t *testing.T) {
	out, errOut, err := env.Kubectl("explain", "salesconnection.spec.url")
	if err != nil {
		t.Fatalf("kubectl explain: %v\n%s", err, errOut)
	}
	for _, want := range []string{"URL of the Dynamics 365 Sales environment", "https://contoso.crm4.dynamics.com"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl explain salesconnection.spec.url does not show %q:\n%s", want, out)
		}
	}
	out, errOut, err = env.Kubectl("explain", "salesconn.spec.salesOrderIntegration.autoCreateSalesOrders")
	if err != nil {
		t.Fatalf("kubectl explain by short name: %v\n%s", err, errOut)
	}
	if !strings.Contains(out, "create sales orders") {
		t.Errorf("nested fields are explained:\n%s", out)
	}

	ctx := context.Background()
	obj := manifest(t, "printer-columns", minimalSpec)
	if err := env.Client.Create(ctx, obj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, obj) })
	out, errOut, err = env.Kubectl("get", "dynamics", "-n", namespace, "-o", "wide")
	if err != nil {
		t.Fatalf("kubectl get by category: %v\n%s", err, errOut)
	}
	header := strings.Fields(strings.SplitN(out, "\n", 2)[0])
	want := []string{"NAME", "READY", "REASON", "ENABLED", "URL", "VERSION", "SOLUTION", "USER", "AGE"}
	if strings.Join(header, " ") != strings.Join(want, " ") {
		t.Errorf("kubectl get -o wide columns = %v, want %v", header, want)
	}
	if !strings.Contains(out, "printer-columns") || !strings.Contains(out, "true") {
		t.Errorf("the new object is listed with enabled=true:\n%s", out)
	}
}

func TestSamplesAreAccepted(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "sales_*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no samples found: %v", err)
	}
	files = append(files, filepath.Join(testenv.RepoRoot(), "config", "samples", "demo", "salesconnections.yaml"))
	ctx := context.Background()
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range strings.Split(string(data), "\n---\n") {
				obj := &unstructured.Unstructured{}
				if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
					t.Fatal(err)
				}
				obj.SetNamespace(namespace)
				if err := env.Client.Create(ctx, obj, client.DryRunAll); err != nil {
					t.Fatalf("the API server refused sample %s: %v", obj.GetName(), err)
				}
			}
		})
	}
}
