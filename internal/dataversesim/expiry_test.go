package dataversesim

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"
)

// TestTokenLifetimeIsEnforced: a raw request with a token past its expiry (or before
// its nbf) gets 401, on the simulator's own clock.
func TestTokenLifetimeIsEnforced(t *testing.T) {
	const app, secret = "22222222-2222-2222-2222-222222222222", "s3cret"
	s, err := New(Config{
		Tenants: []TenantConfig{{ID: "00000000-0000-0000-0000-000000000001", Apps: []AppConfig{{ClientID: app, Secrets: []string{secret}}}}},
		Environments: []EnvironmentConfig{{Name: "contoso",
			SystemUsers: []SystemUserConfig{{ApplicationID: app, Roles: []string{"System Administrator"}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var offset atomic.Int64 // the simulator's clock runs this far ahead
	s.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CACertPEM())
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	resp, err := hc.PostForm(s.AuthorityHost()+"00000000-0000-0000-0000-000000000001/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {app}, "client_secret": {secret},
		"scope": {s.EnvironmentURL("contoso") + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("no token: %d %v", resp.StatusCode, err)
	}
	whoAmI := func() int {
		req, _ := http.NewRequest(http.MethodGet, s.EnvironmentURL("contoso")+"/api/data/v9.2/WhoAmI", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, step := range []struct {
		name   string
		offset time.Duration
		want   int
	}{
		{"fresh", 0, http.StatusOK},
		{"a minute before expiry", 59 * time.Minute, http.StatusOK},
		{"expired", time.Hour + time.Minute, http.StatusUnauthorized},
		{"not yet valid", -time.Minute, http.StatusUnauthorized},
	} {
		offset.Store(int64(step.offset))
		if got := whoAmI(); got != step.want {
			t.Errorf("%s: WhoAmI = %d, want %d", step.name, got, step.want)
		}
	}
}
