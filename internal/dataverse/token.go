package dataverse

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// maxRefreshMargin is how long before expiry a cached token is replaced.
const maxRefreshMargin = 5 * time.Minute

// tokenIdentity names a principal's token for one resource, without the secret: a new
// fingerprint for the same identity means the Secret was rotated.
type tokenIdentity struct {
	authority, tenant, client, user, resource, caKey string
	// source (namespace and Secret or service account) keeps one namespace's token from
	// serving another that names the same application.
	source string
}

// tokenSource hands out one principal's access token for one environment, cached until
// shortly before expiry. It is shared by every Client built with the same credentials.
type tokenSource struct {
	creds     Credentials
	scope     string
	transport policy.Transporter
	now       func() time.Time
	red       redactor

	// lock admits one sign-in at a time (a buffered channel, so waiting honors ctx).
	lock      chan struct{}
	cred      azcore.TokenCredential
	token     string
	refreshAt time.Time
}

func newTokenSource(creds Credentials, scope string, transport policy.Transporter, now func() time.Time) *tokenSource {
	return &tokenSource{
		creds: creds, scope: scope, transport: transport, now: now,
		red:  newRedactor(creds.secrets()...),
		lock: make(chan struct{}, 1),
	}
}

// get returns a valid access token, signing in when the cached one is missing or about
// to expire.
func (ts *tokenSource) get(ctx context.Context, op string) (string, error) {
	select {
	case ts.lock <- struct{}{}:
	case <-ctx.Done():
		return "", classifyTransport(op, ctx.Err(), ts.red)
	}
	defer func() { <-ts.lock }()

	now := ts.now()
	if ts.token != "" && now.Before(ts.refreshAt) {
		return ts.token, nil
	}
	if ts.cred == nil {
		cred, err := newTokenCredential(ts.creds, ts.transport)
		if err != nil {
			return "", ts.credentialError(op, err)
		}
		ts.cred = cred
	}
	probe := &tokenProbe{}
	at, err := ts.cred.GetToken(context.WithValue(ctx, probeKey{}, probe), policy.TokenRequestOptions{Scopes: []string{ts.scope}})
	if err != nil {
		tokenRequestsTotal.WithLabelValues("error").Inc()
		return "", classifyTokenError(op, err, probe, now, ts.red)
	}
	tokenRequestsTotal.WithLabelValues("success").Inc()
	ts.token = at.Token
	ts.refreshAt = refreshTime(now, at)
	return ts.token, nil
}

// invalidate drops token if it is still the cached one, together with the azidentity
// credential, which caches tokens of its own: the next get signs in afresh. It waits
// for a sign-in in progress only as long as ctx allows; giving up leaves the cache as
// it is, which is safe: the caller stops, and the next 401 invalidates again.
func (ts *tokenSource) invalidate(ctx context.Context, op, token string) error {
	select {
	case ts.lock <- struct{}{}:
	case <-ctx.Done():
		return classifyTransport(op, ctx.Err(), ts.red)
	}
	defer func() { <-ts.lock }()
	if ts.token == token {
		ts.token, ts.cred, ts.refreshAt = "", nil, time.Time{}
	}
	return nil
}

// refreshTime is shortly before expiry: five minutes, or a fifth of the lifetime of a
// short-lived token; earlier when the authority suggests a refresh time.
func refreshTime(now time.Time, at azcore.AccessToken) time.Time {
	margin := at.ExpiresOn.Sub(now) / 5
	if margin > maxRefreshMargin {
		margin = maxRefreshMargin
	}
	t := at.ExpiresOn.Add(-margin)
	if !at.RefreshOn.IsZero() && at.RefreshOn.Before(t) {
		t = at.RefreshOn
	}
	return t
}

func (ts *tokenSource) credentialError(op string, err error) error {
	if e, ok := asError(err); ok {
		e.Operation = op
		return e
	}
	// azidentity's constructors reject bad options (tenant, client ID) with plain text
	// that holds no secret; redact anyway.
	return newError(op, ReasonAuthenticationFailed, 0, "InvalidCredentials", ts.red.message(firstLine(err.Error())), nil)
}

var aadstsRE = regexp.MustCompile(`AADSTS\d+`)

// classifyTokenError turns an azidentity failure into an Error. azidentity's own text can
// hold the authority's whole answer; only the OAuth error, the AADSTS code and the first
// sentence of the description are kept, never the request form.
func classifyTokenError(op string, err error, probe *tokenProbe, now time.Time, red redactor) *Error {
	if errors.Is(err, context.Canceled) {
		return newError(op, ReasonCanceled, 0, "", "canceled", context.Canceled)
	}
	status, transportErr := probe.result()
	if transportErr != nil {
		e := classifyTransport(op, transportErr, red)
		switch e.Reason {
		case ReasonUnreachable, ReasonTLSError, ReasonRedirected, ReasonResponseTooLarge:
			e.Message = "sign-in authority: " + e.Message
		}
		return e
	}
	var body []byte
	var header http.Header
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		status = afe.RawResponse.StatusCode
		header = afe.RawResponse.Header
		body, _ = runtime.Payload(afe.RawResponse)
	}
	if status == 0 {
		if errors.Is(err, context.DeadlineExceeded) {
			return newError(op, ReasonUnreachable, 0, "", "sign-in authority: timed out", context.DeadlineExceeded)
		}
		// No answer from the authority: the credential could not even be used (an
		// unreadable token file, a malformed key).
		return newError(op, ReasonAuthenticationFailed, 0, "CredentialUnavailable", red.message(firstLine(stripCredPrefix(err.Error()))), nil)
	}
	// Redacted whole, before summary shortens it.
	oauthErr, desc := parseErrorBody(body, red.apply)
	code := aadstsRE.FindString(desc)
	if code == "" {
		code = oauthErr
	}
	msg := summary(desc)
	if oauthErr != "" && msg != "" {
		msg = oauthErr + ": " + msg
	} else if oauthErr != "" {
		msg = oauthErr
	}
	msg = red.apply(msg)
	if msg == "" {
		msg = "the sign-in authority answered " + http.StatusText(status)
	}
	if status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500 {
		e := newError(op, ReasonUnreachable, status, red.apply(code), "sign-in authority unavailable: "+msg, nil)
		if d, ok := ParseRetryAfter(header.Get("Retry-After"), now); ok {
			e.RetryAfter = d
		}
		return e
	}
	// 400 invalid_client / invalid_grant / invalid_scope, 401, 404 unknown tenant: only a
	// person can fix these.
	return newError(op, ReasonAuthenticationFailed, status, red.apply(code), msg, nil)
}

// summary is the first sentence of an authority's error description, without the
// AADSTS prefix (kept in Code), the trace and correlation ids and timestamps that follow.
func summary(desc string) string {
	desc = strings.TrimSpace(aadstsRE.ReplaceAllString(desc, ""))
	desc = strings.TrimLeft(desc, ": ")
	if i := strings.Index(desc, ". "); i >= 0 {
		desc = desc[:i+1]
	}
	if i := strings.Index(desc, "Trace ID"); i >= 0 {
		desc = strings.TrimSpace(desc[:i])
	}
	return truncate(desc, 200)
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// stripCredPrefix drops azidentity's "ClientSecretCredential: " prefix and its
// troubleshooting link.
func stripCredPrefix(s string) string {
	if i := strings.Index(s, "To troubleshoot"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}
