package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConditionType is the type of a condition in status.conditions.
type ConditionType string

// Condition types reported in status.conditions. Ready, Reconciling and Stalled follow the
// kstatus convention that Flux, kpt and Argo CD read; the others report one step each.
const (
	// ConditionReady is True when everything the spec asks for holds.
	ConditionReady ConditionType = "Ready"
	// ConditionReconciling is True, and present only, while work is under way.
	ConditionReconciling ConditionType = "Reconciling"
	// ConditionStalled is True, and present only, while progress needs a person.
	ConditionStalled ConditionType = "Stalled"
	// ConditionConnectionVerified reports Test Connection.
	ConditionConnectionVerified ConditionType = "ConnectionVerified"
	// ConditionSolutionImported reports the integration solution.
	ConditionSolutionImported ConditionType = "SolutionImported"
	// ConditionRolesAssigned reports the integration user's security roles.
	ConditionRolesAssigned ConditionType = "RolesAssigned"
	// ConditionBusinessCentralLinked reports the nav_connection row.
	ConditionBusinessCentralLinked ConditionType = "BusinessCentralLinked"
	// ConditionSalesOrderIntegrationConfigured reports the organization flag.
	ConditionSalesOrderIntegrationConfigured ConditionType = "SalesOrderIntegrationConfigured"
	// ConditionUsersMapped reports the user mapping check.
	ConditionUsersMapped ConditionType = "UsersMapped"
	// ConditionIntegrationUserPrepared reports that a user account signing in as the
	// integration user is prepared as Business Central prepares it: an integration user
	// whose invitation is accepted, non-interactive where the server allows it. Absent for
	// application users, which Business Central does not prepare.
	ConditionIntegrationUserPrepared ConditionType = "IntegrationUserPrepared"
)

// Reason is the machine-readable reason of a condition. Ready, Reconciling and Stalled
// carry the reason of the step that decides them. Every reason is explained, with what to
// do, in docs/troubleshooting.md.
type Reason string

// Reasons of Ready and of a disabled connection.
const (
	// ReasonReady: everything the spec asks for holds.
	ReasonReady Reason = "Ready"
	// ReasonDisabled: spec.enabled is false and Business Central is unlinked.
	ReasonDisabled Reason = "Disabled"
	// ReasonPendingChanges: Observe mode found differences, listed in status.pendingChanges.
	ReasonPendingChanges Reason = "PendingChanges"
	// ReasonProfileConflict: the connection profile ConfigMap belongs to someone else.
	ReasonProfileConflict Reason = "ProfileConflict"
	// ReasonBlocked (Unknown) on a step: an earlier step is Stalled, so it was not re-checked.
	ReasonBlocked Reason = "Blocked"
	// ReasonRetrying: a failure outside Dataverse (the Kubernetes API) is retried.
	ReasonRetrying Reason = "Retrying"
	// ReasonInternalError: the pass hit a bug in the operator (a panic), recovered and
	// retried with backoff; never reported as Ready.
	ReasonInternalError Reason = "InternalError"
)

// Reasons of ConnectionVerified, and of failures any step can meet while talking to
// Dataverse.
const (
	ReasonVerified            Reason = "Verified"
	ReasonInvalidURL          Reason = "InvalidURL"
	ReasonSecretNotFound      Reason = "SecretNotFound"
	ReasonSecretKeyMissing    Reason = "SecretKeyMissing"
	ReasonUnsupportedAuthType Reason = "UnsupportedAuthenticationType"
	// ReasonOperatorIdentityNotAllowed: WorkloadIdentity without serviceAccountName would
	// sign in with the operator's own service account, which the cluster admin has not
	// allowed (--allow-operator-workload-identity).
	ReasonOperatorIdentityNotAllowed Reason = "OperatorIdentityNotAllowed"
	ReasonAuthenticationFailed       Reason = "AuthenticationFailed"
	ReasonUnreachable                Reason = "Unreachable"
	ReasonTLSError                   Reason = "TLSError"
	ReasonThrottled                  Reason = "Throttled"
	ReasonDataverseError             Reason = "DataverseError"
	ReasonInsufficientPrivilege      Reason = "InsufficientPrivileges"
	ReasonVersionIncompatible        Reason = "VersionIncompatible"
	ReasonUserDisabled               Reason = "IntegrationUserDisabled"
	ReasonUserIsSysAdmin             Reason = "IntegrationUserIsSystemAdministrator"
	// ReasonDestinationNotAllowed: spec.url or an authorityHost is not on the operator's
	// allowlists (--allowed-environment-domains, --allowed-authority-hosts); nothing was
	// sent there.
	ReasonDestinationNotAllowed Reason = "DestinationNotAllowed"
	// ReasonRedirected: Dataverse or the authority answered with a redirect, which the
	// operator never follows.
	ReasonRedirected Reason = "Redirected"
)

// Reasons of IntegrationUserPrepared.
const (
	ReasonPrepared Reason = "Prepared"
	// ReasonIntegrationUserNotPrepared: the user is not prepared and there is no
	// administrator to prepare it.
	ReasonIntegrationUserNotPrepared Reason = "IntegrationUserNotPrepared"
	// ReasonIntegrationUserNotLicensed: a user that is not non-interactive has no license.
	ReasonIntegrationUserNotLicensed Reason = "IntegrationUserNotLicensed"
)

// Reasons of SolutionImported.
const (
	ReasonImported            Reason = "Imported"
	ReasonImportInProgress    Reason = "ImportInProgress"
	ReasonImportFailed        Reason = "ImportFailed"
	ReasonMissingDependencies Reason = "MissingDependencies"
	ReasonPackageNotFound     Reason = "PackageNotFound"
	ReasonInvalidPackage      Reason = "InvalidPackage"
)

// Reasons of RolesAssigned.
const (
	ReasonAssigned         Reason = "Assigned"
	ReasonRoleNotFound     Reason = "RoleNotFound"
	ReasonRolesNotAssigned Reason = "RolesNotAssigned"
	// ReasonRoleNotAllowed: spec.securityRoles names System Administrator, which the
	// operator never grants.
	ReasonRoleNotAllowed Reason = "RoleNotAllowed"
)

// Reasons of BusinessCentralLinked.
const (
	ReasonLinked              Reason = "Linked"
	ReasonSolutionNotImported Reason = "SolutionNotImported"
	// ReasonLinkConflict: another SalesConnection, named in the message, links the same
	// environment and company; one row serves one of them.
	ReasonLinkConflict Reason = "LinkConflict"
)

// Reasons of SalesOrderIntegrationConfigured.
const (
	ReasonConfigured           Reason = "Configured"
	ReasonSubmittedOrdersExist Reason = "SubmittedOrdersExist"
	// ReasonConfigurationDiffers: the flag differs from the spec and there is no
	// administrator to change it.
	ReasonConfigurationDiffers Reason = "ConfigurationDiffers"
)

// Reasons of UsersMapped.
const (
	ReasonAllUsersMapped Reason = "AllUsersMapped"
	ReasonUnmappedUsers  Reason = "UnmappedUsers"
)

// GetCondition returns the condition of that type, or nil.
func (s *SalesConnectionStatus) GetCondition(t ConditionType) *metav1.Condition {
	return meta.FindStatusCondition(s.Conditions, string(t))
}

// Annotations and the finalizer the operator reads and writes.
const (
	// AnnotationRequestedAt, set to any new value, re-runs Test Connection and every
	// other check now.
	AnnotationRequestedAt = "sales.bcconnect.io/requested-at"
	// AnnotationForceDelete "true" releases the finalizer when cleanup cannot run.
	AnnotationForceDelete = "sales.bcconnect.io/force-delete"
	// AnnotationImportJob records a running solution import so that a restart, or a
	// restore that drops status, resumes it instead of starting a second one.
	AnnotationImportJob = "sales.bcconnect.io/import-job"
	// Finalizer keeps the object until Dataverse is cleaned up per deletionPolicy.
	Finalizer = "sales.bcconnect.io/finalizer"
)
