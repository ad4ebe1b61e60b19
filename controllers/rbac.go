// Package controllers holds the SalesConnection reconciler.
package controllers

// The manager's permissions, generated into config/rbac/role.yaml. Each verb is needed:
//
// SalesConnections: read and watch them; patch for the finalizer and the import-job
// annotation; patch status for conditions. Every write is a patch with a resourceVersion
// precondition, so update is not needed.
// +kubebuilder:rbac:groups=sales.bcconnect.io,resources=salesconnections,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=sales.bcconnect.io,resources=salesconnections/status,verbs=patch
// +kubebuilder:rbac:groups=sales.bcconnect.io,resources=salesconnections/finalizers,verbs=update
//
// Secrets: get reads only the referenced Secret, live (never cached); list and watch feed
// the metadata-only watch that maps a created or rotated Secret to the SalesConnections
// that name it. The operator never creates, changes or deletes a Secret.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
//
// ConfigMaps: get, list and watch as for Secrets (the solution package); create and patch
// for the connection profile ConfigMap the operator owns (spec.writeConnectionProfileTo).
// No delete: garbage collection removes the profile through its owner reference.
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;patch
//
// Service account tokens: create a token of the service account a WorkloadIdentity
// SalesConnection names in its own namespace (authentication.serviceAccountName), with the
// audience api://AzureADTokenExchange, presented to Entra ID as the federated credential.
// Nothing else of service accounts is read or written.
// +kubebuilder:rbac:groups="",resources=serviceaccounts/token,verbs=create
//
// Events: the transitions reported to `kubectl describe`.
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
