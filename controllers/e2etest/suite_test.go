package e2etest

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/controllers"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// One control plane and one running manager for the package.
var (
	env        *testenv.Env
	k8s        client.Client
	stopShared context.CancelFunc
	nsCounter  atomic.Int64
	// liveReads counts what the operator reads past the cache.
	liveReads = &countingReader{}
)

// countingReader counts the reads of one object through it.
type countingReader struct {
	client.Reader
	mu    sync.Mutex
	reads map[string]int
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.mu.Lock()
	if c.reads == nil {
		c.reads = map[string]int{}
	}
	c.reads[fmt.Sprintf("%T %s", obj, key)]++
	c.mu.Unlock()
	return c.Reader.Get(ctx, key, obj, opts...)
}

// count is how often obj's kind was read live under key.
func (c *countingReader) count(obj client.Object, key client.ObjectKey) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads[fmt.Sprintf("%T %s", obj, key)]
}

// Short intervals keep the suite fast; they are flags of the manager in production.
const (
	minImportPoll = 100 * time.Millisecond
	maxImportPoll = 500 * time.Millisecond
	waitTimeout   = 30 * time.Second
)

func TestMain(m *testing.M) {
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(io.MultiWriter(&sweep, logSink()))))
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	k8s = env.Client
	var ctx context.Context
	ctx, stopShared = context.WithCancel(context.Background())
	done, err := startManager(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = env.Stop()
		os.Exit(1)
	}
	code := m.Run()
	stopShared()
	<-done
	if code == 0 {
		if err := sweep.Check(context.Background(), k8s, nil); err != nil {
			fmt.Fprintln(os.Stderr, "the secret-leak sweep:", err)
			code = 1
		}
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
	}
	os.Exit(code)
}

// logSink keeps the manager's log out of the test output unless asked for: it is long,
// and the tests assert on status, events and the simulator instead.
func logSink() *os.File {
	if os.Getenv("TEST_LOG") != "" {
		return os.Stderr
	}
	f, _ := os.Open(os.DevNull)
	return f
}

// startManager runs a manager with the reconciler, as main.go does, until ctx ends.
func startManager(ctx context.Context) (<-chan struct{}, error) {
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Client: client.Options{Cache: &client.CacheOptions{
			DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}},
		}},
	})
	if err != nil {
		return nil, err
	}
	liveReads.Reader = mgr.GetAPIReader()
	pool := dataverse.NewPool(dataverse.PoolOptions{UserAgent: "salesconnection-operator-test", Timeout: 10 * time.Second,
		AllowedAuthorityHosts: []string{"127.0.0.1"}, AllowedEnvironmentDomains: []string{"127.0.0.1"}}) // the simulator
	r := &controllers.Reconciler{
		Client:               mgr.GetClient(),
		APIReader:            liveReads,
		Recorder:             mgr.GetEventRecorder("salesconnection-operator"),
		Dataverse:            pool,
		WorkloadIdentity:     controllers.WorkloadIdentity{Tokens: mgr.GetClient()},
		MinImportPoll:        minImportPoll,
		MaxImportPoll:        maxImportPoll,
		StalledRetryInterval: time.Hour,
	}
	if err := r.SetupWithManager(ctx, mgr, controllers.Options{
		MaxConcurrentReconciles: 4,
		BackoffBase:             100 * time.Millisecond,
		BackoffMax:              2 * time.Second,
	}); err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	return done, nil
}

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%s", nsCounter.Add(1), strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())))
	if len(name) > 60 {
		name = name[:60]
	}
	name = strings.TrimRight(name, "-")
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return name
}

// get reads a SalesConnection.
func get(t *testing.T, ns, name string) *salesv1alpha1.SalesConnection {
	t.Helper()
	sc := &salesv1alpha1.SalesConnection{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, sc); err != nil {
		t.Fatalf("get %s/%s: %v", ns, name, err)
	}
	return sc
}

// condition returns a condition of the object, or nil.
func condition(sc *salesv1alpha1.SalesConnection, condType salesv1alpha1.ConditionType) *metav1.Condition {
	return sc.Status.GetCondition(condType)
}

// waitFor polls the object until check passes for its current generation.
func waitFor(t *testing.T, ns, name, what string, check func(sc *salesv1alpha1.SalesConnection) bool) *salesv1alpha1.SalesConnection {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var sc *salesv1alpha1.SalesConnection
	for time.Now().Before(deadline) {
		sc = get(t, ns, name)
		if sc.Status.ObservedGeneration == sc.Generation && check(sc) {
			return sc
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s on %s/%s; conditions:\n%s", what, ns, name, describeConditions(sc))
	return nil
}

// waitForCondition waits until a condition has a status and reason.
func waitForCondition(t *testing.T, ns, name string, condType salesv1alpha1.ConditionType, want metav1.ConditionStatus, reason salesv1alpha1.Reason) *salesv1alpha1.SalesConnection {
	t.Helper()
	return waitFor(t, ns, name, fmt.Sprintf("%s=%s/%s", condType, want, reason), func(sc *salesv1alpha1.SalesConnection) bool {
		c := condition(sc, condType)
		return c != nil && c.Status == want && (reason == "" || c.Reason == string(reason))
	})
}

func waitReady(t *testing.T, ns, name string) *salesv1alpha1.SalesConnection {
	t.Helper()
	return waitForCondition(t, ns, name, salesv1alpha1.ConditionReady, metav1.ConditionTrue, "")
}

func describeConditions(sc *salesv1alpha1.SalesConnection) string {
	if sc == nil {
		return "(object not read)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "generation %d, observed %d\n", sc.Generation, sc.Status.ObservedGeneration)
	for _, c := range sc.Status.Conditions {
		fmt.Fprintf(&b, "  %s=%s %s: %s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	return b.String()
}

// kstatusOf computes what Flux and kpt see for the live object.
func kstatusOf(t *testing.T, sc *salesv1alpha1.SalesConnection) status.Status {
	t.Helper()
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(sc)
	if err != nil {
		t.Fatal(err)
	}
	res, err := status.Compute(&unstructured.Unstructured{Object: raw})
	if err != nil {
		t.Fatalf("kstatus: %v", err)
	}
	return res.Status
}

// eventsFor lists the events reported for an object, by reason.
func eventsFor(t *testing.T, ns, name string) map[string][]string {
	t.Helper()
	list := &eventsv1.EventList{}
	if err := k8s.List(context.Background(), list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			out[e.Reason] = append(out[e.Reason], e.Note)
		}
	}
	return out
}

// waitForEvent waits until an event with reason is reported for the object.
func waitForEvent(t *testing.T, ns, name, reason string) []string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if notes := eventsFor(t, ns, name)[reason]; len(notes) > 0 {
			return notes
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no %s event for %s/%s; events: %v", reason, ns, name, eventsFor(t, ns, name))
	return nil
}

// requestTestConnection sets the requested-at annotation of the fixture's SalesConnection
// "contoso", as a person does to re-run Test Connection.
func requestTestConnection(t *testing.T, ns, value string) {
	t.Helper()
	sc := get(t, ns, "contoso")
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, salesv1alpha1.AnnotationRequestedAt, value)
	if err := k8s.Patch(context.Background(), sc, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}
