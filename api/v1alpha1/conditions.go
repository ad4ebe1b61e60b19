package v1alpha1

// Condition types reported in status.conditions. Ready, Reconciling and Stalled follow the
// kstatus convention that Flux, kpt and Argo CD read; the others report one step each.
const (
	// ConditionReady is True when everything the spec asks for holds.
	ConditionReady = "Ready"
	// ConditionReconciling is True, and present only, while work is under way.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True, and present only, while progress needs a person.
	ConditionStalled = "Stalled"
	// ConditionConnectionVerified reports Test Connection.
	ConditionConnectionVerified = "ConnectionVerified"
	// ConditionSolutionImported reports the integration solution.
	ConditionSolutionImported = "SolutionImported"
	// ConditionRolesAssigned reports the integration user's security roles.
	ConditionRolesAssigned = "RolesAssigned"
	// ConditionBusinessCentralLinked reports the nav_connection row.
	ConditionBusinessCentralLinked = "BusinessCentralLinked"
	// ConditionSalesOrderIntegrationConfigured reports the organization flag.
	ConditionSalesOrderIntegrationConfigured = "SalesOrderIntegrationConfigured"
	// ConditionUsersMapped reports the user mapping check.
	ConditionUsersMapped = "UsersMapped"
)

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
