package metawatch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/bcconnect/salesconnection-operator/internal/metawatch"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// TestSecretChangesReachTheQueue runs the source against a real API server: creating,
// changing and deleting a referenced Secret each enqueue the object that references it;
// Secrets nobody references, and those that existed before the watch, enqueue nothing.
func TestSecretChangesReachTheQueue(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "metawatch-"}}
	if err := env.Client.Create(ctx, namespace); err != nil {
		t.Fatal(err)
	}
	ns := namespace.Name
	secret := func(name string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: map[string]string{"k": "v"}}
	}
	if err := env.Client.Create(ctx, secret("ref-before")); err != nil {
		t.Fatal(err)
	}

	mc, err := metadata.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	q := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer q.ShutDown()
	src := &metawatch.Source{Client: mc, Resource: corev1.SchemeGroupVersion.WithResource("secrets"), Namespaces: []string{ns},
		Map: func(_ context.Context, o client.Object) []reconcile.Request {
			if name, ok := strings.CutPrefix(o.GetName(), "ref-"); ok {
				return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: "user-" + name}}}
			}
			return nil
		}}
	if err := src.Start(ctx, q); err != nil {
		t.Fatal(err)
	}
	if err := src.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	// Listed: a change made now arrives as an event. A marker Secret, referenced.
	if err := env.Client.Create(ctx, secret("ref-marker")); err != nil {
		t.Fatal(err)
	}
	if got := next(t, q); got != "user-marker" {
		t.Fatalf("first request %q; want user-marker (ref-before existed before the watch and must not be enqueued)", got)
	}
	// A Secret in a namespace the source does not watch, then a second marker: the
	// marker must come first, and alone.
	other := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "metawatch-unwatched-"}}
	if err := env.Client.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	elsewhere := secret("ref-elsewhere")
	elsewhere.Namespace = other.Name
	if err := env.Client.Create(ctx, elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, secret("ref-marker2")); err != nil {
		t.Fatal(err)
	}
	if got := next(t, q); got != "user-marker2" {
		t.Fatalf("request %q; want user-marker2 (ref-elsewhere is in a namespace the source does not watch)", got)
	}

	unreferenced, referenced := secret("unreferenced"), secret("ref-a")
	steps := []struct {
		what string
		do   func() error
	}{
		{"create an unreferenced Secret", func() error { return env.Client.Create(ctx, unreferenced) }},
		{"create a referenced Secret", func() error { return env.Client.Create(ctx, referenced) }},
		{"change it", func() error {
			referenced.StringData = map[string]string{"k": "rotated"}
			return env.Client.Update(ctx, referenced)
		}},
		{"delete the unreferenced Secret", func() error { return env.Client.Delete(ctx, unreferenced) }},
		{"delete the referenced one", func() error { return env.Client.Delete(ctx, referenced) }},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		if strings.Contains(step.what, "unreferenced") {
			continue
		}
		if got := next(t, q); got != "user-a" {
			t.Fatalf("%s: enqueued %q; want user-a", step.what, got)
		}
	}
	if q.Len() != 0 {
		t.Errorf("%d more requests queued; unreferenced Secrets must enqueue nothing", q.Len())
	}
}

// next waits for the next request and returns its name.
func next(t *testing.T, q workqueue.TypedRateLimitingInterface[reconcile.Request]) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		req, shutdown := q.Get()
		if shutdown {
			return
		}
		q.Done(req)
		got <- req.Name
	}()
	select {
	case name := <-got:
		return name
	case <-time.After(30 * time.Second):
		t.Fatal("no request within 30 s")
		return ""
	}
}
