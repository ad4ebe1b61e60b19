package controllers

import (
	"errors"
	"fmt"
	"time"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// outcome is how a step ended: done, waiting for Dataverse to finish something, or
// failed. It is made where the error is made, so the reason, the message and when to look
// again are decided there; finish turns the outcome of a pass into status and a
// ctrl.Result.
type outcome struct {
	wait    *wait
	failure *failure
}

// wait is a step waiting for work Dataverse does (a solution import): why, and when to
// look again. It is not a failure: no backoff, no Warning.
type wait struct {
	reason  salesv1alpha1.Reason
	message string
	after   time.Duration
}

// failure is a failed step, said the way a person reads it: a reason and a stable
// message (no timestamps, ids or raw library errors, so a repeated failure does not
// rewrite status). The cause goes to the log and a Warning event.
type failure struct {
	reason  salesv1alpha1.Reason
	message string
	// terminal failures need a person (Stalled); the others are retried (Reconciling).
	terminal bool
	// watched: a terminal failure a person fixes in Kubernetes (the object, a Secret, a
	// ConfigMap), whose watches bring the fix at once, so the safety re-check is slow.
	// Failures fixed in Dataverse, where no watch reaches, are re-checked at the resync.
	watched bool
	// retryAfter is the wait Dataverse asked for (429 Retry-After).
	retryAfter time.Duration
	cause      error
}

func (f *failure) Error() string {
	if f.cause != nil {
		return fmt.Sprintf("%s: %s: %v", f.reason, f.message, f.cause)
	}
	return string(f.reason) + ": " + f.message
}

func (f *failure) Unwrap() error { return f.cause }

func done() outcome { return outcome{} }

func (o outcome) isDone() bool { return o.wait == nil && o.failure == nil }

// waiting ends the pass until Dataverse has finished: the next pass comes after.
func waiting(reason salesv1alpha1.Reason, after time.Duration, message string) outcome {
	return outcome{wait: &wait{reason: reason, message: message, after: after}}
}

// failed ends the pass with err, made a failure by asFailure.
func failed(err error) outcome { return outcome{failure: asFailure(err)} }

// outcomeOf is done for a nil error, and failed otherwise.
func outcomeOf(err error) outcome {
	if err == nil {
		return done()
	}
	return failed(err)
}

// stalledOnSpec is a failure a person fixes in Kubernetes: the spec, a Secret or a
// ConfigMap. The watches bring the fix.
func stalledOnSpec(reason salesv1alpha1.Reason, format string, args ...any) *failure {
	return &failure{reason: reason, message: fmt.Sprintf(format, args...), terminal: true, watched: true}
}

// stalledInDataverse is a failure a person fixes in Dataverse (a disabled user, a
// missing role, submitted orders): re-checked at the resync interval.
func stalledInDataverse(reason salesv1alpha1.Reason, format string, args ...any) *failure {
	return &failure{reason: reason, message: fmt.Sprintf(format, args...), terminal: true}
}

// retrying is a failure the operator retries by itself, with backoff.
func retrying(reason salesv1alpha1.Reason, format string, args ...any) *failure {
	return &failure{reason: reason, message: fmt.Sprintf(format, args...)}
}

// asFailure returns err as a failure; an error of another kind (the Kubernetes API, a
// bug) is retried with a message that points to the log.
func asFailure(err error) *failure {
	if err == nil {
		return nil
	}
	if f, ok := errors.AsType[*failure](err); ok {
		return f
	}
	return &failure{reason: salesv1alpha1.ReasonRetrying,
		message: "the last attempt failed and is retried; see the operator log and events", cause: err}
}
