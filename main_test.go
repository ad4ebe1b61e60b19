package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// quietly runs parseFlags with the flag package's output discarded.
func quietly(t *testing.T, args ...string) (options, error) {
	t.Helper()
	stderr := os.Stderr
	os.Stderr, _ = os.Open(os.DevNull)
	defer func() { os.Stderr = stderr }()
	return parseFlags(args)
}

func TestSecurityFlags(t *testing.T) {
	o, err := quietly(t)
	if err != nil {
		t.Fatal(err)
	}
	p := o.controllers.poolOptions()
	if !slices.Equal(p.AllowedAuthorityHosts, dataverse.DefaultAuthorityHosts) ||
		!slices.Equal(p.AllowedEnvironmentDomains, dataverse.DefaultEnvironmentDomains) || len(o.watchNamespaces) != 0 {
		t.Errorf("defaults: authorities %v, domains %v, namespaces %v", p.AllowedAuthorityHosts, p.AllowedEnvironmentDomains, o.watchNamespaces)
	}

	o, err = quietly(t, "--allowed-authority-hosts=login.microsoftonline.com, adfs.contoso.local:443",
		"--allowed-environment-domains=*.dynamics.com,crm.contoso.local:5555,", "--watch-namespaces=team-a, team-b")
	if err != nil {
		t.Fatal(err)
	}
	p = o.controllers.poolOptions()
	if !slices.Equal(p.AllowedAuthorityHosts, []string{"login.microsoftonline.com", "adfs.contoso.local:443"}) ||
		!slices.Equal(p.AllowedEnvironmentDomains, []string{"*.dynamics.com", "crm.contoso.local:5555"}) ||
		!slices.Equal(o.watchNamespaces, []string{"team-a", "team-b"}) {
		t.Errorf("lists: authorities %v, domains %v, namespaces %v", p.AllowedAuthorityHosts, p.AllowedEnvironmentDomains, o.watchNamespaces)
	}

	for _, tc := range []struct {
		arg, want string
	}{
		{"--allowed-authority-hosts=https://login.microsoftonline.com/", "--allowed-authority-hosts"},
		{"--allowed-environment-domains=*.dynamics.com:443", "--allowed-environment-domains"},
		{"--allowed-environment-domains=", "lists no domain"},
		{"--allowed-authority-hosts= , ", "lists no host"},
		{"--watch-namespaces=Team_A", "not a namespace name"},
		{"--watch-namespaces=a,a", "twice"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			if _, err := quietly(t, tc.arg); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parseFlags(%s) = %v, want an error mentioning %q", tc.arg, err, tc.want)
			}
		})
	}
}
