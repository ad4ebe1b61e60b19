package dataverse

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// codeReasons are Dataverse error codes that decide the Reason whatever the status
// (reference §1.10: the service protection codes, and the codes and names seen for
// missing records, missing privileges and duplicates).
var codeReasons = map[string]Reason{
	"0x80072322":                 ReasonThrottled, // number of requests exceeded the limit
	"0x80072321":                 ReasonThrottled, // combined execution time exceeded the limit
	"0x80072326":                 ReasonThrottled, // number of concurrent requests exceeded the limit
	"0x80040217":                 ReasonNotFound,  // record does not exist
	"0x80040220":                 ReasonPrivilegeDenied,
	"0x80040237":                 ReasonDuplicate, // cannot insert duplicate key
	"duplicaterecord":            ReasonDuplicate,
	"concurrencyversionmismatch": ReasonConflict,
	"accessdenied":               ReasonPrivilegeDenied,
	"privilegedenied":            ReasonPrivilegeDenied,
	"principalprivilegedenied":   ReasonPrivilegeDenied,
	"crmsecurityerror":           ReasonPrivilegeDenied,
	// Another solution import or uninstall is running: the code the simulator answers
	// (internal/dataversesim codeImportInProgress). It is not verified against a real
	// environment, so mentionsConcurrentImport still reads the wording.
	"0x80071151": ReasonImportInProgress,
}

// kindOf says which reasons a retry can cure.
func kindOf(r Reason) Kind {
	switch r {
	case ReasonUnreachable, ReasonThrottled, ReasonServerError, ReasonImportInProgress,
		ReasonConflict, ReasonInvalidResponse, ReasonCanceled:
		return Transient
	}
	return Terminal
}

func newError(op string, reason Reason, status int, code, msg string, cause error) *Error {
	return &Error{Operation: op, StatusCode: status, Code: code, Message: msg, Kind: kindOf(reason), Reason: reason, Err: cause}
}

// classifyResponse turns a non-success Dataverse answer into an Error.
func classifyResponse(op string, status int, header http.Header, body []byte, now time.Time, red redactor) *Error {
	if status >= 300 && status < 400 {
		// Redirects the client could have followed were refused before; this is one
		// without a usable Location, or a 304.
		host := ""
		if loc, err := url.Parse(header.Get("Location")); err == nil {
			host = loc.Host
		}
		return newError(op, ReasonRedirected, status, "", redirectMessage(host), nil)
	}
	code, msg := parseErrorBody(body, red.apply)
	if msg == "" {
		msg = http.StatusText(status)
	}
	reason := reasonForStatus(status)
	if r, ok := codeReasons[strings.ToLower(code)]; ok && status != http.StatusUnauthorized && status != http.StatusTooManyRequests {
		reason = r
	}
	if status >= 400 && status != http.StatusUnauthorized && status != http.StatusForbidden && status != http.StatusTooManyRequests {
		switch {
		case mentionsConcurrentImport(msg):
			reason = ReasonImportInProgress
		case status < 500 && mentionsDuplicate(msg):
			reason = ReasonDuplicate
		}
	}
	e := newError(op, reason, status, code, msg, nil)
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable || reason == ReasonThrottled {
		if d, ok := ParseRetryAfter(header.Get("Retry-After"), now); ok {
			e.RetryAfter = d
		}
	}
	return e
}

func reasonForStatus(status int) Reason {
	switch {
	case status == http.StatusUnauthorized:
		return ReasonAuthenticationFailed
	case status == http.StatusForbidden:
		return ReasonPrivilegeDenied
	case status == http.StatusNotFound:
		return ReasonNotFound
	case status == http.StatusPreconditionFailed:
		return ReasonConflict
	case status == http.StatusTooManyRequests:
		return ReasonThrottled
	case status == http.StatusRequestTimeout, status >= 500:
		return ReasonServerError
	case status >= 400:
		return ReasonBadRequest
	}
	return ReasonInvalidResponse
}

// concurrentImportRE matches Dataverse's wording for a refused second solution operation:
// "cannot start another [solution] import", "another import or uninstall of a solution
// is in progress", "... removal of another solution at the same time". Each alternative
// names the concurrent operation itself, so a message that merely mentions another
// solution ("required by another solution", "depends on another solution") is not one.
var concurrentImportRE = regexp.MustCompile(`(?i)\b(another|concurrent)\s+\[?(solution\s+)?(import|uninstall|installation|removal|deletion|upgrade)\b` +
	`|\bof another solution at the same time\b`)

// mentionsConcurrentImport recognizes that refusal by its text, for versions or paths
// that answer it with a code not in codeReasons.
func mentionsConcurrentImport(msg string) bool {
	return concurrentImportRE.MatchString(msg)
}

// IsConcurrentImportMessage reports whether a message, such as a finished import job's,
// says a solution operation was refused because another one was running.
func IsConcurrentImportMessage(msg string) bool {
	return mentionsConcurrentImport(msg)
}

func mentionsDuplicate(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "duplicate") || strings.Contains(m, "already exists") || strings.Contains(m, "already associated")
}

// classifyTransport turns an error of the HTTP round trip into an Error. The URL is
// dropped from the cause: it is noise in a condition, and callers log the operation.
func classifyTransport(op string, err error, red redactor) *Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	// Refusals of this package's own transport (allowlist, redirect, size) keep their
	// reason, with the operation of the call.
	if e, ok := asError(err); ok {
		out := *e
		out.Operation = op
		out.Message = red.message(out.Message)
		return &out
	}
	switch {
	case errors.Is(err, context.Canceled):
		return newError(op, ReasonCanceled, 0, "", "canceled", err)
	case isTLSError(err):
		return newError(op, ReasonTLSError, 0, "", red.message(err.Error()), err)
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return newError(op, ReasonUnreachable, 0, "", "timed out", err)
	}
	return newError(op, ReasonUnreachable, 0, "", red.message(err.Error()), err)
}

// isTLSError reports a certificate that failed verification, or a peer that does not
// speak TLS: both need a person (trust the CA, fix the URL), retrying cannot help.
func isTLSError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &record)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
