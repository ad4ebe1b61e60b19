package dataverse

import (
	"net/url"
	"testing"

	"github.com/bcconnect/salesconnection-operator/internal/envurl"
)

// FuzzEnvironmentURL follows a spec.url from the controller's normalizer into the client:
// every URL envurl.Normalize accepts, the pool takes unchanged (so the pool's environment
// key, the throttle state and status.url name the same environment), and its host is
// already in the form the destination allowlist compares, so the allowlist judges the
// host the client dials. cleanEnvironmentURL itself is idempotent on anything it accepts.
func FuzzEnvironmentURL(f *testing.F) {
	for _, seed := range []string{
		"Contoso.crm4.dynamics.com/main.aspx?appid=1", "http://crm.local:5555/Contoso/main.aspx",
		"127.0.0.1:8443", "https://[::1]:8443/x", "https://[::ffff:10.0.0.1]:8443",
		"https://Bücher.example/Org", "ＣＯＮＴＯＳＯ.crm4。dynamics.com", "https://x.dynamics.com./",
		"https://crm.local/Zürich", "https://crm.local/a%2Fb/c", "https://x//", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if got, err := cleanEnvironmentURL(in); err == nil {
			if again, err := cleanEnvironmentURL(got); err != nil || again != got {
				t.Fatalf("cleanEnvironmentURL is not idempotent: %q → %q → %q, %v", in, got, again, err)
			}
		}
		out, err := envurl.Normalize(in)
		if err != nil {
			return
		}
		got, err := cleanEnvironmentURL(out)
		if err != nil || got != out {
			t.Fatalf("Normalize(%q) = %q, which the pool takes as %q, %v", in, out, got, err)
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("%q does not parse: %v", got, err)
		}
		host, err := canonicalHost(u.Hostname())
		if err != nil || host != u.Hostname() {
			t.Fatalf("Normalize(%q) = %q: the allowlist reads host %q as %q, %v", in, out, u.Hostname(), host, err)
		}
		if envurl.IsOnline(out) && u.Path != "" {
			t.Fatalf("Normalize(%q) = %q keeps a path for an online host", in, out)
		}
	})
}
