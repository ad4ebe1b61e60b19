package main

import (
	"bytes"
	"strings"
	"testing"

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
	for _, want := range []string{"--config", "--addr", "--ca-out", "example-config.yaml", "authorityHost"} {
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
