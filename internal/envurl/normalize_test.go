package envurl

import (
	"net/url"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"Contoso.crm4.dynamics.com/main.aspx?appid=1", "https://contoso.crm4.dynamics.com"},
		{"  https://contoso.crm.dynamics.com/  ", "https://contoso.crm.dynamics.com"},
		{"HTTPS://CONTOSO.CRM.DYNAMICS.COM:443/apps/x#frag", "https://contoso.crm.dynamics.com"},
		{"https://contoso.crm.dynamics.com:8443/Org", "https://contoso.crm.dynamics.com:8443"},
		{"contoso.crm.microsoftdynamics.us/main.aspx", "https://contoso.crm.microsoftdynamics.us"},
		{"contoso.crm.appsplatform.us", "https://contoso.crm.appsplatform.us"},
		{"contoso.crm.dynamics.cn/tools/admin", "https://contoso.crm.dynamics.cn"},
		{"http://crm.local:5555/Contoso/main.aspx", "http://crm.local:5555/Contoso"},
		{"http://CRM.local:5555/Contoso/", "http://crm.local:5555/Contoso"},
		{"https://crm.contoso.local/Contoso/api/data/v9.2", "https://crm.contoso.local/Contoso"},
		{"https://crm.contoso.local/main.aspx", "https://crm.contoso.local"},
		{"https://crm.contoso.local/api/data/v9.2/", "https://crm.contoso.local"},
		{"https://crm.contoso.local:443/Contoso?x=1", "https://crm.contoso.local/Contoso"},
		{"127.0.0.1:8443", "https://127.0.0.1:8443"},
		{"https://127.0.0.1:8443/contoso/main.aspx", "https://127.0.0.1:8443/contoso"},
		{"https://[::1]:8443/contoso", "https://[::1]:8443/contoso"},
		{"https://[::1]/contoso", "https://[::1]/contoso"},
		{"http://crm.local:05555/Org", "http://crm.local:5555/Org"},
		{"https://crm.local/Org%20Name/main.aspx", "https://crm.local/Org%20Name"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if err != nil {
				t.Fatalf("Normalize(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
			again, err := Normalize(got)
			if err != nil || again != got {
				t.Errorf("not idempotent: Normalize(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestNormalizeRefuses(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"https://contoso crm.dynamics.com", "whitespace"},
		{"ftp://contoso.crm.dynamics.com", "scheme"},
		{"http://crm.local/Contoso", "explicit port"},
		{"http://crm.local:80/Contoso", "explicit port"},
		{"https://user:s3cr3t@contoso.crm.dynamics.com", "user name or password"},
		{"https://contoso.crm.dynamics.com:99999", "port"},
		{"https://contoso.crm.dynamics.com:0", "port"},
		{"https:///path", "no host"},
		{"https://%zz", "cannot be parsed"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Normalize(tc.in)
			if err == nil {
				t.Fatalf("Normalize(%q) = %q, want an error", tc.in, got)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
}

// FuzzNormalize checks that any accepted URL is an absolute http(s) URL without query,
// fragment or credentials, and that normalizing it again changes nothing.
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		"Contoso.crm4.dynamics.com/main.aspx?appid=1", "http://crm.local:5555/Contoso/main.aspx",
		"127.0.0.1:8443", "https://[::1]:8443/x", "", "://", "https://a:b@c", "http://x:80",
		"https://x/%41/b", "HTTPS://X.DYNAMICS.COM:443", "x:y", "https://x:0443/y",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Normalize(in)
		if err != nil {
			return
		}
		u, perr := url.Parse(out)
		if perr != nil {
			t.Fatalf("Normalize(%q) = %q, which does not parse: %v", in, out, perr)
		}
		if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			t.Fatalf("Normalize(%q) = %q is not a bare http(s) URL", in, out)
		}
		if strings.Count(u.EscapedPath(), "/") > 1 {
			t.Fatalf("Normalize(%q) = %q keeps more than one path segment", in, out)
		}
		again, err := Normalize(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: Normalize(%q) = %q, then %q, %v", in, out, again, err)
		}
	})
}
