package dataverse

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds the retries of one call. Zero fields take the defaults.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt (default 3).
	MaxAttempts int
	// BaseDelay is the first backoff; it doubles per attempt (default 500ms).
	BaseDelay time.Duration
	// MaxDelay caps one backoff (default 10s).
	MaxDelay time.Duration
	// MaxWait caps the total time one call spends waiting: backoffs, and the
	// environment's Retry-After window. Beyond it the call returns a transient error
	// with RetryAfter set, so the reconciler requeues instead of holding a worker
	// (default 30s).
	MaxWait time.Duration
}

// Defaults of RetryPolicy.
const (
	DefaultMaxAttempts = 3
	DefaultBaseDelay   = 500 * time.Millisecond
	DefaultMaxDelay    = 10 * time.Second
	DefaultMaxWait     = 30 * time.Second
)

func (r RetryPolicy) withDefaults() RetryPolicy {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = DefaultBaseDelay
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = DefaultMaxDelay
	}
	if r.MaxWait <= 0 {
		r.MaxWait = DefaultMaxWait
	}
	return r
}

// backoff is the wait before attempt+1: exponential with "equal jitter" (half fixed,
// half random), so callers that failed together do not retry together, and never
// shorter than what the server asked for.
func (r RetryPolicy) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := r.BaseDelay
	for i := 1; i < attempt && d < r.MaxDelay; i++ {
		d *= 2
	}
	if d > r.MaxDelay {
		d = r.MaxDelay
	}
	d = d/2 + rand.N(d/2+1)
	if retryAfter > d {
		d = retryAfter
	}
	return d
}
