package controllers

import (
	"errors"
	"fmt"
	"time"

	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// phaseError is a failed step, said the way a person reads it: the condition it puts
// False, a reason, and a stable message (no timestamps, ids or raw library errors, so a
// repeated failure does not rewrite status). The cause goes to the log and an event.
type phaseError struct {
	condition string
	reason    string
	message   string
	// terminal failures need a person (Stalled); the others are retried (Reconciling).
	terminal   bool
	retryAfter time.Duration
	cause      error
}

func (e *phaseError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.reason, e.message, e.cause)
	}
	return e.reason + ": " + e.message
}

func (e *phaseError) Unwrap() error { return e.cause }

// stalled is a failure only a person can fix.
func stalled(condition, reason, format string, args ...any) *phaseError {
	return &phaseError{condition: condition, reason: reason, message: fmt.Sprintf(format, args...), terminal: true}
}

// retrying is a failure the operator retries by itself.
func retrying(condition, reason, format string, args ...any) *phaseError {
	return &phaseError{condition: condition, reason: reason, message: fmt.Sprintf(format, args...)}
}

// asPhaseError returns err as a phaseError; an error of another kind (the Kubernetes API,
// a bug) is retried with a message that points to the log.
func asPhaseError(err error) *phaseError {
	if err == nil {
		return nil
	}
	var pe *phaseError
	if errors.As(err, &pe) {
		return pe
	}
	return &phaseError{reason: ReasonRetrying, message: "the last attempt failed and is retried; see the operator log and events", cause: err}
}

// Reasons shared by several conditions.
const (
	ReasonReady                 = "Ready"
	ReasonDisabled              = "Disabled"
	ReasonPendingChanges        = "PendingChanges"
	ReasonInvalidURL            = "InvalidURL"
	ReasonSecretNotFound        = "SecretNotFound"
	ReasonSecretKeyMissing      = "SecretKeyMissing"
	ReasonUnsupportedAuthType   = "UnsupportedAuthenticationType"
	ReasonAuthenticationFailed  = "AuthenticationFailed"
	ReasonUnreachable           = "Unreachable"
	ReasonTLSError              = "TLSError"
	ReasonThrottled             = "Throttled"
	ReasonDataverseError        = "DataverseError"
	ReasonInsufficientPrivilege = "InsufficientPrivileges"
	ReasonVersionIncompatible   = "VersionIncompatible"
	ReasonUserDisabled          = "IntegrationUserDisabled"
	ReasonUserIsSysAdmin        = "IntegrationUserIsSystemAdministrator"
	ReasonVerified              = "Verified"
	ReasonImported              = "Imported"
	ReasonImportInProgress      = "ImportInProgress"
	ReasonImportFailed          = "ImportFailed"
	ReasonMissingDependencies   = "MissingDependencies"
	ReasonPackageNotFound       = "PackageNotFound"
	ReasonInvalidPackage        = "InvalidPackage"
	ReasonAssigned              = "Assigned"
	ReasonRoleNotFound          = "RoleNotFound"
	ReasonRolesNotAssigned      = "RolesNotAssigned"
	ReasonLinked                = "Linked"
	ReasonSolutionNotImported   = "SolutionNotImported"
	ReasonConfigured            = "Configured"
	ReasonSubmittedOrdersExist  = "SubmittedOrdersExist"
	ReasonAllUsersMapped        = "AllUsersMapped"
	ReasonUnmappedUsers         = "UnmappedUsers"
	ReasonBlocked               = "Blocked"
	ReasonRetrying              = "Retrying"
	ReasonProfileConflict       = "ProfileConflict"
)

// fixedInKubernetes reports whether a person fixes a failure in Kubernetes (the object, a
// Secret or a ConfigMap), where the watches see the fix at once, so the operator re-checks
// it only at the slow safety interval. Other failures (a disabled user, a missing role or
// privilege, submitted orders) are fixed in Dataverse, where no watch reaches, and are
// re-checked at the resync interval (or the safety interval, if that is shorter). A wrong password is retried slowly too: every failed
// sign-in counts toward Entra ID's lockout of the account.
func fixedInKubernetes(reason string) bool {
	switch reason {
	case ReasonInvalidURL, ReasonSecretNotFound, ReasonSecretKeyMissing, ReasonUnsupportedAuthType,
		ReasonAuthenticationFailed, ReasonTLSError, ReasonVersionIncompatible, ReasonPackageNotFound,
		ReasonInvalidPackage, ReasonProfileConflict:
		return true
	}
	return false
}

// credentialRef names a principal and the Secret its credentials come from, so a
// message can say exactly what to fix.
type credentialRef struct {
	who    string // "integration user" or "administrator"
	secret string // namespace/name, or "" for workload identity
}

func (c credentialRef) secretDescription() string {
	if c.secret == "" {
		return "the operator's federated token and spec clientID"
	}
	return "Secret " + c.secret
}

// fromDataverse turns an error of the Dataverse client into a phaseError for condition,
// with what the operator was doing ("reading the integration user") and who it acted as.
func fromDataverse(condition, doing string, who credentialRef, err error) *phaseError {
	var pe *phaseError
	if errors.As(err, &pe) {
		return pe
	}
	var de *dataverse.Error
	if !errors.As(err, &de) {
		return &phaseError{condition: condition, reason: ReasonRetrying,
			message: fmt.Sprintf("%s failed; retrying (see the operator log)", doing), cause: err}
	}
	e := &phaseError{condition: condition, cause: err, terminal: !dataverse.IsTransient(err), retryAfter: de.RetryAfter}
	detail := de.Code
	if detail != "" {
		detail = " (" + detail + ")"
	}
	switch de.Reason {
	case dataverse.ReasonAuthenticationFailed:
		e.reason = ReasonAuthenticationFailed
		e.message = fmt.Sprintf("signing in as the %s failed%s: check the credentials in %s, the tenantID and the authorityHost", who.who, detail, who.secretDescription())
	case dataverse.ReasonTLSError:
		e.reason = ReasonTLSError
		e.message = fmt.Sprintf("the server certificate could not be verified while %s: trust its CA with spec.tls.caSecretRef", doing)
	case dataverse.ReasonUnreachable:
		e.reason = ReasonUnreachable
		e.message = fmt.Sprintf("Dataverse or the sign-in authority could not be reached while %s; retrying", doing)
	case dataverse.ReasonThrottled:
		e.reason = ReasonThrottled
		e.message = fmt.Sprintf("Dataverse service protection limits were hit while %s; waiting as Dataverse asks", doing)
	case dataverse.ReasonImportInProgress:
		e.reason = ReasonImportInProgress
		e.message = "another solution import or uninstall is running in the environment; waiting for it to finish"
	case dataverse.ReasonPrivilegeDenied:
		e.reason = ReasonInsufficientPrivilege
		e.message = fmt.Sprintf("the %s lacks a privilege for %s%s: give it the System Administrator role", who.who, doing, detail)
	default:
		e.reason = ReasonDataverseError
		if e.terminal {
			e.message = fmt.Sprintf("Dataverse refused %s%s: %s", doing, detail, stableMessage(de.Message))
		} else {
			e.message = fmt.Sprintf("Dataverse failed while %s%s; retrying", doing, detail)
		}
	}
	return e
}

// stableMessage keeps a Dataverse message short enough for a condition.
func stableMessage(m string) string {
	const max = 300
	if len(m) > max {
		return m[:max] + "..."
	}
	return m
}

// dataverseCode is the Dataverse error code of err, or "".
func dataverseCode(err error) string {
	var de *dataverse.Error
	if errors.As(err, &de) {
		return de.Code
	}
	return ""
}
