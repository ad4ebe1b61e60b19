package dataversesim_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
)

const faultyConfig = `
tenants:
- id: 00000000-0000-0000-0000-000000000001
  apps:
  - clientID: 22222222-2222-2222-2222-222222222222
    secrets: [admin-secret]
environments:
- name: contoso
  importDuration: 10ms
  systemUsers:
  - applicationID: 22222222-2222-2222-2222-222222222222
    roles: [System Administrator]
  faults:
    throttle: {requests: 2, window: 1m, retryAfter: 2s}
    failImports: The import failed (configured).
- name: flaky
  faults:
    errorRates: {503: 1}
  systemUsers:
  - applicationID: 22222222-2222-2222-2222-222222222222
    roles: [System Administrator]
`

// TestFaultsFromConfig: the fault knobs of a config file are in force from the start.
func TestFaultsFromConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim.yaml")
	if err := os.WriteFile(path, []byte(faultyConfig), 0o600); err != nil {
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

	flaky := token(t, srv, hc, adminApp, adminSecret, "flaky")
	req, _ := http.NewRequest(http.MethodGet, srv.EnvironmentURL("flaky")+"/api/data/v9.2/WhoAmI", nil)
	req.Header.Set("Authorization", "Bearer "+flaky)
	if resp, err := hc.Do(req); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("flaky WhoAmI = %v %v, want 503", resp, err)
	} else {
		resp.Body.Close()
	}

	admin := token(t, srv, hc, adminApp, adminSecret, "contoso")
	for i, want := range []int{200, 200, 429} {
		a := send(t, srv, hc, admin, "GET", "WhoAmI", "")
		if a.status != want || (want == 429 && a.header.Get("Retry-After") != "2") {
			t.Errorf("request %d = %d Retry-After %q, want %d (2 allowed per window, Retry-After 2)", i, a.status, a.header.Get("Retry-After"), want)
		}
	}
	srv.Environment("contoso").Faults().ThrottleAfter(0, 0, 0)

	jobID := startSampleImport(t, srv, hc, admin)
	var op struct{ StateCode, StatusCode int }
	for deadline := time.Now().Add(10 * time.Second); op.StateCode != 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the import did not finish")
		}
		a := send(t, srv, hc, admin, "GET", "asyncoperations("+jobID+")", "")
		if err := json.Unmarshal(a.body, &op); err != nil {
			t.Fatal(err)
		}
	}
	if _, installed := srv.Environment("contoso").Solution("sample"); installed || op.StatusCode != 31 {
		t.Errorf("failImports: import status %d, installed %v; want 31 and not installed", op.StatusCode, installed)
	}
}

func TestFaultConfigIsValidated(t *testing.T) {
	for name, f := range map[string]dataversesim.FaultConfig{
		"status 200":         {ErrorRates: map[int]float64{200: 0.5}},
		"fraction above one": {ErrorRates: map[int]float64{503: 2}},
		"throttle window 0":  {Throttle: &dataversesim.ThrottleConfig{Requests: 5}},
	} {
		_, err := dataversesim.New(dataversesim.Config{Environments: []dataversesim.EnvironmentConfig{{Name: "e", Faults: f}}})
		if err == nil {
			t.Errorf("%s: New accepted %+v", name, f)
		}
	}
}

// TestTokenOutageFromConfig: the token endpoint starts down when the config says so.
func TestTokenOutageFromConfig(t *testing.T) {
	srv := dataversesim.NewTestServer(t, dataversesim.Config{TokenEndpointOutage: true,
		Tenants: []dataversesim.TenantConfig{{ID: tenant, Apps: []dataversesim.AppConfig{{ClientID: adminApp, Secrets: []string{adminSecret}}}}}})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACertPEM())
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Post(srv.AuthorityHost()+tenant+"/oauth2/v2.0/token", "application/x-www-form-urlencoded",
		strings.NewReader("grant_type=client_credentials&client_id="+adminApp+"&client_secret="+adminSecret+"&scope=https://x/.default"))
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Error string }
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || body.Error != "temporarily_unavailable" {
		t.Errorf("token = %d %s, want 503 temporarily_unavailable", resp.StatusCode, body.Error)
	}
}

func TestCompletedJobsAreDeleted(t *testing.T) {
	srv, hc := world(t)
	env := srv.Environment("contoso")
	env.SetImportDuration(50 * time.Millisecond)
	env.DeleteCompletedJobsAfter(0)
	admin := token(t, srv, hc, adminApp, adminSecret, "contoso")
	jobID := startSampleImport(t, srv, hc, admin)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		a := send(t, srv, hc, admin, "GET", "asyncoperations("+jobID+")", "")
		if a.status == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the completed job is still there: %d %s", a.status, a.body)
		}
	}
	if _, installed := env.Solution("sample"); !installed {
		t.Error("deleting the job must not undo the import")
	}
}

// startSampleImport starts importing a small solution "sample" as admin and returns the
// async operation id.
func startSampleImport(t *testing.T, srv *dataversesim.Server, hc *http.Client, admin string) string {
	t.Helper()
	pkg, err := solution.Build(solution.Package{UniqueName: "sample", FriendlyName: "Sample", Version: "1.0.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	started := send(t, srv, hc, admin, "POST", "ImportSolutionAsync", `{"CustomizationFile":"`+base64.StdEncoding.EncodeToString(pkg)+
		`","OverwriteUnmanagedCustomizations":false,"PublishWorkflows":true,"ComponentParameters":[]}`)
	var job struct {
		AsyncOperationID string `json:"AsyncOperationId"`
	}
	if err := json.Unmarshal(started.body, &job); started.status != 200 || err != nil {
		t.Fatalf("import = %d %s %v", started.status, started.code, err)
	}
	return job.AsyncOperationID
}
