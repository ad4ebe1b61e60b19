package controllers

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// These tests run whole passes (Reconcile) with the real Dataverse client, so what they
// check is what a user sees: the conditions, the events and the operator's log.

// statusKube is memKube that also serves SalesConnections and takes status patches, as
// far as Reconcile needs.
type statusKube struct {
	*memKube
}

func (k *statusKube) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	out, ok := obj.(*salesv1alpha1.SalesConnection)
	if !ok {
		return k.memKube.Get(ctx, key, obj, opts...)
	}
	stored, ok := k.objects[key].(*salesv1alpha1.SalesConnection)
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "salesconnections"}, key.Name)
	}
	stored.DeepCopyInto(out)
	return nil
}

func (k *statusKube) Status() client.SubResourceWriter { return statusWriter{k: k} }

// statusWriter stores a patched status as the API server would.
type statusWriter struct {
	client.SubResourceWriter // nil: Reconcile only patches status
	k                        *statusKube
}

func (w statusWriter) Patch(_ context.Context, obj client.Object, _ client.Patch, _ ...client.SubResourcePatchOption) error {
	stored, ok := w.k.objects[client.ObjectKeyFromObject(obj)].(*salesv1alpha1.SalesConnection)
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "salesconnections"}, obj.GetName())
	}
	stored.Status = *obj.(*salesv1alpha1.SalesConnection).Status.DeepCopy()
	return nil
}

// syncBuffer is a log sink that is safe to write from any goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// passWorld is one SalesConnection reconciled by a Reconciler with a real Dataverse pool,
// Kubernetes from memory, and the operator's logger (controller-runtime's zap, debug
// level) writing to a buffer.
type passWorld struct {
	t      *testing.T
	r      *Reconciler
	kube   *statusKube
	events *events.FakeRecorder
	log    *syncBuffer
	key    client.ObjectKey
}

const securityTestNamespace = "security-test"

// integrationSecret is the integration user's client secret Secret.
func integrationSecret(clientSecret string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: securityTestNamespace, Name: "integration"},
		Data: map[string][]byte{"clientID": []byte("00000000-0000-0000-0000-0000000000c1"), "clientSecret": []byte(clientSecret)}}
}

// securityTestObject is an enabled connection that signs in with the Secret
// integrationSecret makes.
func securityTestObject(envURL, authorityHost string) *salesv1alpha1.SalesConnection {
	return &salesv1alpha1.SalesConnection{
		ObjectMeta: metav1.ObjectMeta{Namespace: securityTestNamespace, Name: "contoso", Generation: 1},
		Spec: salesv1alpha1.SalesConnectionSpec{
			URL: envURL,
			Authentication: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationClientSecret,
				TenantID: "00000000-0000-0000-0000-000000000001", AuthorityHost: authorityHost,
				SecretRef: &salesv1alpha1.LocalObjectReference{Name: "integration"}},
		},
	}
}

func newPassWorld(t *testing.T, pool *dataverse.Pool, obj *salesv1alpha1.SalesConnection, objs ...client.Object) *passWorld {
	t.Helper()
	kube := &statusKube{memKube: newMemKube(append([]client.Object{obj}, objs...)...)}
	rec := events.NewFakeRecorder(100)
	r := &Reconciler{Client: kube, APIReader: kube, Recorder: rec, Dataverse: pool,
		StalledRetryInterval: 30 * time.Minute, PassTimeout: 30 * time.Second}
	key := client.ObjectKeyFromObject(obj)
	t.Cleanup(func() { forgetObject(key) })
	return &passWorld{t: t, r: r, kube: kube, events: rec, log: &syncBuffer{}, key: key}
}

// reconcile runs one pass with the logger in its context, as the manager does.
func (w *passWorld) reconcile() (ctrl.Result, error) {
	logger := zap.New(zap.WriteTo(w.log), zap.UseDevMode(true))
	ctx := log.IntoContext(context.Background(), logger.WithValues("SalesConnection", w.key))
	return w.r.Reconcile(ctx, ctrl.Request{NamespacedName: w.key})
}

// object is the SalesConnection as stored after the pass's status write.
func (w *passWorld) object() *salesv1alpha1.SalesConnection {
	w.t.Helper()
	sc := &salesv1alpha1.SalesConnection{}
	if err := w.kube.Get(context.Background(), w.key, sc); err != nil {
		w.t.Fatal(err)
	}
	return sc
}

// emitted drains the events recorded so far.
func (w *passWorld) emitted() []string {
	var out []string
	for {
		select {
		case e := <-w.events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// statusText is everything a user can read in status.
func statusText(t *testing.T, sc *salesv1alpha1.SalesConnection) string {
	t.Helper()
	b, err := json.Marshal(sc.Status)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestARefusedDestinationStallsTheObject: a spec.url or an authorityHost off the
// allowlists (the manager's defaults here) stalls the SalesConnection with reason
// DestinationNotAllowed, in Stalled, Ready and a Warning event, with a message that names
// the refused host and the flag a cluster admin would change. The pass is not retried in
// a hot loop: it waits for a change.
func TestARefusedDestinationStallsTheObject(t *testing.T) {
	const clientSecret = "Client-S3cret-Never-Shown"
	for _, tc := range []struct {
		name, url, authority string
		admin                string // the administrator's authorityHost, when it has one
		host, flag           string
	}{
		{name: "environment", url: "https://contoso.crm.example.invalid",
			host: "contoso.crm.example.invalid", flag: dataverse.FlagAllowedEnvironmentDomains},
		{name: "plain http environment", url: "http://contoso.crm4.dynamics.com:8080",
			host: "contoso.crm4.dynamics.com", flag: dataverse.FlagAllowedEnvironmentDomains},
		{name: "authority", url: "https://contoso.crm4.dynamics.com", authority: "https://login.example.invalid/",
			host: "login.example.invalid", flag: dataverse.FlagAllowedAuthorityHosts},
		{name: "administrator's authority", url: "https://contoso.crm4.dynamics.com", admin: "https://adfs.example.invalid/",
			host: "adfs.example.invalid", flag: dataverse.FlagAllowedAuthorityHosts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := securityTestObject(tc.url, tc.authority)
			if tc.admin != "" {
				admin := obj.Spec.Authentication
				admin.AuthorityHost = tc.admin
				obj.Spec.Administrator = &admin
			}
			// The manager's default allowlists.
			w := newPassWorld(t, dataverse.NewPool(dataverse.PoolOptions{}), obj, integrationSecret(clientSecret))
			res, err := w.reconcile()
			if err != nil || res.RequeueAfter < 10*time.Minute {
				t.Errorf("Reconcile = %+v, %v; want no error and the slow requeue of a Stalled object", res, err)
			}

			sc := w.object()
			stalled, ready := sc.Status.GetCondition(salesv1alpha1.ConditionStalled), sc.Status.GetCondition(salesv1alpha1.ConditionReady)
			if stalled == nil || stalled.Status != metav1.ConditionTrue || stalled.Reason != string(salesv1alpha1.ReasonDestinationNotAllowed) {
				t.Fatalf("Stalled = %+v, want True with reason DestinationNotAllowed", stalled)
			}
			if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != string(salesv1alpha1.ReasonDestinationNotAllowed) {
				t.Errorf("Ready = %+v, want False with reason DestinationNotAllowed", ready)
			}
			for _, want := range []string{tc.host, "--" + tc.flag} {
				if !strings.Contains(stalled.Message, want) {
					t.Errorf("Stalled message %q does not name %s", stalled.Message, want)
				}
			}

			ev := strings.Join(w.emitted(), "\n")
			if !strings.Contains(ev, "Warning DestinationNotAllowed") || !strings.Contains(ev, "--"+tc.flag) {
				t.Errorf("events %q: want a Warning DestinationNotAllowed naming --%s", ev, tc.flag)
			}
			if text := statusText(t, sc) + ev + w.log.String(); strings.Contains(text, clientSecret) {
				t.Errorf("the client secret is in status, events or the log")
			}
		})
	}
}

// TestAuthorityUserInfoNeverReachesStatus: an authorityHost with a password in it passes
// the CRD's validation; the pass stalls on it without quoting the password (or the user)
// in status, events or the log.
func TestAuthorityUserInfoNeverReachesStatus(t *testing.T) {
	const user, password = "svc-authority-user", "Authority-P4ss-Never-Shown"
	obj := securityTestObject("https://contoso.crm4.dynamics.com", "https://"+user+":"+password+"@login.microsoftonline.com/")
	w := newPassWorld(t, dataverse.NewPool(dataverse.PoolOptions{}), obj, integrationSecret("Client-S3cret-Never-Shown"))
	if _, err := w.reconcile(); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	sc := w.object()
	stalled := sc.Status.GetCondition(salesv1alpha1.ConditionStalled)
	if stalled == nil || stalled.Status != metav1.ConditionTrue || !strings.Contains(stalled.Message, "user info") {
		t.Fatalf("Stalled = %+v, want True saying the authority host has user info", stalled)
	}
	logged := w.log.String()
	if !strings.Contains(logged, "user info") {
		t.Errorf("the log does not report the refusal:\n%s", logged)
	}
	text := statusText(t, sc) + strings.Join(w.emitted(), "\n") + logged
	for _, leaked := range []string{password, user} {
		if strings.Contains(text, leaked) {
			t.Errorf("%q is in status, events or the log", leaked)
		}
	}
}

// hostileAuthority is an Entra ID v2 authority over TLS whose token endpoint refuses
// every sign-in and, like a misconfigured proxy or a hostile server, quotes the request
// it got, client secret included, in its error.
func hostileAuthority(t *testing.T) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
			base := srv.URL + "/" + strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
			_ = json.NewEncoder(w).Encode(map[string]any{
				"issuer": base + "/v2.0", "authorization_endpoint": base + "/oauth2/v2.0/authorize",
				"token_endpoint": base + "/oauth2/v2.0/token", "tenant_region_scope": "NA",
			})
		case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
			form, _ := url.ParseQuery(string(body))
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{
				"error": "invalid_client",
				"error_description": "AADSTS7000215: Invalid client secret provided: " + form.Get("client_secret") +
					" (request: " + string(body) + ") Trace ID: 1 Correlation ID: 2 Timestamp: 2026-01-01 00:00:00Z",
				"error_codes": []int{7000215},
			})
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"0x80040217","message":"not found: `+r.Header.Get("Authorization")+`"}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSecretsNeverReachTheLog: a pass whose sign-in fails against an authority that
// echoes the client secret back logs the failure (so the server's answer does reach the
// log) but never the secret, and neither do status or events.
func TestSecretsNeverReachTheLog(t *testing.T) {
	const clientSecret = "Client-S3cret-Never-Shown-In-Logs"
	srv := hostileAuthority(t)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	obj := securityTestObject(srv.URL+"/org", srv.URL+"/")
	obj.Spec.TLS = &salesv1alpha1.TLSConfig{CASecretRef: &salesv1alpha1.KeyReference{Name: "ca", Key: "ca.crt"}}
	ca := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: securityTestNamespace, Name: "ca"},
		Data: map[string][]byte{"ca.crt": caPEM}}
	pool := dataverse.NewPool(dataverse.PoolOptions{
		// The test server listens on the loopback address.
		AllowedAuthorityHosts: []string{"127.0.0.1"}, AllowedEnvironmentDomains: []string{"127.0.0.1"},
	})
	w := newPassWorld(t, pool, obj, integrationSecret(clientSecret), ca)

	if _, err := w.reconcile(); err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	sc := w.object()
	ready := sc.Status.GetCondition(salesv1alpha1.ConditionReady)
	if ready == nil || ready.Reason != string(salesv1alpha1.ReasonAuthenticationFailed) {
		t.Fatalf("Ready = %+v, want reason AuthenticationFailed", ready)
	}
	logged := w.log.String()
	// The failure is logged with the server's own words around the echoed secret: the
	// secret's absence below is redaction, not silence.
	for _, want := range []string{"reconcile did not complete", "Invalid client secret provided"} {
		if !strings.Contains(logged, want) {
			t.Errorf("the log does not hold %q:\n%s", want, logged)
		}
	}
	ev := strings.Join(w.emitted(), "\n")
	if !strings.Contains(ev, "Warning AuthenticationFailed") {
		t.Errorf("events %q: want a Warning AuthenticationFailed", ev)
	}
	for where, text := range map[string]string{"the log": logged, "status": statusText(t, sc), "events": ev} {
		if strings.Contains(text, clientSecret) || strings.Contains(text, url.QueryEscape(clientSecret)) {
			t.Errorf("the client secret is in %s:\n%s", where, text)
		}
	}
}
