package dataverse

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseErrorBody(t *testing.T) {
	huge := `{"error":{"code":"0x80040216","message":"` + strings.Repeat("x", 100_000) + `"}}`
	cut := `{"error":{"code":"0x80040216","message":"` + strings.Repeat("y", 2<<20)
	tests := []struct {
		name, body, code, message string
	}{
		{"empty", "", "", ""},
		{"whitespace", " \r\n\t", "", ""},
		{"odata", `{"error":{"code":"0x80040217","message":"Entity 'role' With Id = 1 Does Not Exist"}}`, "0x80040217", "Entity 'role' With Id = 1 Does Not Exist"},
		{"odata empty code", `{"error":{"code":"","message":"Principal user is missing prvReadSolution privilege."}}`, "", "Principal user is missing prvReadSolution privilege."},
		{"odata v3 message object", `{"error":{"code":"0x0","message":{"lang":"en-US","value":"Bad thing"}}}`, "0x0", "Bad thing"},
		{"numeric code", `{"error":{"code":-2147015902,"message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}`, "-2147015902", "Number of requests exceeded the limit of 6000 over time window of 300 seconds."},
		{"innererror only", `{"error":{"code":"0x1","innererror":{"message":"inner text","type":"X"}}}`, "0x1", "inner text"},
		{"annotations", `{"error":{"code":"0x80040265","message":"plug-in said no","@Microsoft.PowerApps.CDS.HelpLink":"http://x","@Microsoft.PowerApps.CDS.TraceText":"trace"}}`, "0x80040265", "plug-in said no"},
		{"oauth", `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}`, "invalid_client", "AADSTS7000215: Invalid client secret provided."},
		{"aspnet", `{"Message":"An error has occurred."}`, "", "An error has occurred."},
		{"bom", "\xef\xbb\xbf{\"error\":{\"code\":\"c\",\"message\":\"m\"}}", "c", "m"},
		{"html title", `<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>`, "", "502 Bad Gateway"},
		{"html no title", "<html><body><script>var x=1;</script><h1>Service   Unavailable</h1>\n<p>try &amp; again</p></body></html>", "", "Service Unavailable try & again"},
		{"plain text", "upstream connect error\nor disconnect", "", "upstream connect error or disconnect"},
		{"broken json", `{"error":{"code":"0x1","message":"cut`, "0x1", "cut"},
		{"broken escape inside", `{"error":{"code":"0x1","message":"a\qb`, "0x1", `a\qb`},
		{"json array", `[1,2,3]`, "", "[1,2,3]"},
		{"json without error", `{"foo":"bar"}`, "", `{"foo":"bar"}`},
		{"null error", `{"error":null}`, "", ""},
		{"error string no description", `{"error":"temporarily_unavailable"}`, "temporarily_unavailable", ""},
		{"control characters", "{\"error\":{\"code\":\"c\\u0000\",\"message\":\"line1\\r\\nline2\\u0007\"}}", "c", "line1 line2"},
		{"invalid utf8", "bad \xff\xfe bytes", "", "bad \uFFFD bytes"},
		{"huge", huge, "0x80040216", strings.Repeat("x", maxMessageLen)},
		{"cut beyond the read limit", cut, "0x80040216", strings.Repeat("y", maxMessageLen)},
		{"cut escape", `{"error":{"code":"0x1","message":"a\u00`, "0x1", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, msg := parseErrorBody([]byte(tt.body), noRedact)
			if code != tt.code || msg != tt.message {
				t.Errorf("ParseErrorBody = (%q, %q), want (%q, %q)", code, truncate(msg, 80), tt.code, truncate(tt.message, 80))
			}
		})
	}
}

func FuzzParseErrorBody(f *testing.F) {
	for _, seed := range []string{
		"",
		`{"error":{"code":"0x80040217","message":"Does Not Exist"}}`,
		`{"error":{"code":1,"message":{"value":"v"}}}`,
		`{"error":"invalid_grant","error_description":"AADSTS50126: bad"}`,
		`<html><title>x</title></html>`,
		`<script>`,
		"\xef\xbb\xbf{}",
		"\xff\xfe\x00",
		`{"error":{"innererror":{"message":["a"]}}}`,
		`{"Message":null,"message":5}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, msg := parseErrorBody(body, noRedact)
		if len(code) > maxCodeLen || len(msg) > maxMessageLen {
			t.Fatalf("unbounded: code %d bytes, message %d bytes", len(code), len(msg))
		}
		for _, s := range []string{code, msg} {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8: %q", s)
			}
			if strings.ContainsAny(s, "\x00\r\n\t") {
				t.Fatalf("control characters kept: %q", s)
			}
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"1.5", 1500 * time.Millisecond, true},
		{"-3", 0, false},
		{"NaN", 0, false},
		{"99999999", maxRetryAfter, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{"Thu, 01 Jan 2026 12:00:45 GMT", 45 * time.Second, true},
		{"Thursday, 01-Jan-26 12:01:00 GMT", time.Minute, true}, // RFC 850
		{"Thu Jan  1 12:00:10 2026", 10 * time.Second, true},    // ANSI C
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), maxRetryAfter, true},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.value, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.ok)
		}
	}
}

func TestClassifyResponse(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		body       string
		reason     Reason
		kind       Kind
		wait       time.Duration
	}{
		{"400", 400, "", `{"error":{"code":"0x80048d19","message":"bad payload"}}`, ReasonBadRequest, Terminal, 0},
		{"400 duplicate code", 400, "", `{"error":{"code":"0x80040237","message":"Cannot insert duplicate key."}}`, ReasonDuplicate, Terminal, 0},
		{"400 duplicate text", 400, "", `{"error":{"code":"0x80040000","message":"A record with matching key values already exists."}}`, ReasonDuplicate, Terminal, 0},
		{"401", 401, "", ``, ReasonAuthenticationFailed, Terminal, 0},
		{"403", 403, "", `{"error":{"code":"0x80040220","message":"Principal user is missing prvImportSolution privilege"}}`, ReasonPrivilegeDenied, Terminal, 0},
		{"404", 404, "", `{"error":{"code":"0x80060888","message":"Resource not found for the segment 'nav_connections'."}}`, ReasonNotFound, Terminal, 0},
		{"404 by code on 500", 500, "", `{"error":{"code":"0x80040217","message":"does not exist"}}`, ReasonNotFound, Terminal, 0},
		{"408", 408, "", ``, ReasonServerError, Transient, 0},
		{"412 concurrency", 412, "", `{"error":{"code":"ConcurrencyVersionMismatch","message":"version mismatch"}}`, ReasonConflict, Transient, 0},
		{"412 duplicate", 412, "", `{"error":{"code":"DuplicateRecord","message":"exists"}}`, ReasonDuplicate, Terminal, 0},
		{"429 seconds", 429, "7", `{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}`, ReasonThrottled, Transient, 7 * time.Second},
		{"429 date", 429, now.Add(20 * time.Second).Format(http.TimeFormat), `{"error":{"code":"0x80072326","message":"Number of concurrent requests exceeded the limit of 52."}}`, ReasonThrottled, Transient, 20 * time.Second},
		{"500", 500, "", `<html><title>Server Error</title></html>`, ReasonServerError, Transient, 0},
		{"503 retry after", 503, "3", ``, ReasonServerError, Transient, 3 * time.Second},
		{"import in progress", 400, "", `{"error":{"code":"0x80071151","message":"Cannot start another solution import because there is already an import running. Try again later."}}`, ReasonImportInProgress, Transient, 0},
		{"import in progress 409", 409, "", `{"error":{"code":"","message":"The solution installation or removal failed due to the installation or removal of another solution at the same time."}}`, ReasonImportInProgress, Transient, 0},
		{"import in progress 500", 500, "", `{"error":{"code":"0x8004f00a","message":"Another import or uninstall of a solution is in progress."}}`, ReasonImportInProgress, Transient, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
			}
			e := classifyResponse("Op", tt.status, h, []byte(tt.body), now, redactor{})
			if e.Reason != tt.reason || e.Kind != tt.kind || e.RetryAfter != tt.wait || e.StatusCode != tt.status {
				t.Errorf("got %s/%s wait %v status %d, want %s/%s wait %v", e.Reason, e.Kind, e.RetryAfter, e.StatusCode, tt.reason, tt.kind, tt.wait)
			}
			if IsTransient(e) != (tt.kind == Transient) {
				t.Errorf("IsTransient = %v", IsTransient(e))
			}
		})
	}
}

// TestClassifyConcurrentImport: a second solution operation is recognized by its code
// or by wording that names the concurrent operation, never by a passing mention of
// another solution.
func TestClassifyConcurrentImport(t *testing.T) {
	tests := []struct {
		name   string
		status int
		code   string
		msg    string
		reason Reason
	}{
		{"simulator's code, neutral text", 400, "0x80071151", "Simulated failure (importsolutionasync).", ReasonImportInProgress},
		{"simulator's answer", 400, "0x80071151", "Cannot start another solution import because there is a previous solution import or uninstall running at this moment. Please try again later.", ReasonImportInProgress},
		{"bracketed operation", 400, "0x80040265", "Cannot start another [Import] because there is a previous [Import] running at this moment.", ReasonImportInProgress},
		{"uninstall in progress", 500, "0x8004f00a", "Another import or uninstall of a solution is in progress.", ReasonImportInProgress},
		{"install at the same time", 409, "", "The solution installation or removal failed due to the installation or removal of another solution at the same time.", ReasonImportInProgress},
		{"required by another solution", 400, "0x8004f01f", "The component nav_connection cannot be deleted because it is required by another solution.", ReasonBadRequest},
		{"depends on another solution", 400, "0x80048d19", "The import failed: the solution depends on another solution that is not installed.", ReasonBadRequest},
		{"another solution's component", 400, "0x80048d19", "Another solution already contains this component; import it there.", ReasonBadRequest},
		{"missing dependencies", 400, "0x80048d19", "The import of solution: X failed. Dependencies are missing: Y. Import the solutions these components depend on first.", ReasonBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"error":{"code":"` + tt.code + `","message":"` + tt.msg + `"}}`
			e := classifyResponse("ImportSolutionAsync", tt.status, http.Header{}, []byte(body), time.Now(), redactor{})
			if e.Reason != tt.reason {
				t.Errorf("reason = %s, want %s", e.Reason, tt.reason)
			}
			if want := tt.reason == ReasonImportInProgress; IsTransient(e) != want {
				t.Errorf("transient = %v, want %v", IsTransient(e), want)
			}
		})
	}
}

func TestClassifyTransport(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		reason Reason
		kind   Kind
	}{
		{"canceled", context.Canceled, ReasonCanceled, Transient},
		{"deadline", &url.Error{Op: "Get", URL: "https://x", Err: context.DeadlineExceeded}, ReasonUnreachable, Transient},
		{"refused", &url.Error{Op: "Get", URL: "https://x", Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}, ReasonUnreachable, Transient},
		{"dns", &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, ReasonUnreachable, Transient},
		{"unknown authority", &url.Error{Op: "Get", URL: "https://x", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, ReasonTLSError, Terminal},
		{"hostname", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "x"}, ReasonTLSError, Terminal},
		{"plain http", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, ReasonTLSError, Terminal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := classifyTransport("Op", tt.err, redactor{})
			if e.Reason != tt.reason || e.Kind != tt.kind {
				t.Errorf("got %s/%s, want %s/%s", e.Reason, e.Kind, tt.reason, tt.kind)
			}
			if strings.Contains(e.Error(), "https://x") {
				t.Errorf("URL kept in %q", e.Error())
			}
		})
	}
}

func TestErrorHelpers(t *testing.T) {
	e := &Error{Operation: "GetSolution", StatusCode: 429, Code: "0x80072322", Message: "slow down", RetryAfter: 5 * time.Second, Kind: Transient, Reason: ReasonThrottled}
	wrapped := fmt.Errorf("reading the solution: %w", e)
	if !IsTransient(wrapped) || ReasonOf(wrapped) != ReasonThrottled || retryAfterOf(wrapped) != 5*time.Second {
		t.Errorf("helpers do not see through wrapping")
	}
	if IsNotFound(wrapped) || IsDuplicate(wrapped) {
		t.Errorf("wrong reason helpers")
	}
	if got, want := e.Error(), "dataverse GetSolution: Throttled (HTTP 429, 0x80072322): slow down; retry after 5s"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if IsTransient(errors.New("x")) || ReasonOf(errors.New("x")) != "" || retryAfterOf(nil) != 0 {
		t.Errorf("foreign errors")
	}
	if !IsTransient(context.DeadlineExceeded) {
		t.Errorf("a deadline is transient")
	}
	nf := &Error{Reason: ReasonNotFound, Kind: Terminal}
	if !IsNotFound(nf) || IsTransient(nf) {
		t.Errorf("not found helpers")
	}
}

func TestRedactor(t *testing.T) {
	r := newRedactor(testSecret, "ab")
	in := "secret " + testSecret + " client_secret=abc&password=hunter2 Authorization: Bearer eyJhbGciOi.eyJzdWIiOi.sig " +
		`"access_token":"xyz" ab`
	out := r.apply(in)
	for _, leak := range []string{testSecret, "abc&", "hunter2", "eyJhbGciOi", "xyz", " ab"} {
		if strings.Contains(out, leak) {
			t.Errorf("%q leaks %q", out, leak)
		}
	}
}

// TestRedactorShortValues: a value shorter than minAnywhere is hidden wherever it is a
// whole token, and only there.
func TestRedactorShortValues(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"one letter", []string{"a"}, "a table has a leg: a", "[REDACTED] table has [REDACTED] leg: [REDACTED]"},
		{"quoted", []string{"42"}, `user "svc" password '42' rejected; 421 and x42 stay`, `user "svc" password '[REDACTED]' rejected; 421 and x42 stay`},
		{"punctuation", []string{"!?"}, "value !? here, not in a!?b", "value [REDACTED] here, not in a!?b"},
		{"not inside the marker", []string{"RE", "longsecret"}, "longsecret RE", "[REDACTED] [REDACTED]"},
		{"longer value first", []string{"ab", "ab-cd-ef"}, "got ab-cd-ef and ab", "got [REDACTED] and [REDACTED]"},
		{"empty values ignored", []string{"", "x"}, "x marks", "[REDACTED] marks"},
		{"unicode neighbors", []string{"é"}, "café é", "café [REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newRedactor(tt.secrets...).apply(tt.in); got != tt.want {
				t.Errorf("apply(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
