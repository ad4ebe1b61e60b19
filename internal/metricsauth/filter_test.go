package metricsauth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-logr/logr"
	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/bcconnect/salesconnection-operator/internal/metricsauth"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// TestOnlyAuthorizedTokensReadTheMetrics runs the filter against a real API server: a
// service account granted GET on /metrics reads it; one without the grant gets 403; no
// token, or one the API server does not know, gets 401; the grant covers /metrics only.
func TestOnlyAuthorizedTokensReadTheMetrics(t *testing.T) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "metrics-auth-"}}
	must(env.Client.Create(ctx, namespace))
	ns := namespace.Name
	scraper := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prometheus"}}
	other := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "someone-else"}}
	must(env.Client.Create(ctx, scraper))
	must(env.Client.Create(ctx, other))
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{GenerateName: "metrics-reader-"},
		Rules: []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}}
	must(env.Client.Create(ctx, role))
	must(env.Client.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{GenerateName: "metrics-reader-"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: scraper.Name}}}))
	token := func(sa *corev1.ServiceAccount) string {
		tr := &authnv1.TokenRequest{}
		must(env.Client.SubResource("token").Create(ctx, sa, tr))
		return tr.Status.Token
	}

	hc, err := rest.HTTPClientFor(env.Config)
	must(err)
	filter, err := metricsauth.Filter(env.Config, hc)
	must(err)
	handler, err := filter(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "salesconnection_ready 1\n")
	}))
	must(err)
	srv := httptest.NewServer(handler)
	defer srv.Close()

	granted := token(scraper)
	cases := []struct {
		name, path, token string
		want              int
	}{
		{"granted service account", "/metrics", granted, http.StatusOK},
		{"the same token again (cached answers)", "/metrics", granted, http.StatusOK},
		{"service account without the grant", "/metrics", token(other), http.StatusForbidden},
		{"granted account, another path", "/debug/pprof/", granted, http.StatusForbidden},
		{"no token", "/metrics", "", http.StatusUnauthorized},
		{"a token the API server does not know", "/metrics", "not-a-token", http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if (resp.StatusCode == http.StatusOK) != (string(body) == "salesconnection_ready 1\n") {
				t.Errorf("body %q with status %d", body, resp.StatusCode)
			}
		})
	}
}
