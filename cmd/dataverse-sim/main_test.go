package main

import (
	"bytes"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

func TestExampleConfigLoads(t *testing.T) {
	cfg, err := dataversesim.LoadConfig("example-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := dataversesim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	public := false
	for _, app := range cfg.Tenants[0].Apps {
		public = public || (app.ClientID == dataversesim.DefaultPublicClientID && app.PublicClient)
	}
	if !public {
		t.Error("the example must register the operator's default public client for password sign-in")
	}
	env := srv.Environment("contoso")
	if env == nil {
		t.Fatal("environment contoso missing")
	}
	admin, ok := env.UserByApplicationID("22222222-2222-2222-2222-222222222222")
	if !ok || strings.Join(env.UserRoles(admin.ID), ",") != "System Administrator" {
		t.Errorf("the administrator must be a System Administrator: %v", env.UserRoles(admin.ID))
	}
}

func TestHelpExplainsHowToStart(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run([]string{"--help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--config", "--addr", "--ca-out", "example-config.yaml", "authorityHost", "--public-host",
		"--latency", "--error-rate", "--throttle", "--fail-imports", "--token-outage"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("--help does not mention %s:\n%s", want, errOut.String())
		}
	}
}

func TestMissingConfigIsAnError(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "--config") {
		t.Errorf("run without --config = %v", err)
	}
}

func TestPublicHostFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	srv, err := start([]string{"--config", "example-config.yaml", "--addr", "127.0.0.1:0", "--public-host", "sim.example.internal"}, &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.URL(), "https://sim.example.internal:") ||
		!strings.Contains(out.String(), "environment contoso: https://sim.example.internal:") {
		t.Errorf("URL %s; printed:\n%s", srv.URL(), out.String())
	}
}

func TestFaultFlags(t *testing.T) {
	cfg, err := dataversesim.LoadConfig("example-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Environments[0].Faults.ErrorRates = map[int]float64{500: 0.1}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	var f faultFlags
	f.register(fs)
	if err := fs.Parse([]string{"--latency", "200ms", "--error-rate", "503=0.05", "--error-rate", "429=0.5",
		"--throttle", "100/1m/10s", "--fail-imports", "broken", "--token-outage", "1m"}); err != nil {
		t.Fatal(err)
	}
	f.apply(&cfg)
	env := cfg.Environments[0]
	if env.Latency.Duration != 200*time.Millisecond || env.Faults.FailImports != "broken" || !cfg.TokenEndpointOutage {
		t.Errorf("latency %v, failImports %q, token outage %v", env.Latency, env.Faults.FailImports, cfg.TokenEndpointOutage)
	}
	if got := env.Faults.ErrorRates; len(got) != 3 || got[500] != 0.1 || got[503] != 0.05 || got[429] != 0.5 {
		t.Errorf("error rates = %v, want the config's and the flags'", got)
	}
	if th := env.Faults.Throttle; th == nil || th.Requests != 100 || th.Window.Duration != time.Minute || th.RetryAfter.Duration != 10*time.Second {
		t.Errorf("throttle = %+v", th)
	}
	if _, err := dataversesim.New(cfg); err != nil {
		t.Errorf("the simulator refuses the flags' faults: %v", err)
	}
}

func TestBadFaultFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--error-rate", "503"}, {"--error-rate", "x=0.1"}, {"--throttle", "100"}, {"--throttle", "0/1m"},
		{"--throttle", "10/soon"}, {"--throttle", "10/1m/later"}, {"--config", "example-config.yaml", "--error-rate", "200=0.5"},
		{"--config", "example-config.yaml", "--public-host", "https://sim"},
	} {
		var out, errOut bytes.Buffer
		srv, err := start(append(args, "--addr", "127.0.0.1:0"), &out, &errOut)
		if err == nil {
			srv.Close()
			t.Errorf("%v: accepted", args)
		}
	}
}
