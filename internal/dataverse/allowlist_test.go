package dataverse

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseAllowlistRefuses(t *testing.T) {
	for _, tc := range []struct{ entry, want string }{
		{"https://login.microsoftonline.com/", "not a URL"},
		{"user@host", "not a URL"},
		{"host/path", "not a URL"},
		{"a.*.example.com", `leading "*."`},
		{"*", `leading "*."`},
		{"*.", "empty"},
		{"*.example.com:443", "no port"},
		{"*.10.0.0.1", "not an IP address"},
		{"host:0", "port"},
		{"host:65536", "port"},
		{"host:https", "port"},
		{"[::1", "host:port"},
		{"exa mple.com", "not a URL"},
		{"ex_ample..com", "host name"},
	} {
		t.Run(tc.entry, func(t *testing.T) {
			_, err := ParseAllowlist([]string{"login.microsoftonline.com", tc.entry})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseAllowlist(%q) = %v, want an error mentioning %q", tc.entry, err, tc.want)
			}
		})
	}
}

func TestAllowlistAllows(t *testing.T) {
	list := []string{
		"login.microsoftonline.com", "*.dynamics.com", ".microsoftdynamics.us", "crm.contoso.local:5555",
		"127.0.0.1", "[::1]:8443", "Bücher.Example", "trailing.example.", " spaced.example ", "",
	}
	a, err := ParseAllowlist(list)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://login.microsoftonline.com/tenant", true},
		{"https://LOGIN.microsoftonline.com:443/", true},
		{"https://login.microsoftonline.com:8443/", true}, // an exact host allows any port
		{"https://login.microsoftonline.com./", true},
		{"https://login.microsoftonline.com.evil.example/", false},
		{"https://evil-login.microsoftonline.com/", false},
		{"https://contoso.crm4.dynamics.com", true},
		{"https://a.b.dynamics.com", true},
		{"https://dynamics.com", false}, // a wildcard names subdomains only
		{"https://contoso.dynamics.com.evil.example", false},
		{"https://evildynamics.com", false},
		{"https://contoso.crm.microsoftdynamics.us", true},
		{"https://microsoftdynamics.us", false},
		{"http://contoso.crm.dynamics.com:8080", false}, // plain http never through a wildcard
		{"https://crm.contoso.local:5555/org", true},
		{"http://crm.contoso.local:5555/org", true}, // listed by name: on-premises http
		{"https://crm.contoso.local/org", false},    // another port
		{"https://crm.contoso.local:05555/org", true},
		{"https://127.0.0.1:39211/org", true},
		{"https://127.0.0.2/org", false},
		{"https://[::1]:8443/", true},
		{"https://[0:0:0:0:0:0:0:1]:8443/", true},
		{"https://[::1]:8444/", false},
		{"https://xn--bcher-kva.example/", true},
		{"https://bücher.example/", true},
		{"https://trailing.example/", true},
		{"https://spaced.example/", true},
		{"ftp://login.microsoftonline.com/", false},
		{"https:///nohost", false},
	} {
		t.Run(tc.url, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.allows(u); got != tc.want {
				t.Errorf("allows(%s) = %v, want %v", tc.url, got, tc.want)
			}
		})
	}
}

// TestDefaultAllowlists: the defaults parse, let Microsoft's clouds through and nothing
// else, the loopback address included.
func TestDefaultAllowlists(t *testing.T) {
	env, auth, err := PoolOptions{}.allowlists()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		list *Allowlist
		url  string
		want bool
	}{
		{auth, "https://login.microsoftonline.com/", true},
		{auth, "https://login.microsoftonline.us/", true},
		{auth, "https://login.chinacloudapi.cn/", true},
		{auth, "https://login.partner.microsoftonline.cn/", true},
		{auth, "https://login.microsoftonline.de/", false}, // closed in 2021
		{auth, "https://127.0.0.1:8443/", false},
		{auth, "https://adfs.contoso.local/adfs/", false},
		{env, "https://contoso.crm4.dynamics.com", true},
		{env, "https://contoso.crm9.dynamics.com", true},
		{env, "https://contoso.crm.microsoftdynamics.us", true},
		{env, "https://contoso.crm.appsplatform.us", true},
		{env, "https://contoso.crm.dynamics.cn", true},
		{env, "https://127.0.0.1:8443/contoso", false},
		{env, "https://localhost/contoso", false},
		{env, "http://crm.contoso.local:5555/contoso", false},
	} {
		u, _ := url.Parse(tc.url)
		if got := tc.list.allows(u); got != tc.want {
			t.Errorf("default allows(%s) = %v, want %v", tc.url, got, tc.want)
		}
	}
	if err := (PoolOptions{AllowedEnvironmentDomains: []string{"https://x/"}}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "--"+FlagAllowedEnvironmentDomains) {
		t.Errorf("Validate = %v, want an error naming the flag", err)
	}
}
