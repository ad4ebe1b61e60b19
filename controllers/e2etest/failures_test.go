package e2etest

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
)

// stalledWith waits for Stalled=True with reason on the object and checks the summary
// conditions agree.
func stalledWith(t *testing.T, ns, name string, reason salesv1alpha1.Reason) *salesv1alpha1.SalesConnection {
	t.Helper()
	sc := waitForCondition(t, ns, name, salesv1alpha1.ConditionStalled, metav1.ConditionTrue, reason)
	ready := condition(sc, salesv1alpha1.ConditionReady)
	if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != string(reason) {
		t.Errorf("Ready = %+v, want False/%s", ready, reason)
	}
	if condition(sc, salesv1alpha1.ConditionReconciling) != nil {
		t.Errorf("Reconciling must be absent while Stalled:\n%s", describeConditions(sc))
	}
	if got := kstatusOf(t, sc); got != status.FailedStatus {
		t.Errorf("kstatus = %s, want Failed", got)
	}
	return sc
}

// noSecretIn fails when a condition message holds a secret value.
func noSecretIn(t *testing.T, sc *salesv1alpha1.SalesConnection, secrets ...string) {
	t.Helper()
	for _, c := range sc.Status.Conditions {
		for _, s := range secrets {
			if strings.Contains(c.Message, s) {
				t.Errorf("condition %s reveals a secret", c.Type)
			}
		}
	}
}

func TestWrongSecretStallsWithoutHotLoopAndRecoversOnRotation(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.secret("integration", map[string]string{"clientID": integrationAppID, "clientSecret": "wrong-value"})
	f.create("contoso", f.connectionOnlySpec())

	sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonAuthenticationFailed)
	msg := condition(sc, salesv1alpha1.ConditionConnectionVerified).Message
	if !strings.Contains(msg, "AADSTS7000215") || !strings.Contains(msg, "credentials") {
		t.Errorf("the message must say what to fix: %q", msg)
	}
	noSecretIn(t, sc, "wrong-value", integrationSecret)
	warnings := waitForEvent(t, f.ns, "contoso", string(salesv1alpha1.ReasonAuthenticationFailed))
	for _, w := range warnings {
		if strings.Contains(w, "wrong-value") {
			t.Error("an event reveals the secret")
		}
	}

	// Stalled means no hot loop: once the events of the set-up have been handled (on a
	// loaded machine they can arrive late), nothing reaches the simulator while nothing
	// changes.
	settle(t, f)
	before := f.sim.srv.CountRequests(nil)
	time.Sleep(3 * time.Second)
	if reqs := f.sim.srv.Requests(); len(reqs) != before {
		for _, r := range reqs[before:] {
			t.Logf("request while stalled: %s %s by %s -> %d", r.Operation, r.Path, r.Principal, r.Status)
		}
		t.Errorf("%d requests while stalled, want none", len(reqs)-before)
	}

	// Rotating the Secret is picked up through the Secret watch, within seconds.
	f.secret("integration", map[string]string{"clientID": integrationAppID, "clientSecret": integrationSecret})
	waitReady(t, f.ns, "contoso")
}

func TestSecretCreatedLateIsPickedUp(t *testing.T) {
	f := newFixture(t)
	f.secret("ca", map[string]string{"ca.crt": string(f.sim.caPEM)})
	f.create("contoso", f.connectionOnlySpec())
	sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonSecretNotFound)
	if msg := condition(sc, salesv1alpha1.ConditionConnectionVerified).Message; !strings.Contains(msg, f.ns+"/integration") {
		t.Errorf("the message must name the Secret: %q", msg)
	}
	f.secret("integration", map[string]string{"clientID": integrationAppID, "clientSecret": integrationSecret})
	waitReady(t, f.ns, "contoso")
}

func TestMissingSecretKeyNamesTheKey(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.secret("integration", map[string]string{"clientID": integrationAppID})
	f.create("contoso", f.connectionOnlySpec())
	sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonSecretKeyMissing)
	if msg := condition(sc, salesv1alpha1.ConditionConnectionVerified).Message; !strings.Contains(msg, `"clientSecret"`) {
		t.Errorf("the message must name the key: %q", msg)
	}
}

func TestConnectionRequirements(t *testing.T) {
	cases := []struct {
		name   string
		setup  func(f *fixture, spec *salesv1alpha1.SalesConnectionSpec)
		reason salesv1alpha1.Reason
		says   string
	}{
		{"sdk version older than the server", func(f *fixture, spec *salesv1alpha1.SalesConnectionSpec) {
			spec.SDKVersion = "9.1"
		}, salesv1alpha1.ReasonVersionIncompatible, "set sdkVersion to 9.2"},
		{"integration user is a System Administrator", func(f *fixture, spec *salesv1alpha1.SalesConnectionSpec) {
			if err := f.sim.env.AssignRole(f.sim.integrationUserID, "System Administrator"); err != nil {
				t.Fatal(err)
			}
		}, salesv1alpha1.ReasonUserIsSysAdmin, "remove the role"},
		{"integration user disabled", func(f *fixture, spec *salesv1alpha1.SalesConnectionSpec) {
			f.sim.env.SetUserDisabled(f.sim.integrationUserID, true)
		}, salesv1alpha1.ReasonUserDisabled, "enable it"},
		{"AD authentication", func(f *fixture, spec *salesv1alpha1.SalesConnectionSpec) {
			spec.Authentication.Type = salesv1alpha1.AuthenticationAD
		}, salesv1alpha1.ReasonUnsupportedAuthType, "NTLM"},
		{"server certificate not trusted", func(f *fixture, spec *salesv1alpha1.SalesConnectionSpec) {
			spec.TLS = nil
		}, salesv1alpha1.ReasonTLSError, "spec.tls.caSecretRef"},
		{"CA Secret without a certificate", func(f *fixture, spec *salesv1alpha1.SalesConnectionSpec) {
			f.secret("ca", map[string]string{"ca.crt": "not a certificate"})
		}, salesv1alpha1.ReasonTLSError, "holds no PEM certificate"},
		{"workload identity with the operator's own identity, not allowed", func(f *fixture, spec *salesv1alpha1.SalesConnectionSpec) {
			spec.Authentication = salesv1alpha1.Authentication{
				Type: salesv1alpha1.AuthenticationWorkloadIdentity, TenantID: tenantID, ClientID: integrationAppID, AuthorityHost: f.sim.authority,
			}
		}, salesv1alpha1.ReasonOperatorIdentityNotAllowed, "serviceAccountName"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.standardSecrets()
			spec := f.connectionOnlySpec()
			tc.setup(f, &spec)
			f.create("contoso", spec)
			sc := stalledWith(t, f.ns, "contoso", tc.reason)
			if msg := condition(sc, salesv1alpha1.ConditionConnectionVerified).Message; !strings.Contains(msg, tc.says) {
				t.Errorf("message %q does not say %q", msg, tc.says)
			}
		})
	}
}

func TestProfileConfigMapOfSomeoneElseIsLeftAlone(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	theirs := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "profile"}, Data: map[string]string{"owner": "someone else"}}
	if err := k8s.Create(context.Background(), theirs); err != nil {
		t.Fatal(err)
	}
	spec := f.connectionOnlySpec()
	spec.WriteConnectionProfileTo = &salesv1alpha1.LocalObjectReference{Name: "profile"}
	f.create("contoso", spec)
	sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonProfileConflict)
	if msg := condition(sc, salesv1alpha1.ConditionReady).Message; !strings.Contains(msg, "writeConnectionProfileTo") {
		t.Errorf("message %q must name the field to change", msg)
	}
	if err := k8s.Get(context.Background(), keyOf(f.ns, "profile"), theirs); err != nil || theirs.Data["owner"] != "someone else" || len(theirs.OwnerReferences) != 0 {
		t.Errorf("someone else's ConfigMap was changed: %+v %v", theirs, err)
	}
}

func TestUnreachableIsRetried(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + l.Addr().String() + "/contoso"
	l.Close()
	spec := f.connectionOnlySpec()
	spec.URL = closed
	f.create("contoso", spec)
	sc := waitForCondition(t, f.ns, "contoso", salesv1alpha1.ConditionReconciling, metav1.ConditionTrue, salesv1alpha1.ReasonUnreachable)
	if condition(sc, salesv1alpha1.ConditionStalled) != nil {
		t.Error("an unreachable server is transient, not Stalled")
	}
	if got := kstatusOf(t, sc); got != status.InProgressStatus {
		t.Errorf("kstatus = %s, want InProgress", got)
	}
}

func TestThrottlingWaitsForRetryAfter(t *testing.T) {
	// Two SalesConnections on one environment, signing in as two different users.
	const secondAppID, secondSecret = "33333333-3333-3333-3333-333333333333", "second-integration-secret"
	f := newFixture(t, func(cfg *dataversesim.Config) {
		cfg.Tenants[0].Apps = append(cfg.Tenants[0].Apps, dataversesim.AppConfig{ClientID: secondAppID, Secrets: []string{secondSecret}})
		cfg.Environments[0].SystemUsers = append(cfg.Environments[0].SystemUsers, dataversesim.SystemUserConfig{
			FullName: "Second integration", InternalEmailAddress: "svc-bc2@contoso.com", ApplicationID: secondAppID, Roles: []string{"Basic User"}})
	})
	f.standardSecrets()
	f.secret("integration2", map[string]string{"clientID": secondAppID, "clientSecret": secondSecret})
	const retryAfter = 3 * time.Second
	// inFlight covers requests already on the wire when a 429 was answered, on a loaded
	// machine.
	const inFlight = time.Second
	f.sim.env.Faults().ThrottleAfter(3, time.Hour, retryAfter)
	f.create("contoso", f.connectionOnlySpec())
	waitForCondition(t, f.ns, "contoso", salesv1alpha1.ConditionReconciling, metav1.ConditionTrue, salesv1alpha1.ReasonThrottled)
	// The second user has sent nothing, so the simulator would serve it: only the
	// operator's memory of the environment's Retry-After holds it back.
	time.Sleep(inFlight)
	second := f.connectionOnlySpec()
	second.Authentication.SecretRef.Name = "integration2"
	f.create("fabrikam", second)
	time.Sleep(2 * retryAfter)
	f.sim.env.Faults().ThrottleAfter(0, 0, 0)
	waitReady(t, f.ns, "contoso")
	waitReady(t, f.ns, "fabrikam")

	// After each 429, nobody sent anything to the environment until Retry-After had
	// passed: Dataverse's answer holds for every connection to it, not only the one
	// that was throttled.
	reqs := f.sim.srv.Requests()
	throttled := 0
	for i, r := range reqs {
		if r.Status != 429 {
			continue
		}
		throttled++
		for _, next := range reqs[i+1:] {
			if next.Environment == r.Environment && next.Time.After(r.Time.Add(inFlight)) && next.Time.Before(r.Time.Add(retryAfter-50*time.Millisecond)) {
				t.Fatalf("a request by %s %v after a 429 to %s, before Retry-After (%s) passed", next.Principal, next.Time.Sub(r.Time), r.Principal, retryAfter)
			}
		}
	}
	if throttled == 0 {
		t.Fatal("the simulator throttled nothing; the test proves nothing")
	}
}

func TestImportFailureStallsAndRetriesOnlyWhenAsked(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.sim.env.FailImports("The solution file is corrupt (simulated).")
	f.create("contoso", f.fullSpec())
	sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonImportFailed)
	if msg := condition(sc, salesv1alpha1.ConditionSolutionImported).Message; !strings.Contains(msg, "corrupt") || !strings.Contains(msg, salesv1alpha1.AnnotationRequestedAt) {
		t.Errorf("message %q must carry Dataverse's reason and how to retry", msg)
	}
	imports := func() int {
		return f.sim.srv.CountRequests(func(r dataversesim.Request) bool { return r.Operation == "ImportSolutionAsync" })
	}
	time.Sleep(time.Second)
	if n := imports(); n != 1 {
		t.Fatalf("%d imports after a failure, want 1 (no retry loop)", n)
	}
	f.sim.env.FailImports("")
	requestTestConnection(t, f.ns, "retry-1")
	sc = waitReady(t, f.ns, "contoso")
	if n := imports(); n != 2 {
		t.Errorf("%d imports, want 2", n)
	}
	if sc.Status.LastHandledRequestedAt != "retry-1" {
		t.Errorf("lastHandledRequestedAt = %q", sc.Status.LastHandledRequestedAt)
	}
}

func TestImportWhoseJobVanishedIsStartedAgain(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	// The import fails and Dataverse deletes its job before the operator reads it:
	// nothing tells what happened, and the solution is not there.
	f.sim.env.SetImportDuration(3 * time.Second)
	f.sim.env.DeleteCompletedJobsAfter(0)
	f.sim.env.FailImports("The import was rolled back (simulated).")
	f.create("contoso", f.fullSpec())
	imports := func() int { return countOp(f, "ImportSolutionAsync") }
	waitForOp(t, f, "ImportSolutionAsync", 2, "a vanished import started again")
	f.sim.env.FailImports("")
	sc := waitReady(t, f.ns, "contoso")
	if n := imports(); n != 2 {
		t.Errorf("%d imports, want 2", n)
	}
	if sc.Status.Solution == nil || sc.Status.Solution.Version != packageVersion {
		t.Errorf("solution status = %+v", sc.Status.Solution)
	}
}

func TestMissingDependenciesAreNamed(t *testing.T) {
	f := newFixture(t)
	f.secret("ca", map[string]string{"ca.crt": string(f.sim.caPEM)})
	f.secret("integration", map[string]string{"clientID": integrationAppID, "clientSecret": integrationSecret})
	f.secret("admin", map[string]string{"clientID": adminClientID, "clientSecret": adminSecret})
	pkg := integrationPackage()
	pkg.Dependencies = []string{"bcbi_CdsBaseIntegration (1.0.0.0)"}
	f.solutionConfigMap(pkg)
	f.create("contoso", f.fullSpec())
	sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonMissingDependencies)
	if msg := condition(sc, salesv1alpha1.ConditionSolutionImported).Message; !strings.Contains(msg, "bcbi_CdsBaseIntegration") {
		t.Errorf("message %q must name the missing solution", msg)
	}
}

func TestAdministratorWithoutPrivilege(t *testing.T) {
	f := newFixture(t, func(cfg *dataversesim.Config) {
		cfg.Environments[0].SystemUsers[0].Roles = []string{"Basic User"}
	})
	f.standardSecrets()
	f.create("contoso", f.fullSpec())
	sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonInsufficientPrivilege)
	if msg := condition(sc, salesv1alpha1.ConditionSolutionImported).Message; !strings.Contains(msg, "System Administrator") {
		t.Errorf("message %q must say which role is needed", msg)
	}
}

func TestInvalidPackageAndMissingConfigMap(t *testing.T) {
	f := newFixture(t)
	f.secret("ca", map[string]string{"ca.crt": string(f.sim.caPEM)})
	f.secret("integration", map[string]string{"clientID": integrationAppID, "clientSecret": integrationSecret})
	f.secret("admin", map[string]string{"clientID": adminClientID, "clientSecret": adminSecret})
	f.create("contoso", f.fullSpec())
	stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonPackageNotFound)

	// A ConfigMap created late is picked up through the ConfigMap watch; a zip that is
	// not a solution is refused before anything is sent to Dataverse.
	f.solutionConfigMapRaw([]byte("not a zip"))
	sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonInvalidPackage)
	if msg := condition(sc, salesv1alpha1.ConditionSolutionImported).Message; !strings.Contains(msg, "not a zip") {
		t.Errorf("message %q", msg)
	}
	if n := f.sim.srv.CountRequests(func(r dataversesim.Request) bool { return r.Operation == "ImportSolutionAsync" }); n != 0 {
		t.Errorf("%d imports of a broken package", n)
	}
}

func TestAnotherImportRunningIsWaitedFor(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.sim.env.HoldImports()
	startImportAsAdmin(t, f, integrationPackage())
	f.create("contoso", f.fullSpec())
	sc := waitForCondition(t, f.ns, "contoso", salesv1alpha1.ConditionSolutionImported, metav1.ConditionFalse, salesv1alpha1.ReasonImportInProgress)
	if msg := condition(sc, salesv1alpha1.ConditionSolutionImported).Message; !strings.Contains(msg, "not recorded on this object") {
		t.Errorf("message %q must say the import is not this connection's", msg)
	}
	// Polling someone else's import reads the package once, not once a poll.
	polls := countOp(f, "ListImportJobs")
	waitForOp(t, f, "ListImportJobs", polls+2, "two more polls of the running import")
	if n := liveReads.count(&corev1.ConfigMap{}, keyOf(f.ns, "solution")); n != 1 {
		t.Errorf("the package was read %d times while waiting, want once", n)
	}
	f.sim.env.ReleaseImports()
	waitReady(t, f.ns, "contoso")
	if n := f.sim.srv.CountRequests(func(r dataversesim.Request) bool { return r.Operation == "ImportSolutionAsync" }); n != 1 {
		t.Errorf("%d ImportSolutionAsync requests, want only the administrator's: the operator waits for a running import", n)
	}
	if n := len(eventsFor(t, f.ns, "contoso")[string(salesv1alpha1.ReasonImportInProgress)]); n != 0 {
		t.Errorf("waiting for another import is not a failure, but %d Warning events said so", n)
	}
}

// Someone else's import finishes after the pass read "not installed" and before it
// looked for running imports: the pass reads the installed version again and does not
// import a second time.
func TestImportFinishingMidPassIsNotRepeated(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.sim.env.HoldImports()
	startImportAsAdmin(t, f, integrationPackage())
	f.sim.env.ReleaseImportsBefore("ListImportJobs")
	f.create("contoso", f.fullSpec())
	waitReady(t, f.ns, "contoso")
	if n := countOp(f, "ListImportJobs"); n == 0 {
		t.Fatal("the operator never looked for running imports; the test proves nothing")
	}
	if n := countOp(f, "ImportSolutionAsync"); n != 1 {
		t.Errorf("%d ImportSolutionAsync requests, want only the administrator's", n)
	}
}

// An import job that never completed, hours old, is a crashed import's leftover: the
// connection imports instead of waiting for it forever.
func TestAbandonedImportJobIsNotWaitedFor(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.sim.env.AddAbandonedImportJob(dataversesim.IntegrationSolutionName, 3*time.Hour)
	f.create("contoso", f.fullSpec())
	waitReady(t, f.ns, "contoso")
	if n := countOp(f, "ImportSolutionAsync"); n != 1 {
		t.Errorf("%d imports, want 1", n)
	}
}

// An import Dataverse accepted but refused when it ran, because another solution
// operation was running: not a broken package, so it is started again, not Stalled.
func TestImportRefusedAtRunTimeIsStartedAgain(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.sim.env.FailImports("Cannot start another solution import because there is a previous solution import or uninstall running at this moment. Please try again later.")
	f.create("contoso", f.fullSpec())
	waitForOp(t, f, "ImportSolutionAsync", 2, "the refused import started again")
	f.sim.env.FailImports("")
	waitReady(t, f.ns, "contoso")
	if n := len(eventsFor(t, f.ns, "contoso")[string(salesv1alpha1.ReasonImportFailed)]); n != 0 {
		t.Errorf("a refused import is not a failed package, but %d ImportFailed events said so", n)
	}
}

// An import started by someone else after the operator looked: Dataverse refuses the
// operator's, which waits and imports once the environment is free.
func TestImportRefusedForAnotherIsRetried(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.sim.env.Faults().FailNext("ImportSolutionAsync", http.StatusBadRequest, "0x80071151", 1)
	f.create("contoso", f.fullSpec())
	waitReady(t, f.ns, "contoso")
	imports := func(accepted bool) int {
		return f.sim.srv.CountRequests(func(r dataversesim.Request) bool {
			return r.Operation == "ImportSolutionAsync" && (r.Status == http.StatusOK) == accepted
		})
	}
	if refused, accepted := imports(false), imports(true); refused != 1 || accepted != 1 {
		t.Errorf("%d imports refused and %d accepted, want 1 and 1", refused, accepted)
	}
	if n := len(eventsFor(t, f.ns, "contoso")[string(salesv1alpha1.ReasonImportInProgress)]); n != 0 {
		t.Errorf("waiting for another import is not a failure, but %d Warning events said so", n)
	}
}

func TestSubmittedOrdersBlockTurningSalesOrdersOff(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.create("contoso", f.fullSpec())
	waitReady(t, f.ns, "contoso")
	f.sim.env.AddSalesOrder(1)
	f.update("contoso", func(spec *salesv1alpha1.SalesConnectionSpec) {
		spec.SalesOrderIntegration = &salesv1alpha1.SalesOrderIntegration{Enabled: false}
	})
	stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonSubmittedOrdersExist)
	if !f.sim.env.SOPIntegration() {
		t.Fatal("the flag was turned off while a submitted order exists")
	}
	f.sim.env.ClearSalesOrders()
	requestTestConnection(t, f.ns, "orders-processed")
	waitReady(t, f.ns, "contoso")
	if f.sim.env.SOPIntegration() {
		t.Error("the flag is still on")
	}
}

func TestUserMapping(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	spec := f.connectionOnlySpec()
	spec.UserMapping = &salesv1alpha1.UserMapping{Users: []string{"alice@contoso.com", "carol@contoso.com"}}
	f.create("informational", spec)
	sc := waitReady(t, f.ns, "informational")
	if c := condition(sc, salesv1alpha1.ConditionUsersMapped); c == nil || c.Status != metav1.ConditionFalse || c.Reason != string(salesv1alpha1.ReasonUnmappedUsers) {
		t.Errorf("UsersMapped = %+v", c)
	}
	if um := sc.Status.UserMapping; um == nil || um.Mapped != 1 || um.Total != 2 || strings.Join(um.Unmapped, ",") != "carol@contoso.com" {
		t.Errorf("userMapping = %+v", sc.Status.UserMapping)
	}

	spec.UserMapping.Required = true
	f.create("required", spec)
	stalledWith(t, f.ns, "required", salesv1alpha1.ReasonUnmappedUsers)
}

// startImportAsAdmin starts an import as another tool would, outside the operator.
func startImportAsAdmin(t *testing.T, f *fixture, p solution.Package) {
	t.Helper()
	pkg, err := solution.Build(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dataverse.NewPool(dataverse.PoolOptions{AllowedAuthorityHosts: []string{"127.0.0.1"}, AllowedEnvironmentDomains: []string{"127.0.0.1"}}).Client(f.sim.url, dataverse.Credentials{
		Type: dataverse.AuthClientSecret, TenantID: tenantID, ClientID: adminClientID, ClientSecret: adminSecret,
		AuthorityHost: f.sim.authority,
	}, f.sim.caPEM)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ImportSolutionAsync(context.Background(), pkg); err != nil {
		t.Fatal(err)
	}
}

// waitForOp waits until the simulator has logged n requests of an operation.
func waitForOp(t *testing.T, f *fixture, op string, n int, what string) {
	t.Helper()
	for deadline := time.Now().Add(waitTimeout); countOp(f, op) < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (%d %s requests)\n%s", what, countOp(f, op), op, describeConditions(get(t, f.ns, "contoso")))
		}
	}
}

// settle waits until the simulator has seen no request for a second and a half.
func settle(t *testing.T, f *fixture) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	last, since := f.sim.srv.CountRequests(nil), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if n := f.sim.srv.CountRequests(nil); n != last {
			last, since = n, time.Now()
			continue
		}
		if time.Since(since) > 1500*time.Millisecond {
			return
		}
	}
	t.Fatal("requests kept coming for 15 s: a hot loop")
}
