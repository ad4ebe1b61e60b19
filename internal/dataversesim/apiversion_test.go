package dataversesim_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

const onPremises91Config = `
tenants:
- id: 00000000-0000-0000-0000-000000000001
  apps:
  - clientID: 22222222-2222-2222-2222-222222222222
    secrets: [admin-secret]
environments:
- name: onprem
  version: 9.1.0.3452
  systemUsers:
  - applicationID: 22222222-2222-2222-2222-222222222222
    roles: [System Administrator]
`

// TestServesOnlyItsAPIVersions: a 9.1 server answers /api/data/v9.0/ and v9.1, and
// /api/data/v9.2/ with 404, as a real 9.1 server does.
func TestServesOnlyItsAPIVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.yaml")
	if err := os.WriteFile(path, []byte(onPremises91Config), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := dataversesim.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := dataversesim.NewTestServer(t, cfg)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACertPEM())
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	tok := token(t, srv, hc, adminApp, adminSecret, "onprem")
	for version, want := range map[string]int{
		"v8.2": http.StatusOK, "v9.0": http.StatusOK, "v9.1": http.StatusOK,
		"v9.2": http.StatusNotFound, "v10.0": http.StatusNotFound, "v9.01": http.StatusNotFound, "vx": http.StatusNotFound,
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.EnvironmentURL("onprem")+"/api/data/"+version+"/WhoAmI", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /api/data/%s/WhoAmI = %d, want %d", version, resp.StatusCode, want)
		}
	}
}
