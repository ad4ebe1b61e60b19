package dataverse

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Kind tells the reconciler whether retrying can help.
type Kind int

const (
	// Transient failures go away by themselves: retry with backoff (Reconciling).
	Transient Kind = iota
	// Terminal failures need a person: a credential, a CA, a privilege (Stalled).
	Terminal
)

func (k Kind) String() string {
	if k == Terminal {
		return "Terminal"
	}
	return "Transient"
}

// Reason is a stable, machine-readable cause of an Error.
type Reason string

const (
	// ReasonAuthenticationFailed means the sign-in authority refused the credentials
	// (invalid client, grant, unknown tenant), the credentials are unusable (a certificate
	// without a key), or Dataverse refused a freshly issued token.
	ReasonAuthenticationFailed Reason = "AuthenticationFailed"
	// ReasonUnreachable means Dataverse or the sign-in authority could not be reached or
	// did not answer (DNS, refused connections, timeouts, the token endpoint's 5xx).
	ReasonUnreachable Reason = "Unreachable"
	// ReasonTLSError means the server certificate failed verification.
	ReasonTLSError Reason = "TLSError"
	// ReasonPrivilegeDenied is a 403: the principal lacks a privilege.
	ReasonPrivilegeDenied Reason = "PrivilegeDenied"
	// ReasonNotFound is a 404: the record, or the entity set itself, does not exist.
	ReasonNotFound Reason = "NotFound"
	// ReasonDuplicate means the record or association exists already.
	ReasonDuplicate Reason = "Duplicate"
	// ReasonConflict is a 412 concurrency mismatch: re-read and try again.
	ReasonConflict Reason = "Conflict"
	// ReasonThrottled is a 429 of the service protection limits: RetryAfter says how long
	// to wait.
	ReasonThrottled Reason = "Throttled"
	// ReasonImportInProgress means another solution import or uninstall is running.
	ReasonImportInProgress Reason = "ImportInProgress"
	// ReasonServerError is a 5xx or 408 from Dataverse.
	ReasonServerError Reason = "ServerError"
	// ReasonBadRequest means Dataverse rejected the request (400 and other 4xx).
	ReasonBadRequest Reason = "BadRequest"
	// ReasonInvalidResponse is a success answer that could not be read.
	ReasonInvalidResponse Reason = "InvalidResponse"
	// ReasonInvalidArgument means the caller passed something that cannot be sent (not a
	// GUID).
	ReasonInvalidArgument Reason = "InvalidArgument"
	// ReasonCanceled means the caller's context ended.
	ReasonCanceled Reason = "Canceled"
	// ReasonDestinationNotAllowed means the environment or the sign-in authority (or a request
	// the sign-in library makes) is not on the cluster admin's allowlists; nothing was
	// sent. The message names the host and the flag to change.
	ReasonDestinationNotAllowed Reason = "DestinationNotAllowed"
	// ReasonRedirected means Dataverse or the authority answered with a redirect, which is never
	// followed (a credential must not travel to where a server points); the message names
	// the Location's host. Fix the URL to the final one.
	ReasonRedirected Reason = "Redirected"
	// ReasonResponseTooLarge means an answer was larger than the client reads (after
	// decompression); nothing of it was used.
	ReasonResponseTooLarge Reason = "ResponseTooLarge"
)

// Error is the one error type of this package. Its text never holds a secret, a token,
// a header or a request body: only the operation, the status, Dataverse's error code and
// a bounded, redacted message.
type Error struct {
	// Operation is the client method, e.g. "AssociateRole".
	Operation string
	// StatusCode is the HTTP status Dataverse or the authority answered; 0 when none.
	StatusCode int
	// Code is Dataverse's error code (often an HRESULT such as 0x80040220), or the
	// authority's AADSTS code / OAuth error.
	Code    string
	Message string
	// RetryAfter is how long the server asked to wait (429, 503), or the remaining
	// throttle window of the environment.
	RetryAfter time.Duration
	Kind       Kind
	Reason     Reason
	// Err is the underlying cause, already stripped of secrets.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("dataverse ")
	b.WriteString(e.Operation)
	b.WriteString(": ")
	b.WriteString(string(e.Reason))
	if e.StatusCode != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		if e.Code != "" {
			b.WriteString(", ")
			b.WriteString(e.Code)
		}
		b.WriteString(")")
	} else if e.Code != "" {
		b.WriteString(" (")
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		b.WriteString("; retry after ")
		b.WriteString(e.RetryAfter.String())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// asError finds the *Error in err's chain.
func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsTransient reports whether err is worth retrying later. Errors of other packages
// count as transient only when they are context timeouts.
func IsTransient(err error) bool {
	if e, ok := asError(err); ok {
		return e.Kind == Transient
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// IsNotFound reports a missing record or entity set.
func IsNotFound(err error) bool { return ReasonOf(err) == ReasonNotFound }

// IsDuplicate reports a record or association that exists already.
func IsDuplicate(err error) bool { return ReasonOf(err) == ReasonDuplicate }

// ReasonOf returns the Reason of err, or "" when err is not an *Error.
func ReasonOf(err error) Reason {
	if e, ok := asError(err); ok {
		return e.Reason
	}
	return ""
}
