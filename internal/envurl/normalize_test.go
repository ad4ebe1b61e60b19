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
		{"contoso.crm4.dynamics.com.", "https://contoso.crm4.dynamics.com"},
		{"https://ＣＯＮＴＯＳＯ.crm4。dynamics.com/main.aspx", "https://contoso.crm4.dynamics.com"},
		{"https://Bücher.example:8443/Org", "https://xn--bcher-kva.example:8443/Org"},
		{"https://b%C3%BCcher.example/Org", "https://xn--bcher-kva.example/Org"},
		{"https://xn--bcher-kva.example/Org", "https://xn--bcher-kva.example/Org"},
		{"https://crm.local/Zürich", "https://crm.local/Z%C3%BCrich"},
		{"https://[0:0::1]:8443/contoso", "https://[::1]:8443/contoso"},
		{"https://[::FFFF:127.0.0.1]:8443", "https://127.0.0.1:8443"},
		{"\u00a0contoso.crm4.dynamics.com\u3000", "https://contoso.crm4.dynamics.com"},
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
		{"https://contoso\u2001crm.dynamics.com", "whitespace (U+2001)"},
		{"https://crm.local/my\u00a0org", "whitespace (U+00A0)"},
		{"https://crm.local/org\u0000", "control character (U+0000)"},
		{"https://crm.local/org\u0085x", "whitespace (U+0085)"},
		{"https://crm.local/org\x7fx", "control character (U+007F)"},
		{"\xde\u2001#00", "not valid UTF-8"},
		{"https://crm\xff.local", "not valid UTF-8"},
		{"https://crm%DE.local", "host is not valid UTF-8"},
		{"https://crm%E2%80%81x.local", "not a valid host name"},
		{"https://crm_1.local", "not a valid host name"},
		{"https://a..b.local", "not a valid host name"},
		{"https://crm.local../Org", "not a valid host name"},
		{"https://-crm.local", "not a valid host name"},
		{"https://" + strings.Repeat("a", 64) + ".local", "not a valid host name"},
		{"https://[fe80::1%25eth0]:8443/Org", "zone"},
		{"https://.", "no host"},
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

// TestErrorsNeverEchoUserInfo: whatever is wrong with a URL that carries a user name or
// password, the error quotes no part of them, not even through the parser's messages
// ("invalid URL escape", "invalid port").
func TestErrorsNeverEchoUserInfo(t *testing.T) {
	for _, in := range []string{
		"https://admin:Pw-S3CR3T@contoso.crm.dynamics.com",
		"https://admin:Pw%zzS3CR3T@contoso.crm.dynamics.com",
		"admin:Pw%zzS3CR3T@contoso.crm.dynamics.com",
		"https://admin:Pw-S3CR3T@contoso.crm.dynamics.com:99x",
		"https://admin:Pw-S3CR3T@[::1",
		"https://admin:Pw-S3CR3T@ho^st",
		"https://admin:Pw-S3CR3T@host%zz",
		"https://admin:Pw-S3CR3T/x@contoso.crm.dynamics.com", // the parser sees port "Pw-S3CR3T"
		"https://admin:Pw/S3CR3T@contoso.crm.dynamics.com",
		"https://admin:Pw?S3CR3T@contoso.crm.dynamics.com",
		"https://admin:Pw#S3CR3T@contoso.crm.dynamics.com",
		"http://admin:Pw-S3CR3T@crm.local:5555/org",
		"ftp://admin:Pw-S3CR3T@host",
	} {
		t.Run(in, func(t *testing.T) {
			got, err := Normalize(in)
			if err == nil {
				if strings.Contains(got, "S3CR3T") {
					t.Fatalf("Normalize kept the password in %q", got)
				}
				return
			}
			for _, part := range []string{"S3CR3T", "Pw", "admin", "%zz"} {
				if strings.Contains(err.Error(), part) {
					t.Errorf("error %q quotes %q", err, part)
				}
			}
		})
	}
}

func TestIsOnline(t *testing.T) {
	if !IsOnline("https://contoso.crm4.dynamics.com") || IsOnline("https://127.0.0.1:8443/contoso") {
		t.Error("IsOnline misclassifies hosts")
	}
}

// FuzzNormalize checks that any accepted URL is an absolute http(s) URL without query,
// fragment or credentials, all ASCII, with a host that IDNA accepts as it is, and that
// normalizing it again changes nothing; and that an error quotes nothing of an input that
// may hold a password.
func FuzzNormalize(f *testing.F) {
	for _, seed := range []string{
		"Contoso.crm4.dynamics.com/main.aspx?appid=1", "http://crm.local:5555/Contoso/main.aspx",
		"127.0.0.1:8443", "https://[::1]:8443/x", "", "://", "https://a:b@c", "http://x:80",
		"https://x/%41/b", "HTTPS://X.DYNAMICS.COM:443", "x:y", "https://x:0443/y",
		"https://Bücher.example/Org", "https://b%C3%BCcher.example", "https://xn--bcher-kva.example",
		"https://[fe80::1%25eth0]:8443", "https://[::ffff:1.2.3.4]", "x.dynamics.com.", "a..b",
		"ＣＯＮＴＯＳＯ.crm4。dynamics.com", "https://crm.local/Zürich/x", "\u00a0x\u2001y",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Normalize(in)
		if err != nil {
			if strings.Contains(in, "@") && strings.Contains(err.Error(), `"`) && !strings.Contains(err.Error(), "scheme") {
				t.Fatalf("Normalize(%q): the error quotes an input that may hold a password: %v", in, err)
			}
			return
		}
		for i := 0; i < len(out); i++ {
			if out[i] <= ' ' || out[i] >= 0x7f {
				t.Fatalf("Normalize(%q) = %q has byte %#x: want printable ASCII", in, out, out[i])
			}
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
		if h := u.Hostname(); !strings.Contains(h, ":") {
			if ascii, err := hostProfile.ToASCII(h); err != nil || ascii != h || strings.HasSuffix(h, ".") {
				t.Fatalf("Normalize(%q) = %q: host %q is not in IDNA's ASCII form (%q, %v)", in, out, h, ascii, err)
			}
		}
		again, err := Normalize(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: Normalize(%q) = %q, then %q, %v", in, out, again, err)
		}
	})
}
