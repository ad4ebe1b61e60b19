package managercache_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/managercache"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

const (
	lastApplied = "kubectl.kubernetes.io/last-applied-configuration"
	// fakeSecret stands for a credential; test output never shows it.
	fakeSecret = "not-a-real-client-secret-0xC0FFEE"
)

// startManager starts a manager with the operator's cache options, as main.go builds it,
// and returns its cache once started.
func startManager(t *testing.T, namespaces []string) client.Reader {
	t.Helper()
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme:                 env.Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  managercache.Options(namespaces),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = mgr.Start(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("the cache did not start")
	}
	return mgr.GetCache()
}

func namespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := env.Client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// applied returns obj's metadata as `kubectl apply` leaves it: the whole manifest, data
// included, in the last-applied annotation.
func appliedAnnotations(t *testing.T, obj any, extra map[string]string) map[string]string {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	a := map[string]string{lastApplied: string(b)}
	for k, v := range extra {
		a[k] = v
	}
	return a
}

// metadataOf reads the metadata-only cache's copy of a Secret or ConfigMap, waiting for
// the informer to see it.
func metadataOf(t *testing.T, c client.Reader, kind string, key client.ObjectKey) *metav1.PartialObjectMetadata {
	t.Helper()
	pom := &metav1.PartialObjectMetadata{}
	pom.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(kind))
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.Get(context.Background(), key, pom)
		if err == nil {
			return pom
		}
		if !apierrors.IsNotFound(err) || time.Now().After(deadline) {
			t.Fatalf("reading the cached %s %s: %v", kind, key, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCacheHoldsNoSecretData: the manager's metadata informers for Secrets and ConfigMaps
// keep no annotations (where `kubectl apply` copies a Secret's data) and no managed
// fields; SalesConnections keep their annotations and lose only managed fields.
func TestCacheHoldsNoSecretData(t *testing.T) {
	ctx := context.Background()
	namespace(t, "cache")
	c := startManager(t, nil)

	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "contoso-admin", Namespace: "cache", Labels: map[string]string{"team": "erp"}},
		StringData: map[string]string{"clientID": "00000000-0000-0000-0000-0000000000c1", "clientSecret": fakeSecret},
	}
	secret.Annotations = appliedAnnotations(t, secret, nil)
	configMap := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "contoso-profile", Namespace: "cache"},
		Data:       map[string]string{"accessKey": fakeSecret},
	}
	configMap.Annotations = appliedAnnotations(t, configMap, nil)
	// The field manager kubectl uses for client-side apply, so managedFields are filled.
	for _, obj := range []client.Object{secret, configMap} {
		if err := env.Client.Create(ctx, obj, client.FieldOwner("kubectl-client-side-apply")); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		kind string
		obj  client.Object
	}{{"Secret", secret}, {"ConfigMap", configMap}} {
		t.Run(tc.kind, func(t *testing.T) {
			got := metadataOf(t, c, tc.kind, client.ObjectKeyFromObject(tc.obj))
			if len(got.Annotations) != 0 {
				t.Errorf("the cached %s keeps %d annotations", tc.kind, len(got.Annotations))
			}
			if len(got.ManagedFields) != 0 || len(got.Labels) != 0 {
				t.Errorf("the cached %s keeps managed fields (%d) or labels (%d)", tc.kind, len(got.ManagedFields), len(got.Labels))
			}
			if b, _ := json.Marshal(got); strings.Contains(string(b), fakeSecret) {
				t.Errorf("the cached %s holds the secret value", tc.kind)
			}
			if got.Name != tc.obj.GetName() || got.ResourceVersion == "" || got.UID == "" {
				t.Errorf("the cached %s lost what the watches read: name %q, resourceVersion %q, uid %q", tc.kind, got.Name, got.ResourceVersion, got.UID)
			}
		})
	}

	t.Run("SalesConnection", func(t *testing.T) {
		sc := &salesv1alpha1.SalesConnection{
			TypeMeta: metav1.TypeMeta{APIVersion: salesv1alpha1.GroupVersion.String(), Kind: "SalesConnection"},
			ObjectMeta: metav1.ObjectMeta{Name: "contoso", Namespace: "cache", Annotations: map[string]string{
				salesv1alpha1.AnnotationRequestedAt: "2026-01-01T00:00:00Z",
			}},
			Spec: salesv1alpha1.SalesConnectionSpec{
				URL: "https://contoso.crm4.dynamics.com",
				Authentication: salesv1alpha1.Authentication{
					Type: salesv1alpha1.AuthenticationClientSecret, TenantID: "00000000-0000-0000-0000-000000000001",
					SecretRef: &salesv1alpha1.LocalObjectReference{Name: "contoso-integration"},
				},
			},
		}
		sc.Annotations = appliedAnnotations(t, sc, sc.Annotations)
		if err := env.Client.Create(ctx, sc, client.FieldOwner("kubectl-client-side-apply")); err != nil {
			t.Fatal(err)
		}
		got := &salesv1alpha1.SalesConnection{}
		deadline := time.Now().Add(30 * time.Second)
		for c.Get(ctx, client.ObjectKeyFromObject(sc), got) != nil {
			if time.Now().After(deadline) {
				t.Fatal("the SalesConnection never reached the cache")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got.Annotations[salesv1alpha1.AnnotationRequestedAt] == "" {
			t.Errorf("the cached SalesConnection lost its annotations: %v", got.Annotations)
		}
		if len(got.ManagedFields) != 0 {
			t.Errorf("the cached SalesConnection keeps %d managed fields", len(got.ManagedFields))
		}
	})
}

// TestCacheWatchesOnlyListedNamespaces: with namespaces, the manager's cache sees objects
// of those namespaces only.
func TestCacheWatchesOnlyListedNamespaces(t *testing.T) {
	ctx := context.Background()
	for _, ns := range []string{"team-a", "team-b"} {
		namespace(t, ns)
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: ns}}
		if err := env.Client.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	c := startManager(t, []string{"team-a"})
	metadataOf(t, c, "Secret", client.ObjectKey{Namespace: "team-a", Name: "creds"})

	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := c.List(ctx, list); err != nil {
		t.Fatal(err)
	}
	for _, item := range list.Items {
		if item.Namespace != "team-a" {
			t.Errorf("the cache holds a Secret of namespace %s", item.Namespace)
		}
	}
	pom := &metav1.PartialObjectMetadata{}
	pom.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	if err := c.Get(ctx, client.ObjectKey{Namespace: "team-b", Name: "creds"}, pom); err == nil {
		t.Error("the cache serves a Secret of an unlisted namespace")
	}
}
