// Package restarttest stops the operator in the middle of a solution import and starts a
// new one: the import is resumed from the record on the object, never started twice. It
// has its own control plane because it needs managers of its own.
package restarttest

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/controllers"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
	"github.com/bcconnect/salesconnection-operator/internal/leaksweep"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

var env *testenv.Env

// sweep is the package's secret-leak sweep: the managers log into it, the tests register
// the secrets they hand the operator, and it is checked after the tests.
var sweep leaksweep.Sweep

func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.WriteTo(&sweep)))
	testenv.Main(m, &env, func(e *testenv.Env) error {
		return sweep.Check(context.Background(), e.Client, nil)
	})
}

// startManager runs one operator instance until the returned stop is called; with a
// namespace, it keeps Dataverse's throttle windows there, as main.go does.
func startManager(t *testing.T, namespace string) (stop func()) {
	t.Helper()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: env.Scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pool, throttles := controllers.NewThrottledPool(
		dataverse.PoolOptions{AllowedAuthorityHosts: []string{"127.0.0.1"}, AllowedEnvironmentDomains: []string{"127.0.0.1"}},
		mgr.GetClient(), mgr.GetAPIReader(), namespace)
	r := &controllers.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("salesconnection-operator"),
		Dataverse: pool, Throttles: throttles,
		MinImportPoll: 100 * time.Millisecond, MaxImportPoll: 500 * time.Millisecond, StalledRetryInterval: time.Hour,
	}
	// Each manager names its controller differently: controller-runtime refuses two
	// controllers of one name in a process.
	if err := r.SetupWithManager(ctx, mgr, controllers.Options{Name: fmt.Sprintf("salesconnection-%d", time.Now().UnixNano())}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = mgr.Start(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

func TestRestartDuringImportImportsOnce(t *testing.T) {
	const tenant, appID, secret = "00000000-0000-0000-0000-000000000001", "22222222-2222-2222-2222-222222222222", "admin-secret"
	sim := dataversesim.NewTestServer(t, dataversesim.Config{
		Tenants: []dataversesim.TenantConfig{{ID: tenant, Apps: []dataversesim.AppConfig{
			{ClientID: appID, Secrets: []string{secret}},
			{ClientID: "11111111-1111-1111-1111-111111111111", Secrets: []string{"integration-secret"}},
		}}},
		Environments: []dataversesim.EnvironmentConfig{{
			Name: "contoso", ImportDuration: dataversesim.Duration{Duration: 100 * time.Millisecond},
			SystemUsers: []dataversesim.SystemUserConfig{
				{FullName: "Admin", ApplicationID: appID, Roles: []string{"System Administrator"}},
				{FullName: "Integration", InternalEmailAddress: "svc@contoso.com", ApplicationID: "11111111-1111-1111-1111-111111111111", Roles: []string{"Basic User"}},
			},
		}},
	})
	ctx := context.Background()
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "restart-"}}
	must(t, env.Client.Create(ctx, namespace))
	ns := namespace.Name
	must(t, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca"}, StringData: map[string]string{"ca.crt": string(sim.CACertPEM())}}))
	sweep.Register(map[string]string{"clientSecret": secret})
	sweep.Register(map[string]string{"clientSecret": "integration-secret"})
	must(t, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "admin"}, StringData: map[string]string{"clientID": appID, "clientSecret": secret}}))
	must(t, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "integration"}, StringData: map[string]string{"clientID": "11111111-1111-1111-1111-111111111111", "clientSecret": "integration-secret"}}))
	pkg, err := solution.Build(solution.Package{UniqueName: "MicrosoftDynamicsNavIntegration", Version: "25.0.1.0", Managed: true})
	must(t, err)
	must(t, env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "solution"}, BinaryData: map[string][]byte{"solution.zip": pkg}}))
	auth := func(secretName string) salesv1alpha1.Authentication {
		return salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationClientSecret, TenantID: tenant,
			AuthorityHost: sim.AuthorityHost(), SecretRef: &salesv1alpha1.LocalObjectReference{Name: secretName}}
	}
	admin := auth("admin")
	sc := &salesv1alpha1.SalesConnection{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "contoso"}, Spec: salesv1alpha1.SalesConnectionSpec{
		Enabled: ptr.To(true), URL: sim.EnvironmentURL("contoso"), Authentication: auth("integration"), Administrator: &admin,
		TLS:                 &salesv1alpha1.TLSConfig{CASecretRef: &salesv1alpha1.KeyReference{Name: "ca", Key: "ca.crt"}},
		IntegrationSolution: &salesv1alpha1.IntegrationSolution{Import: true, PackageRef: &salesv1alpha1.KeyReference{Name: "solution", Key: "solution.zip"}},
	}}

	// The import runs until the second manager has met it.
	sim.Environment("contoso").HoldImports()
	stopFirst := startManager(t, "")
	must(t, env.Client.Create(ctx, sc))
	waitUntil(t, "the import is recorded on the object", func(got *salesv1alpha1.SalesConnection) bool {
		return got.Annotations[salesv1alpha1.AnnotationImportJob] != ""
	}, sc)
	stopFirst()
	if _, installed := sim.Environment("contoso").Solution("MicrosoftDynamicsNavIntegration"); installed {
		t.Fatal("the import finished before the operator stopped; the test proves nothing")
	}

	polls := sim.CountRequests(func(r dataversesim.Request) bool { return r.Operation == "GetAsyncOperation" })
	stopSecond := startManager(t, "")
	defer stopSecond()
	waitForRequest(t, sim, "the second manager polls the recorded import", func(r dataversesim.Request) bool { return r.Operation == "GetAsyncOperation" }, polls)
	sim.Environment("contoso").ReleaseImports()
	waitUntil(t, "Ready", func(got *salesv1alpha1.SalesConnection) bool {
		return meta.IsStatusConditionTrue(got.Status.Conditions, string(salesv1alpha1.ConditionReady))
	}, sc)
	imports := sim.CountRequests(func(r dataversesim.Request) bool { return r.Operation == "ImportSolutionAsync" })
	if imports != 1 {
		t.Errorf("%d imports across the restart, want exactly 1", imports)
	}
}

// waitForRequest waits until the simulator has logged more than before matching requests.
func waitForRequest(t *testing.T, sim *dataversesim.Server, what string, match func(dataversesim.Request) bool, before int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for sim.CountRequests(match) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitUntil(t *testing.T, what string, check func(*salesv1alpha1.SalesConnection) bool, sc *salesv1alpha1.SalesConnection) {
	t.Helper()
	env.WaitForSalesConnection(t, client.ObjectKeyFromObject(sc), what, 30*time.Second, check)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
