package dataverse

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestAuthorityWithUserInfoIsRefusedWithoutEchoingIt: an authorityHost that carries user
// info (a password in the URL) is refused before anything is sent, even though its host
// is on the allowlist, and the error names neither the password nor the user. The CEL
// rules let such an authorityHost through, so Pool.Client is the only check.
func TestAuthorityWithUserInfoIsRefusedWithoutEchoingIt(t *testing.T) {
	f := newFakeServer(t)
	const user, password = "svc-authority-user", "Authority-P4ss-Never-Shown"
	// The fake server's own authority, allowed by testPool: only the user info is wrong.
	authority, err := url.Parse(f.authority())
	if err != nil {
		t.Fatal(err)
	}
	withPassword := *authority
	withPassword.User = url.UserPassword(user, password)
	withUser := *authority
	withUser.User = url.User(user)
	for name, host := range map[string]string{
		"user and password":   withPassword.String(),
		"user only":           withUser.String(),
		"no trailing slash":   strings.TrimSuffix(withPassword.String(), "/"),
		"escaped password":    fmt.Sprintf("https://%s:%s@%s/", user, url.PathEscape(password+"/?#"), authority.Host),
		"upper-case scheme":   "HTTPS://" + user + ":" + password + "@" + authority.Host + "/",
		"surrounding spaces":  "  " + withPassword.String() + "  ",
		"password with an @":  "https://" + user + ":" + password + "@x@" + authority.Host + "/",
		"default cloud's too": "https://" + user + ":" + password + "@login.microsoftonline.com/",
	} {
		t.Run(name, func(t *testing.T) {
			creds := secretCreds(f)
			creds.AuthorityHost = host
			p := testPool(newFakeClock(), func(o *PoolOptions) {
				o.AllowedAuthorityHosts = []string{authority.Hostname(), "login.microsoftonline.com"}
			})
			_, err := p.Client(f.envURL(), creds, f.caPEM())
			if err == nil {
				t.Fatalf("Client(authorityHost %q) succeeded, want a refusal", host)
			}
			if ReasonOf(err) != ReasonInvalidArgument || IsTransient(err) {
				t.Errorf("err = %v (reason %s), want a terminal InvalidArgument", err, ReasonOf(err))
			}
			for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
				for _, leaked := range []string{password, url.PathEscape(password), user} {
					if strings.Contains(text, leaked) {
						t.Errorf("the error quotes %q: %s", leaked, text)
					}
				}
			}
			if !strings.Contains(err.Error(), "user info") {
				t.Errorf("error %q does not say what is wrong (user info)", err)
			}
			if n := f.requestCount(); n != 0 {
				t.Errorf("the server got %d requests", n)
			}
		})
	}
}
