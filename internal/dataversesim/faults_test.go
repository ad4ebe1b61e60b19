package dataversesim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

// answer is one Web API response: status, Dataverse error code, headers and body.
// answer is what the Web API said to one request.
type answer struct {
	status int
	code   string
	header http.Header
	body   []byte
}

// send sends one Web API request to environment contoso.
func send(t *testing.T, srv *dataversesim.Server, hc *http.Client, tok, method, path, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.EnvironmentURL("contoso")+"/api/data/v9.2/"+strings.ReplaceAll(path, " ", "%20"), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(data, &e)
	return answer{resp.StatusCode, e.Error.Code, resp.Header, data}
}

func TestLatency(t *testing.T) {
	srv, hc := world(t)
	admin := token(t, srv, hc, adminApp, adminSecret, "contoso")
	faults := srv.Environment("contoso").Faults()
	const latency = 300 * time.Millisecond
	faults.SetLatency(latency)
	start := time.Now()
	if a := send(t, srv, hc, admin, "GET", "WhoAmI", ""); a.status != 200 {
		t.Fatalf("WhoAmI = %d", a.status)
	}
	if took := time.Since(start); took < latency {
		t.Errorf("WhoAmI took %v with a latency of %v", took, latency)
	}
	faults.SetLatency(0)
}

func TestErrorRate(t *testing.T) {
	srv, hc := world(t)
	admin := token(t, srv, hc, adminApp, adminSecret, "contoso")
	faults := srv.Environment("contoso").Faults()
	count := func(n, status int) int {
		got := 0
		for range n {
			if send(t, srv, hc, admin, "GET", "WhoAmI", "").status == status {
				got++
			}
		}
		return got
	}
	faults.SetErrorRate(http.StatusInternalServerError, 1)
	if got := count(5, 500); got != 5 {
		t.Errorf("error rate 1: %d of 5 requests failed", got)
	}
	// 100 requests at 0.5: outside 20..80 has a probability below 1e-9.
	faults.SetErrorRate(http.StatusInternalServerError, 0.5)
	if got := count(100, 500); got < 20 || got > 80 {
		t.Errorf("error rate 0.5: %d of 100 requests failed", got)
	}
	faults.SetErrorRate(http.StatusInternalServerError, 0)
	if got := count(5, 200); got != 5 {
		t.Errorf("error rate off: %d of 5 requests succeeded", got)
	}
}

// TestInjected429HasRetryAfter: Dataverse never answers 429 without Retry-After, so no
// knob does either.
func TestInjected429HasRetryAfter(t *testing.T) {
	srv, hc := world(t)
	admin := token(t, srv, hc, adminApp, adminSecret, "contoso")
	faults := srv.Environment("contoso").Faults()
	tests := []struct {
		name       string
		setup      func()
		code       string
		retryAfter string
	}{
		{"FailNext", func() { faults.FailNext("WhoAmI", 429, "", 1) }, "0x80072322", "1"},
		{"FailNext with a code", func() { faults.FailNext("WhoAmI", 429, "0x80072321", 1) }, "0x80072321", "1"},
		{"FailNext under ThrottleAfter", func() {
			faults.ThrottleAfter(1000, time.Minute, 3*time.Second)
			faults.FailNext("WhoAmI", 429, "", 1)
		}, "0x80072322", "3"},
		{"SetErrorRate", func() { faults.SetErrorRate(429, 1) }, "0x80072322", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			defer faults.SetErrorRate(429, 0)
			defer faults.ThrottleAfter(0, 0, 0)
			a := send(t, srv, hc, admin, "GET", "WhoAmI", "")
			if a.status != 429 || a.code != tt.code || a.header.Get("Retry-After") != tt.retryAfter {
				t.Errorf("= %d %s Retry-After %q, want 429 %s %s", a.status, a.code, a.header.Get("Retry-After"), tt.code, tt.retryAfter)
			}
		})
	}
}

// TestDroppedConnectionsAnswerNothing: a dropped request gets no answer at all, and the
// log says so; a 429's Retry-After is in the log too.
func TestDroppedConnectionsAnswerNothing(t *testing.T) {
	srv, hc := world(t)
	admin := token(t, srv, hc, adminApp, adminSecret, "contoso")
	faults := srv.Environment("contoso").Faults()
	faults.SetDropRate(1)
	req, _ := http.NewRequest(http.MethodGet, srv.EnvironmentURL("contoso")+"/api/data/v9.2/WhoAmI", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	if resp, err := hc.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a dropped request was answered %d", resp.StatusCode)
	}
	faults.SetDropRate(0)
	faults.FailNext("WhoAmI", 429, "", 1)
	send(t, srv, hc, admin, "GET", "WhoAmI", "")
	log := srv.Requests()
	dropped, throttled := log[len(log)-2], log[len(log)-1]
	if !dropped.Dropped || throttled.Status != 429 || throttled.RetryAfter != time.Second {
		t.Errorf("log = %+v, %+v; want the drop marked and the 429's Retry-After of 1s", dropped, throttled)
	}
}
