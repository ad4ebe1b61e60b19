package e2etest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
	"github.com/bcconnect/salesconnection-operator/internal/testpki"
)

// touchSecret changes a Secret's labels: the Secret watch starts a pass, exactly like the
// periodic resync does, without waiting a resync interval.
func touchSecret(t *testing.T, ns, name string) {
	t.Helper()
	s := &corev1.Secret{}
	if err := k8s.Get(context.Background(), keyOf(ns, name), s); err != nil {
		t.Fatal(err)
	}
	patch := fmt.Sprintf(`{"metadata":{"labels":{"touched":"%d"}}}`, time.Now().UnixNano())
	if err := k8s.Patch(context.Background(), s, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

// waitForPass waits until the simulator has seen one more read of the integration user,
// which every pass of an enabled connection makes, and then until the pass is over: no
// request for a while.
func waitForPass(t *testing.T, f *fixture, readsBefore int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if countOp(f, "GetSystemUser") > readsBefore {
			settle(t, f)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no reconcile pass reached Dataverse")
}

// operations lists the requests the simulator logged, in order, as environment:operation.
func operations(f *fixture) []string {
	var ops []string
	for _, r := range f.sim.srv.Requests() {
		ops = append(ops, r.Environment+":"+r.Operation)
	}
	return ops
}

func countOp(f *fixture, op string) int {
	return f.sim.srv.CountRequests(func(r dataversesim.Request) bool { return r.Operation == op })
}

func TestResyncRepairsDrift(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.create("contoso", f.fullSpec())
	waitReady(t, f.ns, "contoso")

	// Changed by hand in Dataverse, in two rounds: each repair pass leaves the object as it
	// was, so the second round's events must not be folded into the first's.
	if err := f.sim.env.RemoveUserRole(f.sim.integrationUserID, "Integration User"); err != nil {
		t.Fatal(err)
	}
	touchSecret(t, f.ns, "integration")
	waitForDriftEvents(t, f, "security role Integration User")

	f.sim.env.SetSOPIntegration(false)
	if !f.sim.env.DeleteNavConnection(company) {
		t.Fatal("no link to delete")
	}
	touchSecret(t, f.ns, "integration")
	waitForDriftEvents(t, f, "issopintegrationenabled", "Business Central link")

	if roles := strings.Join(f.sim.env.UserRoles(f.sim.integrationUserID), ","); !strings.Contains(roles, "Integration User") {
		t.Errorf("role not given back: %s", roles)
	}
	if !f.sim.env.SOPIntegration() || len(f.sim.env.NavConnections()) != 1 {
		t.Error("organization flag or link not repaired")
	}
	waitReady(t, f.ns, "contoso")
}

// waitForDriftEvents waits until the object's DriftCorrected events mention every want.
// A pass may run between changes made by hand, so repairs can be reported in several events.
func waitForDriftEvents(t *testing.T, f *fixture, wants ...string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		all := strings.Join(eventsFor(t, f.ns, "contoso")["DriftCorrected"], "\n")
		missing := slices.DeleteFunc(slices.Clone(wants), func(w string) bool { return strings.Contains(all, w) })
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("DriftCorrected events do not mention %v: %s", missing, all)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestSteadyStateMakesNoWrites(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.create("contoso", f.fullSpec())
	waitReady(t, f.ns, "contoso")
	before := get(t, f.ns, "contoso")

	// One pass completes the setup. Its own write of the profile ConfigMap must not queue
	// another through the ConfigMap watch, which would repeat every Dataverse read.
	settle(t, f)
	if n := countOp(f, "ListNavConnections"); n != 1 {
		t.Fatalf("%d passes reached the link phase, want 1: %v", n, operations(f))
	}

	f.sim.srv.ResetRequests()
	passStart := time.Now()
	packageReads := liveReads.count(&corev1.ConfigMap{}, keyOf(f.ns, "solution"))
	touchSecret(t, f.ns, "integration")
	waitForPass(t, f, 0)
	if n := liveReads.count(&corev1.ConfigMap{}, keyOf(f.ns, "solution")) - packageReads; n != 0 {
		t.Errorf("the unchanged solution package was read %d times; its manifest is known", n)
	}

	if w := f.sim.srv.Writes("contoso"); w != 0 {
		t.Errorf("%d writes to Dataverse on a pass with nothing to change, want 0", w)
	}
	reads := f.sim.srv.CountRequests(func(r dataversesim.Request) bool { return r.Environment == "contoso" })
	// The user with its roles, the solution, the link, the organization flag and the
	// mapped users: what can drift. Who the principal is, the server version and the
	// role ids are remembered from the first pass.
	if reads == 0 || reads > 6 {
		t.Errorf("%d reads per pass; want at most 6: %v", reads, operations(f))
	}
	after := get(t, f.ns, "contoso")
	if after.ResourceVersion != before.ResourceVersion {
		t.Errorf("the object was written (resourceVersion %s -> %s); want no status write", before.ResourceVersion, after.ResourceVersion)
	}
	if notes := eventsSince(t, f.ns, passStart); len(notes) != 0 {
		t.Errorf("events from a pass with nothing to change: %v", notes)
	}
}

// eventsSince lists the events of a namespace recorded, or repeated, after since.
func eventsSince(t *testing.T, ns string, since time.Time) []string {
	t.Helper()
	list := &eventsv1.EventList{}
	if err := k8s.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, e := range list.Items {
		last := e.EventTime.Time
		if e.Series != nil && e.Series.LastObservedTime.After(last) {
			last = e.Series.LastObservedTime.Time
		}
		if last.After(since) {
			notes = append(notes, e.Reason+": "+e.Note)
		}
	}
	return notes
}

func TestImportInProgressIsInProgress(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.sim.env.HoldImports()
	f.create("contoso", f.fullSpec())
	sc := waitForCondition(t, f.ns, "contoso", salesv1alpha1.ConditionReconciling, metav1.ConditionTrue, salesv1alpha1.ReasonImportInProgress)
	if got := kstatusOf(t, sc); got != status.InProgressStatus {
		t.Errorf("kstatus during an import = %s, want InProgress", got)
	}
	if sc.Annotations[salesv1alpha1.AnnotationImportJob] == "" || sc.Status.Solution == nil || sc.Status.Solution.ImportJob == nil {
		t.Errorf("the import job is not recorded: annotations %v, status %+v", sc.Annotations, sc.Status.Solution)
	}
	f.sim.env.ReleaseImports()
	sc = waitReady(t, f.ns, "contoso")
	if _, ok := sc.Annotations[salesv1alpha1.AnnotationImportJob]; ok || sc.Status.Solution.ImportJob != nil {
		t.Error("the import job record is kept after the import finished")
	}
}

// TestConnectionsWaitingForOneImportShareOnePoller: five connections to one environment
// wait for one import; one poller watches it, none polls on its own, and all of them are
// requeued when it ends.
func TestConnectionsWaitingForOneImportShareOnePoller(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.sim.env.HoldImports()
	names := []string{"one", "two", "three", "four", "five"}
	for _, name := range names {
		spec := f.fullSpec()
		spec.BusinessCentral, spec.WriteConnectionProfileTo = nil, nil
		f.create(name, spec)
	}
	for _, name := range names {
		waitForCondition(t, f.ns, name, salesv1alpha1.ConditionSolutionImported, metav1.ConditionFalse, salesv1alpha1.ReasonImportInProgress)
	}
	count := func(op string) int {
		return f.sim.srv.CountRequests(func(r dataversesim.Request) bool { return r.Operation == op })
	}
	// Passes of one operator do not race each other to start it: one request, none refused.
	if n := count("ImportSolutionAsync"); n != 1 {
		t.Errorf("%d ImportSolutionAsync requests for five connections, want 1", n)
	}
	f.sim.srv.ResetRequests()
	// A window of several poll intervals while the import is held.
	window := 10 * maxImportPoll
	time.Sleep(window)
	polls, ownPolls := count("ListImportJobs"), count("GetAsyncOperation")
	if ownPolls != 0 {
		t.Errorf("waiting connections polled the import themselves %d times", ownPolls)
	}
	if polls == 0 || polls > int(window/minImportPoll)+1 {
		t.Errorf("%d polls of the running imports in a window of %s; want one poller at %s..%s", polls, window, minImportPoll, maxImportPoll)
	}
	f.sim.env.ReleaseImports()
	for _, name := range names {
		waitReady(t, f.ns, name)
	}
	if n := count("ImportSolutionAsync"); n != 0 {
		t.Errorf("%d more imports", n)
	}
}

func TestDisableDisconnectsOnly(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.create("contoso", f.fullSpec())
	waitReady(t, f.ns, "contoso")
	f.update("contoso", func(spec *salesv1alpha1.SalesConnectionSpec) { spec.Enabled = ptr.To(false) })
	sc := waitForCondition(t, f.ns, "contoso", salesv1alpha1.ConditionReady, metav1.ConditionTrue, salesv1alpha1.ReasonDisabled)
	if len(f.sim.env.NavConnections()) != 0 {
		t.Error("the Business Central link is still there")
	}
	if _, ok := f.sim.env.Solution("MicrosoftDynamicsNavIntegration"); !ok || !f.sim.env.SOPIntegration() ||
		!strings.Contains(strings.Join(f.sim.env.UserRoles(f.sim.integrationUserID), ","), "Integration User") {
		t.Error("disabling must leave the solution, roles and organization flag alone")
	}
	if kstatusOf(t, sc) != status.CurrentStatus {
		t.Error("a disabled connection is Current")
	}
	waitForEvent(t, f.ns, "contoso", "Disconnected")
	profile := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), keyOf(f.ns, "profile"), profile); err != nil || profile.Data["enabled"] != "false" {
		t.Errorf("the connection profile does not say the connection is off: %v %v", err, profile.Data["enabled"])
	}

	f.update("contoso", func(spec *salesv1alpha1.SalesConnectionSpec) { spec.Enabled = ptr.To(true) })
	waitForCondition(t, f.ns, "contoso", salesv1alpha1.ConditionReady, metav1.ConditionTrue, salesv1alpha1.ReasonReady)
	if len(f.sim.env.NavConnections()) != 1 {
		t.Error("enabling again does not link again")
	}
}

func TestObserveModeReportsAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	spec := f.fullSpec()
	spec.ManagementPolicy = salesv1alpha1.ManagementPolicyObserve
	f.create("contoso", spec)
	sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonPendingChanges)
	pending := strings.Join(sc.Status.PendingChanges, "\n")
	for _, want := range []string{"import solution MicrosoftDynamicsNavIntegration (not installed -> 25.0.1.0)", "sales order integration on"} {
		if !strings.Contains(pending, want) {
			t.Errorf("pendingChanges lacks %q:\n%s", want, pending)
		}
	}
	if w := f.sim.srv.Writes("contoso"); w != 0 {
		t.Errorf("Observe mode wrote %d times to Dataverse", w)
	}
	f.update("contoso", func(spec *salesv1alpha1.SalesConnectionSpec) {
		spec.ManagementPolicy = salesv1alpha1.ManagementPolicyManage
	})
	sc = waitReady(t, f.ns, "contoso")
	if len(sc.Status.PendingChanges) != 0 {
		t.Errorf("pendingChanges after Manage: %v", sc.Status.PendingChanges)
	}
}

func TestSuspendLeavesItAlone(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	spec := f.connectionOnlySpec()
	spec.Suspend = true
	f.create("contoso", spec)
	time.Sleep(1500 * time.Millisecond)
	if n := f.sim.srv.CountRequests(nil); n != 0 {
		t.Errorf("%d requests for a suspended connection", n)
	}
	if sc := get(t, f.ns, "contoso"); len(sc.Status.Conditions) != 0 {
		t.Errorf("a suspended connection got conditions: %v", sc.Status.Conditions)
	}
	f.update("contoso", func(spec *salesv1alpha1.SalesConnectionSpec) { spec.Suspend = false })
	waitReady(t, f.ns, "contoso")
}

func TestRequestedAtRerunsTestConnection(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.create("contoso", f.connectionOnlySpec())
	first := waitReady(t, f.ns, "contoso")
	before := countOp(f, "WhoAmI")
	time.Sleep(1100 * time.Millisecond) // lastVerifiedTime has a resolution of one second
	requestTestConnection(t, f.ns, "2026-11-24T10:00:00Z")
	sc := waitFor(t, f.ns, "contoso", "lastHandledRequestedAt", func(sc *salesv1alpha1.SalesConnection) bool {
		return sc.Status.LastHandledRequestedAt == "2026-11-24T10:00:00Z"
	})
	if countOp(f, "WhoAmI") <= before {
		t.Error("the request did not reach Dataverse")
	}
	if !sc.Status.LastVerifiedTime.After(first.Status.LastVerifiedTime.Time) {
		t.Errorf("lastVerifiedTime %s is not later than the first verification's %s", sc.Status.LastVerifiedTime, first.Status.LastVerifiedTime)
	}
}

func TestDeletionPolicies(t *testing.T) {
	cases := []struct {
		policy                 salesv1alpha1.DeletionPolicy
		wantLink, wantRoles    bool
		wantSalesOrderFlagOn   bool
		wantDisconnectedEvents bool
	}{
		{policy: salesv1alpha1.DeletionPolicyDisconnect, wantLink: false, wantRoles: true, wantSalesOrderFlagOn: true},
		{policy: salesv1alpha1.DeletionPolicyOrphan, wantLink: true, wantRoles: true, wantSalesOrderFlagOn: true},
		{policy: salesv1alpha1.DeletionPolicyDeprovision, wantLink: false, wantRoles: false, wantSalesOrderFlagOn: false},
	}
	for _, tc := range cases {
		t.Run(string(tc.policy), func(t *testing.T) {
			f := newFixture(t)
			f.standardSecrets()
			spec := f.fullSpec()
			spec.DeletionPolicy = tc.policy
			f.create("contoso", spec)
			sc := waitReady(t, f.ns, "contoso")
			if err := k8s.Delete(context.Background(), sc); err != nil {
				t.Fatal(err)
			}
			waitGone(t, f.ns)
			if got := len(f.sim.env.NavConnections()) == 1; got != tc.wantLink {
				t.Errorf("link present = %v, want %v", got, tc.wantLink)
			}
			roles := strings.Join(f.sim.env.UserRoles(f.sim.integrationUserID), ",")
			if got := strings.Contains(roles, "Integration User"); got != tc.wantRoles {
				t.Errorf("roles = %s, want integration roles kept = %v", roles, tc.wantRoles)
			}
			if !strings.Contains(roles, "Basic User") {
				t.Error("a role the operator did not assign was removed")
			}
			if got := f.sim.env.SOPIntegration(); got != tc.wantSalesOrderFlagOn {
				t.Errorf("sales order flag = %v, want %v", got, tc.wantSalesOrderFlagOn)
			}
			if _, ok := f.sim.env.Solution("MicrosoftDynamicsNavIntegration"); !ok {
				t.Error("the solution must never be uninstalled")
			}
		})
	}
}

func TestDeletionWithoutCredentialsWaitsForForceDelete(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.create("contoso", f.fullSpec())
	sc := waitReady(t, f.ns, "contoso")
	for _, name := range []string{"admin", "integration"} {
		if err := k8s.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := k8s.Delete(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	sc = waitFor(t, f.ns, "contoso", "deletion blocked", func(sc *salesv1alpha1.SalesConnection) bool {
		c := condition(sc, salesv1alpha1.ConditionStalled)
		return c != nil && c.Reason == string(salesv1alpha1.ReasonSecretNotFound) && strings.Contains(c.Message, salesv1alpha1.AnnotationForceDelete)
	})
	if len(f.sim.env.NavConnections()) != 1 {
		t.Error("the link was removed without credentials?")
	}
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"true"}}}`, salesv1alpha1.AnnotationForceDelete)
	if err := k8s.Patch(context.Background(), sc, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
	waitGone(t, f.ns)
}

// TestDeletionWithNothingToCleanReadsNoSecret: a namespace deleted with its Secrets is
// not held in Terminating by a SalesConnection that never wrote to Dataverse.
func TestDeletionWithNothingToCleanReadsNoSecret(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	spec := f.fullSpec()
	spec.Authentication.SecretRef.Name = "not-created-yet"
	f.create("contoso", spec)
	sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonSecretNotFound)
	for _, name := range []string{"admin", "integration", "ca"} {
		if err := k8s.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	secretReads := liveReads.count(&corev1.Secret{}, keyOf(f.ns, "admin"))
	if err := k8s.Delete(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	waitGone(t, f.ns)
	if n := liveReads.count(&corev1.Secret{}, keyOf(f.ns, "admin")) - secretReads; n != 0 {
		t.Errorf("deleting read the administrator's Secret %d times", n)
	}
	if w := f.sim.srv.Writes("contoso"); w != 0 {
		t.Errorf("%d writes to Dataverse", w)
	}
}

// waitGone waits until the fixture's SalesConnection "contoso" is deleted.
func waitGone(t *testing.T, ns string) {
	t.Helper()
	const name = "contoso"
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		err := k8s.Get(context.Background(), keyOf(ns, name), &salesv1alpha1.SalesConnection{})
		if apierrors.IsNotFound(err) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s/%s was not deleted:\n%s", ns, name, describeConditions(get(t, ns, name)))
}

func TestCertificateAndPasswordSignIn(t *testing.T) {
	certPEM, keyPEM := testpki.SelfSigned(t, false)
	f := newFixture(t, func(cfg *dataversesim.Config) {
		cfg.Tenants[0].Apps[1].Secrets = nil
		cfg.Tenants[0].Apps[1].CertificatesPEM = []string{string(certPEM)}
		cfg.Tenants[0].Users = []dataversesim.UserAccount{{UserPrincipalName: "admin@contoso.com", Password: "admin-password"}}
		// The public client a password sign-in goes through when the Secret names none.
		cfg.Tenants[0].Apps = append(cfg.Tenants[0].Apps, dataversesim.AppConfig{ClientID: dataverse.DefaultPublicClientID, PublicClient: true})
		cfg.Environments[0].SystemUsers[0].ApplicationID = ""
		cfg.Environments[0].SystemUsers[0].InternalEmailAddress = "admin@contoso.com"
	})
	f.secret("ca", map[string]string{"ca.crt": string(f.sim.caPEM)})
	f.secret("integration", map[string]string{"clientID": integrationAppID, "tls.crt": string(certPEM), "tls.key": string(keyPEM)})
	f.secret("admin", map[string]string{"username": "admin@contoso.com", "password": "admin-password"})
	f.solutionConfigMap(integrationPackage())
	spec := f.fullSpec()
	spec.Authentication.Type = salesv1alpha1.AuthenticationCertificate
	spec.Administrator.Type = salesv1alpha1.AuthenticationOAuth
	f.create("contoso", spec)
	sc := waitReady(t, f.ns, "contoso")
	if sc.Status.IntegrationUser.Name != "svc-bc@contoso.com" {
		t.Errorf("signed in as %+v", sc.Status.IntegrationUser)
	}
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), keyOf(f.ns, "profile"), cm); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cm.Data["connectionString"], "AuthType=Certificate") || strings.Contains(cm.Data["connectionString"], "PRIVATE KEY") {
		t.Errorf("connection string = %q", cm.Data["connectionString"])
	}
}

func TestProfileEditedOrDeletedIsWrittenAgain(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.create("contoso", f.fullSpec())
	waitReady(t, f.ns, "contoso")
	key := client.ObjectKey{Namespace: f.ns, Name: "profile"}
	want := profileData(t, key)

	cm := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), key, cm); err != nil {
		t.Fatal(err)
	}
	cm.Data["enabled"] = "edited by hand"
	if err := k8s.Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	waitForProfile(t, key, want)

	if err := k8s.Delete(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	waitForProfile(t, key, want)
}

func profileData(t *testing.T, key client.ObjectKey) map[string]string {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), key, cm); err != nil {
		t.Fatal(err)
	}
	return cm.Data
}

// waitForProfile waits, without nudging the operator, until the profile holds want.
func waitForProfile(t *testing.T, key client.ObjectKey, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		cm := &corev1.ConfigMap{}
		err := k8s.Get(context.Background(), key, cm)
		if err == nil && maps.Equal(cm.Data, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("profile %s not written again: %v (err %v)", key, cm.Data, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestNewPackageVersionIsImported(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.create("contoso", f.fullSpec())
	waitReady(t, f.ns, "contoso")

	pkg, err := solution.Build(solution.Package{UniqueName: dataversesim.IntegrationSolutionName, Version: "25.0.2.0", Managed: true})
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), keyOf(f.ns, "solution"), cm); err != nil {
		t.Fatal(err)
	}
	cm.BinaryData["solution.zip"] = pkg
	if err := k8s.Update(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	// Through the ConfigMap watch, without a nudge.
	waitFor(t, f.ns, "contoso", "the new package version installed", func(sc *salesv1alpha1.SalesConnection) bool {
		return sc.Status.Solution != nil && sc.Status.Solution.Version == "25.0.2.0" &&
			meta.IsStatusConditionTrue(sc.Status.Conditions, string(salesv1alpha1.ConditionReady))
	})
	if sol, ok := f.sim.env.Solution(dataversesim.IntegrationSolutionName); !ok || sol.Version != "25.0.2.0" {
		t.Errorf("installed: %+v", sol)
	}
	if n := countOp(f, "ImportSolutionAsync"); n != 2 {
		t.Errorf("%d imports, want 2: the first version and the new one", n)
	}
}

// TestPasswordIntegrationUserIsPrepared: a user account signing in as the integration
// user with a password is made an integration user, invitation accepted,
// non-interactive, as Business Central's setup makes it; without an administrator the
// operator says what is missing.
func TestPasswordIntegrationUserIsPrepared(t *testing.T) {
	f := newFixture(t, func(cfg *dataversesim.Config) {
		cfg.Tenants[0].Users = []dataversesim.UserAccount{{UserPrincipalName: "svc-bc@contoso.com", Password: "svc-password"}}
		cfg.Tenants[0].Apps = append(cfg.Tenants[0].Apps, dataversesim.AppConfig{ClientID: dataverse.DefaultPublicClientID, PublicClient: true})
		cfg.Environments[0].SystemUsers[1].ApplicationID = ""
		cfg.Environments[0].SystemUsers[1].InvitationPending = true
	})
	f.standardSecrets()
	f.secret("integration", map[string]string{"username": "svc-bc@contoso.com", "password": "svc-password"})
	spec := f.connectionOnlySpec()
	spec.Authentication.Type = salesv1alpha1.AuthenticationOAuth
	f.create("contoso", spec)
	sc := stalledWith(t, f.ns, "contoso", salesv1alpha1.ReasonIntegrationUserNotPrepared)
	if msg := condition(sc, salesv1alpha1.ConditionIntegrationUserPrepared).Message; !strings.Contains(msg, "spec.administrator") {
		t.Errorf("message %q must say how to fix it", msg)
	}

	f.update("contoso", func(s *salesv1alpha1.SalesConnectionSpec) { s.Administrator = f.fullSpec().Administrator })
	sc = waitReady(t, f.ns, "contoso")
	if c := condition(sc, salesv1alpha1.ConditionIntegrationUserPrepared); c == nil || c.Reason != string(salesv1alpha1.ReasonPrepared) {
		t.Errorf("IntegrationUserPrepared = %+v", c)
	}
	u, _ := f.sim.env.User(f.sim.integrationUserID)
	if !u.IsIntegrationUser || u.InviteStatusCode != 4 || u.AccessMode != 4 {
		t.Errorf("integration user in Dataverse = %+v", u)
	}
	noSecretIn(t, sc, "svc-password")
}
