package controllers

import (
	"errors"
	"fmt"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// credentialRef names a principal and the Secret its credentials come from, so a
// message can say exactly what to fix.
type credentialRef struct {
	who    string // "integration user" or "administrator"
	secret string // namespace/name, or "" for workload identity
}

// privilegeAdvice says how to give the principal a privilege it lacks. The integration
// user must never be a System Administrator (Business Central refuses it, and so does
// Test Connection), so it gets the integration solution's roles instead.
func (c credentialRef) privilegeAdvice() string {
	if c.who == principalAdmin {
		return "give it the System Administrator role"
	}
	return "give it the Integration User role of the integration solution, or set spec.administrator so the operator assigns it (never System Administrator, which Business Central refuses for the integration user)"
}

func (c credentialRef) secretDescription() string {
	if c.secret == "" {
		return "the operator's federated token and spec clientID"
	}
	return "Secret " + c.secret
}

// fromDataverse turns an error of the Dataverse client into a failure, with what the
// operator was doing ("reading the integration user") and who it acted as. Whether it is
// terminal, and who fixes it, is decided here, where the error is understood.
func fromDataverse(doing string, who credentialRef, err error) *failure {
	if f, ok := errors.AsType[*failure](err); ok {
		return f
	}
	de, ok := errors.AsType[*dataverse.Error](err)
	if !ok {
		return &failure{reason: salesv1alpha1.ReasonRetrying,
			message: fmt.Sprintf("%s failed; retrying (see the operator log)", doing), cause: err}
	}
	f := &failure{cause: err, terminal: !dataverse.IsTransient(err), retryAfter: de.RetryAfter}
	detail := de.Code
	if detail != "" {
		detail = " (" + detail + ")"
	}
	switch de.Reason {
	case dataverse.ReasonAuthenticationFailed:
		// Fixed in the Secret; retried slowly, since every failed sign-in counts toward
		// Entra ID's lockout of the account.
		f.reason, f.watched = salesv1alpha1.ReasonAuthenticationFailed, true
		f.message = fmt.Sprintf("signing in as the %s failed%s: check the credentials in %s, the tenantID and the authorityHost", who.who, detail, who.secretDescription())
	case dataverse.ReasonTLSError:
		f.reason, f.watched = salesv1alpha1.ReasonTLSError, true
		f.message = fmt.Sprintf("the server certificate could not be verified while %s: trust its CA with spec.tls.caSecretRef", doing)
	case dataverse.ReasonUnreachable:
		f.reason = salesv1alpha1.ReasonUnreachable
		f.message = fmt.Sprintf("Dataverse or the sign-in authority could not be reached while %s; retrying", doing)
	case dataverse.ReasonDestinationNotAllowed:
		// The message names the host and the flag, never a credential.
		f.reason, f.watched = salesv1alpha1.ReasonDestinationNotAllowed, true
		f.message = fmt.Sprintf("%s: nothing was sent there; fix spec.url or the authorityHost, or ask the cluster admin to list it", stableMessage(de.Message))
	case dataverse.ReasonRedirected:
		f.reason, f.watched = salesv1alpha1.ReasonRedirected, true
		f.message = fmt.Sprintf("%s while %s; redirects are never followed: set spec.url or the authorityHost to where the server redirects", stableMessage(de.Message), doing)
	case dataverse.ReasonCanceled:
		// The pass ran out of time (--pass-timeout), or the operator is stopping.
		f.reason, f.terminal = salesv1alpha1.ReasonUnreachable, false
		f.message = fmt.Sprintf("no answer within the pass deadline while %s; retrying", doing)
	case dataverse.ReasonThrottled:
		f.reason = salesv1alpha1.ReasonThrottled
		f.message = fmt.Sprintf("Dataverse service protection limits were hit while %s; waiting as Dataverse asks", doing)
	case dataverse.ReasonImportInProgress:
		f.reason = salesv1alpha1.ReasonImportInProgress
		f.message = "another solution import or uninstall is running in the environment; waiting for it to finish"
	case dataverse.ReasonPrivilegeDenied:
		f.reason = salesv1alpha1.ReasonInsufficientPrivilege
		f.message = fmt.Sprintf("the %s lacks a privilege for %s%s: %s", who.who, doing, detail, who.privilegeAdvice())
	default:
		f.reason = salesv1alpha1.ReasonDataverseError
		if f.terminal {
			f.message = fmt.Sprintf("Dataverse refused %s%s: %s", doing, detail, stableMessage(de.Message))
		} else {
			f.message = fmt.Sprintf("Dataverse failed while %s%s; retrying", doing, detail)
		}
	}
	return f
}

// stableMessage keeps a Dataverse message short and clean enough for a condition.
func stableMessage(m string) string { return boundedText(m, maxMessageLength) }

// dataverseCode is the Dataverse error code of err, or "".
func dataverseCode(err error) string {
	if de, ok := errors.AsType[*dataverse.Error](err); ok {
		return de.Code
	}
	return ""
}
