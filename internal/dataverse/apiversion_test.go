package dataverse

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestAPIVersionFor(t *testing.T) {
	for _, tt := range []struct {
		server, want string
		ok           bool
	}{
		{"9.2.24101.140", "v9.2", true},
		{"9.1.0.3452", "v9.1", true},
		{"9.0.2.3034", "v9.0", true},
		{"9.3.1.0", "v9.2", true},  // newer than the operator knows: capped
		{"10.0.0.1", "v9.2", true}, // ditto
		{"8.2.0.749", "v9.0", true},
		{"", "", false},
		{"9", "", false},
		{"nine.two", "", false},
	} {
		got, ok := apiVersionFor(tt.server)
		if got != tt.want || ok != tt.ok {
			t.Errorf("apiVersionFor(%q) = %q, %v; want %q, %v", tt.server, got, ok, tt.want, tt.ok)
		}
	}
}

// An on-premises 9.1 server has no /api/data/v9.2/: the client asks the version in v9.0,
// which every supported server serves, then speaks v9.1 (and every other client of the
// environment does too).
func TestClientSpeaksTheServersAPIVersion(t *testing.T) {
	f := newFakeServer(t)
	f.handle(func(w http.ResponseWriter, r *http.Request, _ []byte) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/RetrieveVersion()"):
			writeJSON(w, http.StatusOK, map[string]string{"Version": "9.1.0.3452"})
		default:
			writeJSON(w, http.StatusOK, map[string]string{"UserId": "11111111-1111-1111-1111-111111111111"})
		}
	})
	pool := testPool(newFakeClock())
	c := f.client(t, pool, secretCreds(f))
	ctx := context.Background()
	if _, err := c.WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}
	if v, err := c.RetrieveVersion(ctx); err != nil || v != "9.1.0.3452" {
		t.Fatalf("RetrieveVersion = %q, %v", v, err)
	}
	if _, err := c.WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}
	other := f.client(t, pool, Credentials{Type: AuthOAuth, TenantID: testTenant, Username: testUser, Password: testPass, AuthorityHost: f.authority()})
	if _, err := other.WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range f.dataverseRequests() {
		got = append(got, r.APIVersion+"/"+r.Path)
	}
	want := []string{"v9.0/WhoAmI", "v9.0/RetrieveVersion()", "v9.1/WhoAmI", "v9.1/WhoAmI"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("requests = %v, want %v", got, want)
	}
}

// A server that does not serve v9.0 (a v8.x server, or a URL that is not Dataverse) is
// named as such, not as a missing record.
func TestVersionDiscoveryNotFoundSaysWhy(t *testing.T) {
	f := newFakeServer(t)
	f.handle(func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		writeJSON(w, http.StatusNotFound, odataError("0x80060888", "Resource not found for the segment 'v9.0'."))
	})
	c := f.client(t, testPool(newFakeClock()), secretCreds(f))
	_, err := c.RetrieveVersion(context.Background())
	if ReasonOf(err) != ReasonNotFound || !strings.Contains(err.Error(), "older than 9.0") {
		t.Fatalf("RetrieveVersion = %v, want NotFound naming servers older than 9.0", err)
	}
}
