// Package dataverse is the operator's client of the Dataverse Web API (the server's own version, v9.0 to v9.2): sign-in
// through azidentity, the typed calls the reconciler needs, one error type that says
// whether retrying helps, and per-environment limits shared through a Pool.
//
// # Sign-in
//
// Every credential type goes through azidentity (client secret, certificate, workload
// identity token file, and user name + password for OAuth/Office365), with the Pool's
// HTTP client as transport so the authority is trusted through the same CA bundle as
// Dataverse. Tokens are cached per (authority, tenant, client, user, resource, CA) until
// shortly before expiry; credentials with a new fingerprint for the same identity (a
// rotated Secret) replace the old entry. When Dataverse answers 401 to a cached token,
// the token and the azidentity credential (which caches too) are dropped and the request
// is sent once more with a fresh token.
//
// # Retries and throttling
//
// Reads are retried on transient failures with exponential backoff and jitter, bounded
// by RetryPolicy (attempts and total wait). Writes are retried only when Dataverse cannot
// have processed them: a 429, or a failure before the request left (sign-in, connect).
// ImportSolutionAsync is never retried. A 429's Retry-After is recorded for the
// environment: every Client of that environment waits it out before sending, or, when
// the wait exceeds the call's budget or deadline, returns a transient Throttled error
// whose RetryAfter tells the reconciler when to come back. Requests in flight per
// environment are capped (52 by default, Dataverse's per-user limit), optionally paced
// by a rate limiter.
//
// # Errors
//
// Every method returns *Error: Kind (Transient or Terminal), a Reason, the HTTP status
// and Dataverse's error code. Error text is bounded and redacted: it never holds a
// secret, a token, a header or a request body.
package dataverse
