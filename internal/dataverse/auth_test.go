package dataverse

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/bcconnect/salesconnection-operator/internal/testpki"
)

func TestEveryCredentialTypeSignsIn(t *testing.T) {
	f := newFakeServer(t)
	f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) { ok(whoAmIAnswer)(w) })
	cert1, key1 := testpki.SelfSigned(t, false)
	cert8, key8 := testpki.SelfSigned(t, true)
	tokenFile := filepath.Join(t.TempDir(), "token")
	federated := unsignedJWT(map[string]any{"iss": "https://kubernetes.default.svc", "sub": "system:serviceaccount:ops:operator"})
	if err := os.WriteFile(tokenFile, []byte(federated), 0o600); err != nil {
		t.Fatal(err)
	}
	f.expectedAssertion = federated

	tests := []struct {
		creds              Credentials
		grant, client      string
		scopeSuffix        string
		assertion, secret  bool
		username, password string
	}{
		{creds: secretCreds(f), grant: "client_credentials", client: testClient, scopeSuffix: "/.default", secret: true},
		{creds: Credentials{Type: AuthCertificate, TenantID: testTenant, ClientID: testClient, CertificatePEM: cert1, PrivateKeyPEM: key1},
			grant: "client_credentials", client: testClient, scopeSuffix: "/.default", assertion: true},
		{creds: Credentials{Type: AuthCertificate, TenantID: testTenant, ClientID: testClient, CertificatePEM: cert8, PrivateKeyPEM: key8},
			grant: "client_credentials", client: testClient, scopeSuffix: "/.default", assertion: true},
		{creds: Credentials{Type: AuthWorkloadIdentity, TenantID: testTenant, ClientID: testClient, TokenFile: tokenFile},
			grant: "client_credentials", client: testClient, scopeSuffix: "/.default", assertion: true},
		{creds: Credentials{Type: AuthWorkloadIdentity, TenantID: testTenant, ClientID: testClient, Source: "team-a/ServiceAccount/bc-sync",
			Assertion: func(context.Context) (string, error) { return federated, nil }},
			grant: "client_credentials", client: testClient, scopeSuffix: "/.default", assertion: true},
		{creds: Credentials{Type: AuthOAuth, TenantID: testTenant, ClientID: testClient, Username: testUser, Password: testPass},
			grant: "password", client: testClient, scopeSuffix: "/user_impersonation", username: testUser, password: testPass},
		{creds: Credentials{Type: AuthOffice365, TenantID: testTenant, Username: testUser, Password: testPass},
			grant: "password", client: DefaultPublicClientID, scopeSuffix: "/user_impersonation", username: testUser, password: testPass},
	}
	for _, tt := range tests {
		t.Run(string(tt.creds.Type), func(t *testing.T) {
			tt.creds.AuthorityHost = f.authority()
			before := f.tokenRequests()
			c := f.client(t, testPool(newFakeClock()), tt.creds)
			w, err := c.WhoAmI(context.Background())
			if err != nil {
				t.Fatalf("WhoAmI: %v", err)
			}
			if w.UserID != userID {
				t.Errorf("WhoAmI = %+v", w)
			}
			if f.tokenRequests() != before+1 {
				t.Fatalf("%d token requests, want 1", f.tokenRequests()-before)
			}
			f.mu.Lock()
			form := f.tokenForms[len(f.tokenForms)-1]
			f.mu.Unlock()
			if form.Get("grant_type") != tt.grant || form.Get("client_id") != tt.client {
				t.Errorf("grant %q client %q, want %q %q", form.Get("grant_type"), form.Get("client_id"), tt.grant, tt.client)
			}
			if scopes := strings.Fields(form.Get("scope")); len(scopes) == 0 || scopes[0] != f.envURL()+tt.scopeSuffix {
				t.Errorf("scope %q, want %s first", form.Get("scope"), f.envURL()+tt.scopeSuffix)
			}
			if tt.assertion != (form.Get("client_assertion") != "") || tt.secret != (form.Get("client_secret") != "") {
				t.Errorf("assertion %v secret %v in the form", form.Get("client_assertion") != "", form.Get("client_secret") != "")
			}
			if form.Get("username") != tt.username || form.Get("password") != tt.password {
				t.Errorf("username %q in the form", form.Get("username"))
			}
		})
	}
}

func TestSignInFailures(t *testing.T) {
	leakyBody := `{"error":"invalid_request","error_description":"AADSTS900144: The request body was: client_id=x&client_secret=` + testSecret +
		`&password=` + testPass + `&grant_type=client_credentials. Trace ID: 1","error_codes":[900144]}`
	tests := []struct {
		name        string
		setup       func(f *fakeServer)
		creds       func(f *fakeServer) Credentials
		reason      Reason
		transient   bool
		code        string
		tokenCalls  int
		noDataverse bool
	}{
		{
			name:   "wrong secret",
			creds:  func(f *fakeServer) Credentials { c := secretCreds(f); c.ClientSecret = "wrong-" + testSecret; return c },
			reason: ReasonAuthenticationFailed, code: "AADSTS7000215", tokenCalls: 1,
		},
		{
			name: "wrong password",
			creds: func(f *fakeServer) Credentials {
				return Credentials{Type: AuthOAuth, TenantID: testTenant, Username: testUser, Password: "wrong-" + testPass, AuthorityHost: f.authority()}
			},
			reason: ReasonAuthenticationFailed, code: "AADSTS50126", tokenCalls: 1,
		},
		{
			name:   "authority echoes the request form",
			setup:  func(f *fakeServer) { f.failTokens(http.StatusBadRequest, leakyBody) },
			creds:  secretCreds,
			reason: ReasonAuthenticationFailed, code: "AADSTS900144", tokenCalls: 1,
		},
		{
			name:  "unknown tenant",
			creds: func(f *fakeServer) Credentials { c := secretCreds(f); c.TenantID = "no-such-tenant"; return c },
			setup: func(f *fakeServer) {
				f.failTokens(http.StatusBadRequest, `{"error":"invalid_tenant","error_description":"AADSTS90002: Tenant 'no-such-tenant' not found."}`)
			},
			reason: ReasonAuthenticationFailed, code: "AADSTS90002", tokenCalls: 1,
		},
		{
			name: "token endpoint unavailable",
			setup: func(f *fakeServer) {
				f.failTokens(http.StatusServiceUnavailable, `<html><title>Service Unavailable</title></html>`)
			},
			creds:     secretCreds,
			reason:    ReasonUnreachable,
			transient: true, tokenCalls: 3, // a read is retried: MaxAttempts sign-ins
		},
		{
			name: "unreadable certificate",
			creds: func(f *fakeServer) Credentials {
				return Credentials{Type: AuthCertificate, TenantID: testTenant, ClientID: testClient, AuthorityHost: f.authority(),
					CertificatePEM: []byte("not a cert"), PrivateKeyPEM: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}
			},
			reason: ReasonAuthenticationFailed, code: "InvalidCertificate",
		},
		{
			name: "missing token file",
			creds: func(f *fakeServer) Credentials {
				return Credentials{Type: AuthWorkloadIdentity, TenantID: testTenant, ClientID: testClient, AuthorityHost: f.authority(),
					TokenFile: filepath.Join(os.TempDir(), "does-not-exist", "token")}
			},
			reason: ReasonAuthenticationFailed, code: "CredentialUnavailable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t)
			f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) { ok(whoAmIAnswer)(w) })
			if tt.setup != nil {
				tt.setup(f)
			}
			c := f.client(t, testPool(newFakeClock()), tt.creds(f))
			_, err := c.WhoAmI(context.Background())
			if ReasonOf(err) != tt.reason || IsTransient(err) != tt.transient {
				t.Fatalf("err = %v, want %s (transient %v)", err, tt.reason, tt.transient)
			}
			e, _ := asError(err)
			if tt.code != "" && e.Code != tt.code {
				t.Errorf("code %q, want %q", e.Code, tt.code)
			}
			if e.Operation != "WhoAmI" {
				t.Errorf("operation %q", e.Operation)
			}
			assertNoSecrets(t, err)
			if got := f.tokenRequests(); got != tt.tokenCalls {
				t.Errorf("%d token requests, want %d", got, tt.tokenCalls)
			}
			if n := len(f.dataverseRequests()); n != 0 {
				t.Errorf("%d Dataverse requests without a token", n)
			}
		})
	}
}

// assertNoSecrets fails when err's text holds a credential value or a token.
func assertNoSecrets(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	for _, s := range []string{testSecret, testSecret2, testPass, "Bearer tok-", "tok-1", "BEGIN PRIVATE KEY"} {
		if strings.Contains(msg, s) {
			t.Errorf("error text %q contains %q", msg, s)
		}
	}
}

func TestSecretsNeverInDataverseErrors(t *testing.T) {
	f := newFakeServer(t)
	const accessKey = "bc-odata-access-key-Never-Shown"
	// A misbehaving server echoes the whole request, headers and body, in its error.
	f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, http.StatusBadRequest, odataError("0x80048d19", "bad request: "+r.Header.Get("Authorization")+" "+string(body)))
	})
	c := f.client(t, testPool(newFakeClock()), secretCreds(f))
	_, err := c.CreateNavConnection(context.Background(), NavConnection{Name: "CRONUS", URL: "https://bc", ODataAccessKey: accessKey})
	if err == nil {
		t.Fatal("want an error")
	}
	assertNoSecrets(t, err)
	if strings.Contains(err.Error(), accessKey) {
		t.Errorf("error text %q contains the access key", err)
	}
	if n := (NavConnection{ODataAccessKey: accessKey}); strings.Contains(n.String(), accessKey) || strings.Contains(strings.ToLower(
		strings.Join([]string{n.GoString()}, "")), strings.ToLower(accessKey)) {
		t.Errorf("NavConnection prints its access key")
	}
}

func TestTLSAndNetworkFailures(t *testing.T) {
	t.Run("untrusted CA", func(t *testing.T) {
		f := newFakeServer(t)
		c, err := testPool(newFakeClock()).Client(f.envURL(), secretCreds(f), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.WhoAmI(context.Background())
		if ReasonOf(err) != ReasonTLSError || IsTransient(err) {
			t.Fatalf("err = %v, want terminal TLSError", err)
		}
	})
	t.Run("invalid CA bundle", func(t *testing.T) {
		f := newFakeServer(t)
		_, err := testPool(newFakeClock()).Client(f.envURL(), secretCreds(f), []byte("not pem"))
		if ReasonOf(err) != ReasonTLSError {
			t.Fatalf("err = %v, want TLSError", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		f := newFakeServer(t)
		creds, env, ca := secretCreds(f), f.envURL(), f.caPEM()
		f.Close()
		c, err := testPool(newFakeClock()).Client(env, creds, ca)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.WhoAmI(context.Background())
		if ReasonOf(err) != ReasonUnreachable || !IsTransient(err) {
			t.Fatalf("err = %v, want transient Unreachable", err)
		}
	})
	t.Run("dataverse unreachable after sign-in", func(t *testing.T) {
		f := newFakeServer(t)
		f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) {
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		})
		c := f.client(t, testPool(newFakeClock()), secretCreds(f))
		_, err := c.GetOrganization(context.Background())
		if ReasonOf(err) != ReasonUnreachable || !IsTransient(err) {
			t.Fatalf("err = %v, want transient Unreachable", err)
		}
		// net/http itself may resend a GET once on a reused connection.
		if n := len(f.dataverseRequests()); n < 3 {
			t.Errorf("%d requests, want a read retried to MaxAttempts", n)
		}
	})
}

func TestPoolClientValidation(t *testing.T) {
	f := newFakeServer(t)
	p := testPool(newFakeClock())
	for name, tt := range map[string]struct {
		url   string
		creds Credentials
	}{
		"relative URL":      {"contoso.crm.dynamics.com", secretCreds(f)},
		"query":             {f.envURL() + "?x=1", secretCreds(f)},
		"no secret":         {f.envURL(), Credentials{Type: AuthClientSecret, TenantID: testTenant, ClientID: testClient}},
		"no tenant":         {f.envURL(), Credentials{Type: AuthClientSecret, ClientID: testClient, ClientSecret: testSecret}},
		"no client":         {f.envURL(), Credentials{Type: AuthClientSecret, TenantID: testTenant, ClientSecret: testSecret}},
		"no password":       {f.envURL(), Credentials{Type: AuthOAuth, TenantID: testTenant, Username: testUser}},
		"no token file":     {f.envURL(), Credentials{Type: AuthWorkloadIdentity, TenantID: testTenant, ClientID: testClient}},
		"no key":            {f.envURL(), Credentials{Type: AuthCertificate, TenantID: testTenant, ClientID: testClient, CertificatePEM: []byte("x")}},
		"unsupported (AD)":  {f.envURL(), Credentials{Type: "AD", TenantID: testTenant, Username: testUser, Password: testPass}},
		"empty credentials": {f.envURL(), Credentials{}},
	} {
		if _, err := p.Client(tt.url, tt.creds, nil); err == nil || IsTransient(err) {
			t.Errorf("%s: err = %v, want a terminal error", name, err)
		} else {
			assertNoSecrets(t, err)
		}
	}
}

func TestTokensAreCachedAndDroppedOnRotation(t *testing.T) {
	f := newFakeServer(t)
	f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) { ok(whoAmIAnswer)(w) })
	clock := newFakeClock()
	p := testPool(clock)
	ctx := context.Background()

	for range 3 { // one token for every client of the same principal
		if _, err := f.client(t, p, secretCreds(f)).WhoAmI(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.tokenRequests(); n != 1 {
		t.Fatalf("%d token requests, want 1", n)
	}

	rotated := secretCreds(f)
	rotated.ClientSecret = testSecret2
	if _, err := f.client(t, p, rotated).WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.tokenRequests(); n != 2 {
		t.Fatalf("%d token requests after rotation, want 2", n)
	}
	if len(p.tokens) != 1 {
		t.Errorf("%d token sources, want the old one dropped", len(p.tokens))
	}
	for _, e := range p.tokens {
		if e.source.creds.ClientSecret != testSecret2 {
			t.Errorf("the pool kept the old secret")
		}
	}

	// Shortly before expiry the token is renewed (expires_in is 3600s).
	success := testutil.ToFloat64(tokenRequestsTotal.WithLabelValues("success"))
	c := f.client(t, p, rotated)
	clock.advance(50 * time.Minute)
	if _, err := c.WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(tokenRequestsTotal.WithLabelValues("success")); got != success {
		t.Errorf("token renewed 10 minutes before expiry")
	}
	clock.advance(6 * time.Minute)
	if _, err := c.WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(tokenRequestsTotal.WithLabelValues("success")); got != success+1 {
		t.Errorf("token not renewed 4 minutes before expiry")
	}
}

func TestFingerprint(t *testing.T) {
	base := Credentials{Type: AuthClientSecret, TenantID: "t", ClientID: "c", ClientSecret: testSecret, AuthorityHost: "https://a/"}
	fp := base.Fingerprint()
	if fp != base.Fingerprint() || len(fp) != 64 {
		t.Fatalf("fingerprint %q is not a stable sha256 hex", fp)
	}
	if strings.Contains(fp, testSecret) {
		t.Fatal("fingerprint holds the secret")
	}
	variants := []func(*Credentials){
		func(c *Credentials) { c.Type = AuthOAuth },
		func(c *Credentials) { c.TenantID = "t2" },
		func(c *Credentials) { c.ClientID = "c2" },
		func(c *Credentials) { c.ClientSecret = testSecret2 },
		func(c *Credentials) { c.CertificatePEM = []byte("x") },
		func(c *Credentials) { c.PrivateKeyPEM = []byte("x") },
		func(c *Credentials) { c.Username = "u" },
		func(c *Credentials) { c.Password = "p" },
		func(c *Credentials) { c.TokenFile = "/f" },
		func(c *Credentials) { c.AuthorityHost = "https://b/" },
		// Field boundaries count: moving a character between fields changes it.
		func(c *Credentials) { c.TenantID, c.ClientID = "tc", "" },
	}
	seen := map[string]bool{fp: true}
	for i, v := range variants {
		c := base
		v(&c)
		if seen[c.Fingerprint()] {
			t.Errorf("variant %d: fingerprint collides", i)
		}
		seen[c.Fingerprint()] = true
	}
	for _, s := range []string{base.String(), base.GoString()} {
		if strings.Contains(s, testSecret) {
			t.Errorf("%q prints the secret", s)
		}
	}
}

func TestMetrics(t *testing.T) {
	f := newFakeServer(t)
	f.handle(sequence(status(503, ""), ok(map[string]string{"Version": "9.2.1.0"})))
	c := f.client(t, testPool(newFakeClock()), secretCreds(f))
	ok200 := testutil.ToFloat64(requestsTotal.WithLabelValues("RetrieveVersion", "200"))
	e503 := testutil.ToFloat64(requestsTotal.WithLabelValues("RetrieveVersion", "503"))
	tokens := testutil.ToFloat64(tokenRequestsTotal.WithLabelValues("success"))
	observations := histogramCount(t, "RetrieveVersion")
	if _, err := c.RetrieveVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(requestsTotal.WithLabelValues("RetrieveVersion", "200")) - ok200; got != 1 {
		t.Errorf("200 counted %v times", got)
	}
	if got := testutil.ToFloat64(requestsTotal.WithLabelValues("RetrieveVersion", "503")) - e503; got != 1 {
		t.Errorf("503 counted %v times", got)
	}
	if got := testutil.ToFloat64(tokenRequestsTotal.WithLabelValues("success")) - tokens; got != 1 {
		t.Errorf("token requests counted %v times", got)
	}
	if got := histogramCount(t, "RetrieveVersion") - observations; got != 2 {
		t.Errorf("durations observed %d times, want 2", got)
	}

	f.Close()
	before := testutil.ToFloat64(tokenRequestsTotal.WithLabelValues("error"))
	c2 := f.client(t, testPool(newFakeClock()), Credentials{Type: AuthOAuth, TenantID: testTenant, Username: testUser, Password: testPass, AuthorityHost: f.authority()})
	_, _ = c2.RetrieveVersion(context.Background())
	if got := testutil.ToFloat64(tokenRequestsTotal.WithLabelValues("error")) - before; got != 3 {
		t.Errorf("failed token requests counted %v times, want 3", got)
	}
	if n, err := testutil.GatherAndCount(registryForTest(), "salesconnection_dataverse_requests_total"); err != nil || n == 0 {
		t.Errorf("requests_total not registered in the controller-runtime registry: %d, %v", n, err)
	}
}

// TestTokensAreNotSharedBetweenSources: two namespaces naming the same application (client
// ids are not secret) never share a token, even when their credentials are otherwise
// identical: the token cache key includes where the credentials come from.
func TestTokensAreNotSharedBetweenSources(t *testing.T) {
	f := newFakeServer(t)
	f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) { ok(whoAmIAnswer)(w) })
	pool := testPool(newFakeClock())
	for i, source := range []string{"team-a/Secret/bc", "team-b/Secret/bc", "team-a/Secret/bc"} {
		creds := secretCreds(f)
		creds.Source = source
		before := f.tokenRequests()
		if _, err := f.client(t, pool, creds).WhoAmI(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := before + 1
		if i == 2 { // team-a again: its cached token
			want = before
		}
		if got := f.tokenRequests(); got != want {
			t.Errorf("%s: %d token requests, want %d", source, got-before, want-before)
		}
	}
}
