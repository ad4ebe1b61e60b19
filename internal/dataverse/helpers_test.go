package dataverse

import "time"

// retryAfterOf is how long the server asked to wait before the next attempt; 0 when it
// did not say.
func retryAfterOf(err error) time.Duration {
	if e, ok := asError(err); ok {
		return e.RetryAfter
	}
	return 0
}

// noRedact leaves text as it is.
func noRedact(s string) string { return s }
