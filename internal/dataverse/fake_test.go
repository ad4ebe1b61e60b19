package dataverse

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testTenant  = "00000000-0000-0000-0000-000000000001"
	testClient  = "00000000-0000-0000-0000-0000000000c1"
	testSecret  = "s3cr3t-Value-Never-Shown"
	testSecret2 = "rotated-s3cr3t-Value-Never-Shown"
	testUser    = "svc@contoso.com"
	testPass    = "p@ssw0rd-Never-Shown"
)

// recorded is one request the fake server received.
type recorded struct {
	Method, APIVersion, Path, RawQuery string
	Query                              url.Values
	Header                             http.Header
	Body                               []byte
}

// fakeServer is a minimal Entra ID v2 authority plus a Dataverse environment under
// /org, over TLS. The Dataverse side answers with the handler a test sets.
type fakeServer struct {
	*httptest.Server
	t *testing.T

	mu          sync.Mutex
	issued      int
	valid       map[string]bool
	tokenStatus int    // when set, the token endpoint answers this status
	tokenBody   string // ... with this body
	tokenForms  []url.Values
	requests    []recorded
	dataverse   func(w http.ResponseWriter, r *http.Request, body []byte)
	// expectedAssertion, when set, is the federated token an unsigned client_assertion
	// must equal.
	expectedAssertion string
	// intercept, when set, sees every request first; true means it answered.
	intercept func(w http.ResponseWriter, r *http.Request) bool
	// seen counts every request by path, answered or not.
	seen map[string]int
}

func newFakeServer(t *testing.T) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, valid: map[string]bool{}}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) envURL() string    { return f.URL + "/org" }
func (f *fakeServer) authority() string { return f.URL + "/" }
func (f *fakeServer) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.Certificate().Raw})
}

func (f *fakeServer) handle(h func(w http.ResponseWriter, r *http.Request, body []byte)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dataverse = h
}

func (f *fakeServer) failTokens(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenStatus, f.tokenBody = status, body
}

// revokeAll makes every issued token invalid, as a revoked session would.
func (f *fakeServer) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid = map[string]bool{}
}

func (f *fakeServer) tokenRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tokenForms)
}

// requestCount is how many requests of any kind reached the server.
func (f *fakeServer) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.seen {
		n += c
	}
	return n
}

func (f *fakeServer) setIntercept(h func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.intercept = h
}

func (f *fakeServer) dataverseRequests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.seen == nil {
		f.seen = map[string]int{}
	}
	f.seen[r.URL.Path]++
	intercept := f.intercept
	f.mu.Unlock()
	if intercept != nil && intercept(w, r) {
		return
	}
	body, _ := io.ReadAll(r.Body)
	switch {
	case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
		tenant := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")[0]
		base := f.URL + "/" + tenant
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                 base + "/v2.0",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"tenant_region_scope":    "NA",
		})
	case strings.HasPrefix(r.URL.Path, "/common/UserRealm/"):
		writeJSON(w, http.StatusOK, map[string]any{
			"ver": "1.0", "account_type": "Managed", "domain_name": "contoso.com", "cloud_instance_name": "microsoftonline.com", "cloud_audience_urn": "urn:federation:MicrosoftOnline",
		})
	case strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		f.token(w, body)
	case strings.HasPrefix(r.URL.Path, "/org/api/data/v"):
		version, path, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/org/api/data/"), "/")
		f.mu.Lock()
		f.requests = append(f.requests, recorded{Method: r.Method, APIVersion: version, Path: path,
			RawQuery: r.URL.RawQuery, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
		ok := f.valid[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		h := f.dataverse
		f.mu.Unlock()
		if !ok {
			w.Header().Set("WWW-Authenticate", "Bearer")
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if h == nil {
			writeJSON(w, http.StatusNotFound, odataError("0x80040217", "no handler"))
			return
		}
		h(w, r, body)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeServer) token(w http.ResponseWriter, body []byte) {
	form, _ := url.ParseQuery(string(body))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenForms = append(f.tokenForms, form)
	if f.tokenStatus != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.tokenStatus)
		_, _ = io.WriteString(w, f.tokenBody)
		return
	}
	fail := func(code, desc string) {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"error": code, "error_description": desc + " Trace ID: 1 Correlation ID: 2 Timestamp: 2026-01-01 00:00:00Z",
			"error_codes": []int{7000215},
		})
	}
	if !strings.HasPrefix(form.Get("scope"), f.envURL()+"/") {
		fail("invalid_scope", "AADSTS70011: The provided value for scope is not valid.")
		return
	}
	switch form.Get("grant_type") {
	case "client_credentials":
		switch {
		case form.Get("client_secret") != "":
			if s := form.Get("client_secret"); s != testSecret && s != testSecret2 {
				fail("invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.")
				return
			}
		case form.Get("client_assertion") != "":
			parts := strings.Split(form.Get("client_assertion"), ".")
			unsigned := len(parts) == 3 && parts[2] == ""
			if len(parts) != 3 || (unsigned && form.Get("client_assertion") != f.expectedAssertion) {
				fail("invalid_client", "AADSTS700027: Client assertion failed signature validation.")
				return
			}
		default:
			fail("invalid_request", "AADSTS900144: The request body must contain client_secret or client_assertion.")
			return
		}
	case "password":
		if form.Get("username") != testUser || form.Get("password") != testPass {
			fail("invalid_grant", "AADSTS50126: Error validating credentials due to invalid username or password.")
			return
		}
	default:
		fail("unsupported_grant_type", "AADSTS70003: unsupported grant.")
		return
	}
	f.issued++
	tok := fmt.Sprintf("tok-%d", f.issued)
	f.valid[tok] = true
	resp := map[string]any{"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": tok}
	if form.Get("grant_type") == "password" {
		resp["client_info"] = base64.RawURLEncoding.EncodeToString([]byte(`{"uid":"u1","utid":"` + testTenant + `"}`))
		resp["id_token"] = unsignedJWT(map[string]any{
			"iss": f.URL + "/" + testTenant + "/v2.0", "aud": form.Get("client_id"), "tid": testTenant, "oid": "u1",
			"preferred_username": testUser, "sub": "u1", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(),
		})
		resp["refresh_token"] = "refresh-" + tok
		resp["scope"] = form.Get("scope")
	}
	writeJSON(w, http.StatusOK, resp)
}

func unsignedJWT(claims map[string]any) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	b, _ := json.Marshal(claims)
	return h + "." + base64.RawURLEncoding.EncodeToString(b) + "."
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func odataError(code, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": msg}}
}

// fakeClock is the pool's clock in tests: Sleep advances it at once and remembers.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

// newFakeClock starts at the real time: token expiry times come from azidentity, which
// reads the real clock.
func newFakeClock() *fakeClock { return &fakeClock{now: time.Now().UTC().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	return nil
}

func (c *fakeClock) slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testPool is a pool with the fake clock and fast retries.
func testPool(clock *fakeClock, mutate ...func(*PoolOptions)) *Pool {
	opts := PoolOptions{
		UserAgent: "dataverse-test",
		Timeout:   10 * time.Second,
		Retry:     RetryPolicy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second, MaxWait: 30 * time.Second},
		Now:       clock.Now,
		Sleep:     clock.Sleep,
		// The fake server listens on the loopback address, which no default list allows.
		AllowedAuthorityHosts:     []string{"127.0.0.1"},
		AllowedEnvironmentDomains: []string{"127.0.0.1"},
	}
	for _, m := range mutate {
		m(&opts)
	}
	return NewPool(opts)
}

func secretCreds(f *fakeServer) Credentials {
	return Credentials{Type: AuthClientSecret, TenantID: testTenant, ClientID: testClient, ClientSecret: testSecret, AuthorityHost: f.authority()}
}

func (f *fakeServer) client(t *testing.T, p *Pool, creds Credentials) *Client {
	t.Helper()
	c, err := p.Client(f.envURL(), creds, f.caPEM())
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	return c
}
