package dataversesim_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

// TestPublicHost: a simulator reached by a name other than its listen address names it
// in its URLs and certificate, and accepts only tokens for that name.
func TestPublicHost(t *testing.T) {
	srv, err := dataversesim.New(dataversesim.Config{
		PublicHost: "sim.test",
		Tenants:    []dataversesim.TenantConfig{{ID: tenant, Apps: []dataversesim.AppConfig{{ClientID: adminApp, Secrets: []string{adminSecret}}}}},
		Environments: []dataversesim.EnvironmentConfig{{Name: "contoso",
			SystemUsers: []dataversesim.SystemUserConfig{{ApplicationID: adminApp, Roles: []string{"System Administrator"}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	u, err := url.Parse(srv.URL())
	if err != nil || u.Hostname() != "sim.test" {
		t.Fatalf("URL = %s, want host sim.test", srv.URL())
	}
	loopback := "127.0.0.1:" + u.Port()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACertPEM())
	// sim.test resolves to the listener, as a DNS entry would make it; TLS still checks
	// the name against the certificate.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, strings.Replace(addr, "sim.test:"+u.Port(), loopback, 1))
		},
	}}

	tok := token(t, srv, hc, adminApp, adminSecret, "contoso") // through https://sim.test:PORT/
	if a := send(t, srv, hc, tok, "GET", "WhoAmI", ""); a.status != http.StatusOK {
		t.Errorf("WhoAmI through the public host = %d", a.status)
	}

	// A token for the loopback URL of the same environment is for another resource.
	resp, err := hc.PostForm(srv.AuthorityHost()+tenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
		"client_id": {adminApp}, "client_secret": {adminSecret}, "scope": {"https://" + loopback + "/contoso/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || body.AccessToken == "" {
		t.Fatalf("token for the loopback URL: %d %v", resp.StatusCode, err)
	}
	if a := send(t, srv, hc, body.AccessToken, "GET", "WhoAmI", ""); a.status != http.StatusUnauthorized {
		t.Errorf("WhoAmI with a token for %s = %d, want 401", loopback, a.status)
	}
}
