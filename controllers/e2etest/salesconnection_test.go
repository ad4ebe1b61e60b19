package e2etest

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

// TestConnectsEndToEnd runs every phase against a fresh environment: the solution is
// imported once, both roles assigned, Business Central linked, sales orders turned on,
// users mapped, the profile written, and the object Ready and Current.
func TestConnectsEndToEnd(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.create("contoso", f.fullSpec())

	// What a GitOps pipeline or a person runs: kubectl wait on the Ready condition.
	if out, errOut, err := env.Kubectl("wait", "--for=condition=Ready", "salesconnection/contoso", "-n", f.ns, "--timeout=60s"); err != nil ||
		!strings.Contains(out, "condition met") {
		t.Fatalf("kubectl wait --for=condition=Ready: %v\n%s%s", err, out, errOut)
	}
	sc := waitReady(t, f.ns, "contoso")
	if got := kstatusOf(t, sc); got != status.CurrentStatus {
		t.Errorf("kstatus = %s, want Current", got)
	}
	for c, reason := range map[salesv1alpha1.ConditionType]salesv1alpha1.Reason{
		salesv1alpha1.ConditionReady:                           salesv1alpha1.ReasonReady,
		salesv1alpha1.ConditionConnectionVerified:              salesv1alpha1.ReasonVerified,
		salesv1alpha1.ConditionSolutionImported:                salesv1alpha1.ReasonImported,
		salesv1alpha1.ConditionRolesAssigned:                   salesv1alpha1.ReasonAssigned,
		salesv1alpha1.ConditionBusinessCentralLinked:           salesv1alpha1.ReasonLinked,
		salesv1alpha1.ConditionSalesOrderIntegrationConfigured: salesv1alpha1.ReasonConfigured,
		salesv1alpha1.ConditionUsersMapped:                     salesv1alpha1.ReasonAllUsersMapped,
	} {
		cond := condition(sc, c)
		if cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != string(reason) || cond.ObservedGeneration != sc.Generation {
			t.Errorf("%s = %+v, want True/%s for generation %d", c, cond, reason, sc.Generation)
		}
	}
	if condition(sc, salesv1alpha1.ConditionReconciling) != nil || condition(sc, salesv1alpha1.ConditionStalled) != nil {
		t.Errorf("Reconciling and Stalled must be absent when Ready:\n%s", describeConditions(sc))
	}
	if sc.Status.URL != f.sim.url || sc.Status.ServerVersion != "9.2.24101.140" || sc.Status.Solution == nil ||
		sc.Status.Solution.Version != packageVersion || sc.Status.IntegrationUser.Name != "svc-bc@contoso.com" {
		t.Errorf("status = %+v", sc.Status)
	}
	if len(sc.Status.AssignedRoles) != 2 {
		t.Errorf("assignedRoles = %+v", sc.Status.AssignedRoles)
	}

	// Dataverse holds what the spec asks for.
	if sol, ok := f.sim.env.Solution("MicrosoftDynamicsNavIntegration"); !ok || sol.Version != packageVersion {
		t.Errorf("solution in Dataverse = %+v, %v", sol, ok)
	}
	roles := strings.Join(f.sim.env.UserRoles(f.sim.integrationUserID), ",")
	if roles != "Basic User,Integration Administrator,Integration User" {
		t.Errorf("integration user roles = %s", roles)
	}
	links := f.sim.env.NavConnections()
	if len(links) != 1 || links[0].Name != company || links[0].URL != webClientURL+"?company=CRONUS%20USA,%20Inc." {
		t.Errorf("nav_connections = %+v", links)
	}
	if !f.sim.env.SOPIntegration() {
		t.Error("sales order integration flag is off")
	}
	if n := f.sim.srv.CountRequests(func(r dataversesim.Request) bool { return r.Operation == "ImportSolutionAsync" }); n != 1 {
		t.Errorf("%d imports, want exactly 1", n)
	}

	// The connection profile is owned by the SalesConnection and holds no secret.
	cm := &corev1.ConfigMap{}
	if err := k8s.Get(context.Background(), keyOf(f.ns, "profile"), cm); err != nil {
		t.Fatal(err)
	}
	if !metav1.IsControlledBy(cm, sc) {
		t.Error("the profile ConfigMap is not owned by the SalesConnection")
	}
	if cm.Data["profileVersion"] != "1" {
		t.Errorf("profileVersion = %q, want 1: the profile's layout is a versioned contract", cm.Data["profileVersion"])
	}
	if !strings.Contains(cm.Data["connectionString"], "ClientSecret={CLIENTSECRET}") || !strings.Contains(cm.Data["tableMappings"], "Sales Header (Order)\tsalesorder\tToIntegrationTable") {
		t.Errorf("profile = %v", cm.Data)
	}
	for k, v := range cm.Data {
		if strings.Contains(v, integrationSecret) || strings.Contains(v, adminSecret) {
			t.Errorf("profile key %s holds a secret", k)
		}
	}
	for _, reason := range []string{"SolutionImportStarted", "ConnectionVerified", "SolutionImported", "RolesAssigned"} {
		waitForEvent(t, f.ns, "contoso", reason)
	}
}
