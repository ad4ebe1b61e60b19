package restarttest

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/controllers"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

// TestRetryAfterSurvivesARestart: Dataverse answers the first request with 429 and an
// 8 s Retry-After; the operator is stopped inside that window and a new one started. The
// new process reads the window its predecessor kept and sends nothing to the
// environment before it ends, then carries on to Ready.
func TestRetryAfterSurvivesARestart(t *testing.T) {
	const tenant, appID, secret = "00000000-0000-0000-0000-000000000001", "11111111-1111-1111-1111-111111111111", "integration-secret"
	const retryAfter = 8 * time.Second
	sim := dataversesim.NewTestServer(t, dataversesim.Config{
		Tenants: []dataversesim.TenantConfig{{ID: tenant, Apps: []dataversesim.AppConfig{{ClientID: appID, Secrets: []string{secret}}}}},
		Environments: []dataversesim.EnvironmentConfig{{Name: "contoso", SystemUsers: []dataversesim.SystemUserConfig{
			{FullName: "Integration", InternalEmailAddress: "svc@contoso.com", ApplicationID: appID, Roles: []string{"Basic User"}},
		}}},
	})
	faults := sim.Environment("contoso").Faults()
	faults.ThrottleAfter(1<<30, time.Hour, retryAfter) // only sets the Retry-After of a 429
	faults.FailNext("RetrieveVersion", 429, "", 1)

	ctx := context.Background()
	operatorNS := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "operator-"}}
	must(t, env.Client.Create(ctx, operatorNS))
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "throttle-"}}
	must(t, env.Client.Create(ctx, namespace))
	ns := namespace.Name
	must(t, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca"}, StringData: map[string]string{"ca.crt": string(sim.CACertPEM())}}))
	sweep.Register(map[string]string{"clientSecret": secret})
	must(t, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "integration"}, StringData: map[string]string{"clientID": appID, "clientSecret": secret}}))
	sc := &salesv1alpha1.SalesConnection{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "contoso"}, Spec: salesv1alpha1.SalesConnectionSpec{
		Enabled: ptr.To(true), URL: sim.EnvironmentURL("contoso"),
		Authentication: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationClientSecret, TenantID: tenant,
			AuthorityHost: sim.AuthorityHost(), SecretRef: &salesv1alpha1.LocalObjectReference{Name: "integration"}},
		TLS: &salesv1alpha1.TLSConfig{CASecretRef: &salesv1alpha1.KeyReference{Name: "ca", Key: "ca.crt"}},
	}}

	throttled := func(r dataversesim.Request) bool { return r.Environment == "contoso" && r.Status == 429 }
	stopFirst := startManager(t, operatorNS.Name)
	must(t, env.Client.Create(ctx, sc))
	waitForRequest(t, sim, "Dataverse throttles the operator", throttled, 0)
	var windowEnd time.Time
	for _, r := range sim.Requests() {
		if throttled(r) {
			windowEnd = r.Time.Add(retryAfter)
		}
	}
	kept := &corev1.ConfigMap{}
	deadline := time.Now().Add(10 * time.Second)
	for env.Client.Get(ctx, client.ObjectKey{Namespace: operatorNS.Name, Name: controllers.ThrottleConfigMapName}, kept) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the throttle window was not kept")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopFirst()
	if time.Until(windowEnd) < 3*time.Second {
		t.Fatalf("the window ends in %s: too little left to prove anything", time.Until(windowEnd))
	}

	restartedAt := time.Now()
	stopSecond := startManager(t, operatorNS.Name)
	defer stopSecond()
	waitUntil(t, "Ready", func(got *salesv1alpha1.SalesConnection) bool {
		return meta.IsStatusConditionTrue(got.Status.Conditions, string(salesv1alpha1.ConditionReady))
	}, sc)
	for _, r := range sim.Requests() {
		if r.Environment == "contoso" && r.Time.After(restartedAt) && r.Time.Before(windowEnd) {
			t.Errorf("the restarted operator sent %s at %s, %s before the window it was kept ended",
				r.Operation, r.Time.Format(time.RFC3339Nano), windowEnd.Sub(r.Time))
		}
	}
}
