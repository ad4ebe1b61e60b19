package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SalesConnectionSpec is the desired connection between a Dynamics 365 Sales (Dataverse)
// environment and Business Central: what Business Central's "Dynamics 365 Sales Connection
// Setup" page holds.
//
// +kubebuilder:validation:XValidation:rule="has(self.administrator) || !(self.?integrationSolution.?import.orValue(false) || self.?salesOrderIntegration.?enabled.orValue(false) || size(self.?securityRoles.orValue([])) > 0)",message="administrator is required when integrationSolution.import, salesOrderIntegration.enabled or securityRoles asks for administrator work: add spec.administrator with the credentials of a System Administrator",fieldPath=".administrator"
// +kubebuilder:validation:XValidation:rule="!has(self.businessCentral) || !has(self.businessCentral.webClientURL) || self.?integrationSolution.?import.orValue(false)",message="businessCentral.webClientURL needs integrationSolution.import: true, because the Business Central link is stored in an entity that the integration solution adds",fieldPath=".businessCentral.webClientURL"
// +kubebuilder:validation:XValidation:rule="!self.?businessCentral.?itemAvailability.?enabled.orValue(false) || self.?integrationSolution.?import.orValue(false)",message="businessCentral.itemAvailability needs integrationSolution.import: true, because the item availability settings are stored in an entity that the integration solution adds",fieldPath=".businessCentral.itemAvailability"
type SalesConnectionSpec struct {
	// Enabled turns the connection on. Setting it to false disconnects: the Business
	// Central link in Dataverse is removed and nothing else is used, while every setting is
	// kept (what clearing "Enabled" does on the setup page).
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// URL of the Dynamics 365 Sales environment, for example
	// https://contoso.crm4.dynamics.com. A missing scheme means https; the web client page,
	// query and fragment are dropped (status.url shows the normalized form). http is
	// accepted only with an explicit non-default port, as on-premises servers use. A user
	// name or password in the URL is refused, and not quoted back: credentials belong in a
	// Secret.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-zA-Z][a-zA-Z0-9+.-]*://)?[^/?#]*@') || !self.matches('[\\\\p{Z}\\\\p{Cc}]')",message="url must not contain spaces, other whitespace (Unicode spaces such as U+00A0 too) or control characters: percent-encode them or remove them"
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-zA-Z][a-zA-Z0-9+.-]*://)?[^/?#]*@') || !self.contains('://') || self.lowerAscii().startsWith('https://') || self.lowerAscii().startsWith('http://')",message="url scheme must be https (for example https://contoso.crm4.dynamics.com)"
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-zA-Z][a-zA-Z0-9+.-]*://)?[^/?#]*@') || !self.lowerAscii().startsWith('http://') || (self.lowerAscii().matches('^http://[^/?#]*:[0-9]+([/?#].*)?$') && !self.lowerAscii().matches('^http://[^/?#]*:0*80([/?#].*)?$'))",message="url may use http only with an explicit port other than 80, as on-premises servers do (for example http://crm.local:5555/Contoso); use https otherwise"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^([a-zA-Z][a-zA-Z0-9+.-]*://)?[^/?#]*@')",message="url must not contain a user name or password: put credentials in the Secret of spec.authentication",reason="FieldValueForbidden"
	URL string `json:"url"`

	// SDKVersion is the Dataverse SDK (proxy) version Business Central uses to talk to the
	// environment: major.minor (for example 9.1) or Business Central's own proxy version
	// id (8, 9, 91 or 100, the values of its "Dynamics 365 SDK Version" field; 100 is the
	// Dataverse ServiceClient). It is informational when the environment is online:
	// Business Central's documentation calls the field relevant only for on-premises
	// Sales. For an on-premises server it must be at least the server's major.minor, or
	// ConnectionVerified is False with reason VersionIncompatible.
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+\\\\.[0-9]+|8|9|91|100)$')",message="sdkVersion must be major.minor (for example 9.1) or one of Business Central's proxy version ids 8, 9, 91 or 100"
	// +optional
	SDKVersion string `json:"sdkVersion,omitempty"`

	// Authentication is how the operator signs in as the integration user, the account
	// Business Central uses for synchronization.
	Authentication Authentication `json:"authentication"`

	// Administrator is how the operator signs in as a System Administrator of the
	// environment, used only to import the integration solution, assign security roles and
	// change organization settings. Business Central asks for these credentials once and
	// never stores them; the operator reads them from the Secret when it needs them.
	// +optional
	Administrator *Authentication `json:"administrator,omitempty"`

	// TLS configures how the operator verifies the environment's and the authority's
	// certificates.
	// +optional
	TLS *TLSConfig `json:"tls,omitempty"`

	// IntegrationSolution controls the import of the Business Central integration solution
	// into the environment.
	// +optional
	IntegrationSolution *IntegrationSolution `json:"integrationSolution,omitempty"`

	// SecurityRoles overrides the security roles given to the integration user, by role
	// name or root role id. Empty means the two roles of the integration solution:
	// Integration Administrator and Integration User.
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=100
	// +listType=set
	// +optional
	SecurityRoles []string `json:"securityRoles,omitempty"`

	// BusinessCentral links the environment back to Business Central.
	// +optional
	BusinessCentral *BusinessCentral `json:"businessCentral,omitempty"`

	// SalesOrderIntegration configures the sales-order integration.
	// +optional
	SalesOrderIntegration *SalesOrderIntegration `json:"salesOrderIntegration,omitempty"`

	// UserMapping lists Business Central users that must have a Dataverse user.
	// +optional
	UserMapping *UserMapping `json:"userMapping,omitempty"`

	// Synchronization holds the Business Central-side synchronization settings.
	// +optional
	Synchronization *Synchronization `json:"synchronization,omitempty"`

	// WriteConnectionProfileTo names a ConfigMap in the same namespace that the operator
	// owns and fills with the connection profile: the normalized URL, versions, the
	// connection string with placeholders instead of secrets, the Business Central-side
	// flags and, with synchronization.useDefaultSetup, the default table mappings.
	// +optional
	WriteConnectionProfileTo *LocalObjectReference `json:"writeConnectionProfileTo,omitempty"`

	// ResyncInterval is how often the operator re-checks the environment and repairs drift
	// (a role removed by hand, the sales-order flag flipped, the link deleted).
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$') && duration(self) >= duration('1m') && duration(self) <= duration('24h')",message="resyncInterval must be a duration between 1m and 24h, for example 10m or 1h30m"
	// +optional
	ResyncInterval *metav1.Duration `json:"resyncInterval,omitempty"`

	// DeletionPolicy is what deleting the SalesConnection does in Dataverse. Disconnect
	// removes the Business Central link; Orphan touches nothing; Deprovision also removes
	// the roles the operator assigned and turns the sales-order flag off when no submitted
	// order exists. The solution is never uninstalled.
	// +kubebuilder:default=Disconnect
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// ManagementPolicy is Manage (carry out the spec) or Observe (read everything, change
	// nothing in Dataverse, and list in status.pendingChanges what Manage would do).
	// +kubebuilder:default=Manage
	// +optional
	ManagementPolicy ManagementPolicy `json:"managementPolicy,omitempty"`

	// Suspend tells the controller to leave this connection alone until it is cleared.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// AuthenticationType names how the operator signs in to Dataverse.
// +kubebuilder:validation:Enum=ClientSecret;Certificate;WorkloadIdentity;OAuth;Office365;AD;IFD
type AuthenticationType string

// Authentication types. AD is accepted so existing Business Central settings can be
// declared, but it needs NTLM, which the operator does not speak.
const (
	AuthenticationClientSecret     AuthenticationType = "ClientSecret"
	AuthenticationCertificate      AuthenticationType = "Certificate"
	AuthenticationWorkloadIdentity AuthenticationType = "WorkloadIdentity"
	AuthenticationOAuth            AuthenticationType = "OAuth"
	AuthenticationOffice365        AuthenticationType = "Office365"
	AuthenticationAD               AuthenticationType = "AD"
	AuthenticationIFD              AuthenticationType = "IFD"
)

// Authentication is how the operator signs in as one principal.
//
// +kubebuilder:validation:XValidation:rule="self.type == 'WorkloadIdentity' || has(self.secretRef)",message="secretRef is required for this authentication type: name the Secret (in the same namespace) that holds the credentials",fieldPath=".secretRef"
// +kubebuilder:validation:XValidation:rule="!(self.type in ['ClientSecret', 'Certificate', 'WorkloadIdentity', 'OAuth']) || has(self.tenantID)",message="tenantID is required for ClientSecret, Certificate, WorkloadIdentity and OAuth: set the Microsoft Entra tenant id or domain",fieldPath=".tenantID"
// +kubebuilder:validation:XValidation:rule="self.type == 'WorkloadIdentity' || !has(self.serviceAccountName)",message="serviceAccountName is only for WorkloadIdentity: remove it, or set type: WorkloadIdentity",fieldPath=".serviceAccountName"
// +kubebuilder:validation:XValidation:rule="self.type != 'WorkloadIdentity' || has(self.clientID)",message="clientID is required for WorkloadIdentity: set the application (client) id of the Entra app that trusts the service account",fieldPath=".clientID"
type Authentication struct {
	// Type is how to sign in: ClientSecret or Certificate (an Entra application user),
	// WorkloadIdentity (a federated service account token: see serviceAccountName), OAuth or
	// Office365 (user name and password), AD or IFD (on-premises).
	Type AuthenticationType `json:"type"`

	// TenantID is the Microsoft Entra tenant: its id or a verified domain name; "adfs"
	// for an AD FS authority (the default with IFD).
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9][A-Za-z0-9.-]*$')",message="tenantID must be a tenant id (a GUID) or a domain name such as contoso.onmicrosoft.com"
	// +optional
	TenantID string `json:"tenantID,omitempty"`

	// ClientID is the application (client) id for WorkloadIdentity. Other types read it
	// from the Secret's clientID key.
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$')",message="clientID must be an application (client) id, a GUID such as 00000000-0000-0000-0000-000000000000"
	// +optional
	ClientID string `json:"clientID,omitempty"`

	// AuthorityHost is the Microsoft Entra authority, for sovereign clouds, AD FS or tests.
	// Empty means https://login.microsoftonline.com/.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.lowerAscii().startsWith('https://') && !self.matches('\\\\s')",message="authorityHost must be an https URL such as https://login.microsoftonline.us/"
	// +optional
	AuthorityHost string `json:"authorityHost,omitempty"`

	// SecretRef names the Secret, in the SalesConnection's own namespace, that holds the
	// credentials. Keys by type: ClientSecret clientID and clientSecret; Certificate
	// clientID, tls.crt and tls.key; OAuth and Office365 username, password and optionally
	// clientID.
	// +optional
	SecretRef *LocalObjectReference `json:"secretRef,omitempty"`

	// ServiceAccountName is, for WorkloadIdentity, the service account in the
	// SalesConnection's own namespace whose token the operator requests (audience
	// api://AzureADTokenExchange) and presents as the federated credential of clientID's
	// Entra application: trust system:serviceaccount:<namespace>:<name> there. Without
	// it, WorkloadIdentity signs in with the operator's own service account, which the
	// operator allows only when the cluster admin enabled it
	// (--allow-operator-workload-identity).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')",message="serviceAccountName must be a valid object name: lower-case letters, digits, '-' and '.'"
	// +optional
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
}

// LocalObjectReference names an object in the SalesConnection's own namespace.
type LocalObjectReference struct {
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')",message="name must be a valid object name: lower-case letters, digits, '-' and '.'"
	Name string `json:"name"`
}

// KeyReference names a key of an object in the SalesConnection's own namespace.
type KeyReference struct {
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')",message="name must be a valid object name: lower-case letters, digits, '-' and '.'"
	Name string `json:"name"`

	// Key within the object's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[-._a-zA-Z0-9]+$')",message="key must consist of letters, digits, '-', '_' and '.'"
	Key string `json:"key"`
}

// TLSConfig configures certificate verification.
type TLSConfig struct {
	// CASecretRef names a Secret key holding PEM CA certificates trusted, in addition to
	// the system roots, for the environment URL and the authority host (a private
	// on-premises CA).
	// +optional
	CASecretRef *KeyReference `json:"caSecretRef,omitempty"`
}

// IntegrationSolution controls the import of the integration solution.
//
// +kubebuilder:validation:XValidation:rule="!self.import || has(self.packageRef)",message="packageRef is required when import is true: name the ConfigMap and key that hold the solution zip",fieldPath=".packageRef"
type IntegrationSolution struct {
	// Import installs the Business Central integration solution
	// (MicrosoftDynamicsNavIntegration) when it is missing or older than the package.
	// +kubebuilder:default=false
	// +optional
	Import bool `json:"import"`

	// PackageRef names a ConfigMap key (binaryData) holding the solution package zip, for
	// example DynamicsNAVIntegrationSolution_v91.zip from the Business Central media.
	// +optional
	PackageRef *KeyReference `json:"packageRef,omitempty"`
}

// BusinessCentral links the Dataverse environment back to Business Central.
//
// +kubebuilder:validation:XValidation:rule="!has(self.webClientURL) || has(self.company)",message="company is required with webClientURL: name the Business Central company to link",fieldPath=".company"
type BusinessCentral struct {
	// WebClientURL is the Business Central web client URL users open from Dynamics 365
	// Sales, for example https://businesscentral.dynamics.com/<tenant>/Production.
	// ?company= is appended when missing.
	// At most 250 characters: Dataverse's nav_dynamicsnavurl holds 250, and the company
	// is added to it.
	// +kubebuilder:validation:MaxLength=250
	// +kubebuilder:validation:XValidation:rule="self.lowerAscii().startsWith('https://') || self.lowerAscii().startsWith('http://')",message="webClientURL must be an http or https URL such as https://businesscentral.dynamics.com/<tenant>/Production"
	// +kubebuilder:validation:XValidation:rule="!self.matches('\\\\s')",message="webClientURL must not contain whitespace"
	// +optional
	WebClientURL string `json:"webClientURL,omitempty"`

	// Company is the Business Central company the link opens.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=30
	// +optional
	Company string `json:"company,omitempty"`

	// ItemAvailability lets Dynamics 365 Sales show Business Central item availability
	// through Business Central's ProductItemAvailability OData V3 web service. Only
	// Business Central 17 and earlier have it: 18.0 removed OData V3 and replaced the web
	// service with the item availability job queue entry, which is set up in Business
	// Central. The values are written on the link row, so they need webClientURL.
	// +optional
	ItemAvailability *ItemAvailability `json:"itemAvailability,omitempty"`
}

// ItemAvailability configures the item availability web service.
//
// +kubebuilder:validation:XValidation:rule="!self.enabled || has(self.odataURL)",message="odataURL is required when itemAvailability is enabled: set the OData V3 URL of Business Central's ProductItemAvailability web service",fieldPath=".odataURL"
// +kubebuilder:validation:XValidation:rule="!self.enabled || has(self.username)",message="username is required when itemAvailability is enabled: set the Business Central user that reads item availability",fieldPath=".username"
// +kubebuilder:validation:XValidation:rule="!self.enabled || has(self.accessKeySecretRef)",message="accessKeySecretRef is required when itemAvailability is enabled: name the Secret key holding that user's web service access key",fieldPath=".accessKeySecretRef"
type ItemAvailability struct {
	// Enabled turns item availability on.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled"`

	// ODataURL is the OData V3 URL of the item availability web service Business Central
	// publishes (the page web service ProductItemAvailability), as its "Dynamics NAV OData
	// URL" field shows it, for example
	// https://bc.contoso.com:7048/BC170/OData/Company('CRONUS%20USA%2C%20Inc.')/ProductItemAvailability.
	// At most 250 characters (nav_dynamicsnavodataurl).
	// +kubebuilder:validation:MaxLength=250
	// +kubebuilder:validation:XValidation:rule="self.lowerAscii().startsWith('https://') || self.lowerAscii().startsWith('http://')",message="odataURL must be an http or https URL"
	// +optional
	ODataURL string `json:"odataURL,omitempty"`

	// Username is the Business Central user whose web service access key Dynamics 365
	// Sales uses.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=50
	// +optional
	Username string `json:"username,omitempty"`

	// AccessKeySecretRef names the Secret key holding that user's web service access key.
	// +optional
	AccessKeySecretRef *KeyReference `json:"accessKeySecretRef,omitempty"`
}

// SalesOrderIntegration configures the sales-order integration.
//
// +kubebuilder:validation:XValidation:rule="!self.autoCreateSalesOrders || self.enabled",message="autoCreateSalesOrders needs salesOrderIntegration.enabled: true",fieldPath=".autoCreateSalesOrders"
// +kubebuilder:validation:XValidation:rule="!self.autoProcessSalesQuotes || self.enabled",message="autoProcessSalesQuotes needs salesOrderIntegration.enabled: true",fieldPath=".autoProcessSalesQuotes"
type SalesOrderIntegration struct {
	// Enabled sets the environment's sales order integration flag
	// (issopintegrationenabled). It cannot be turned off while a submitted sales order
	// exists.
	// +kubebuilder:default=false
	// +optional
	Enabled bool `json:"enabled"`

	// AutoCreateSalesOrders makes Business Central create sales orders from submitted
	// Dynamics 365 Sales orders. Carried out by Business Central; published in the
	// connection profile.
	// +kubebuilder:default=false
	// +optional
	AutoCreateSalesOrders bool `json:"autoCreateSalesOrders"`

	// AutoProcessSalesQuotes makes Business Central process Dynamics 365 Sales quotes.
	// Carried out by Business Central; published in the connection profile.
	// +kubebuilder:default=false
	// +optional
	AutoProcessSalesQuotes bool `json:"autoProcessSalesQuotes"`
}

// UserMapping lists Business Central users that need a Dataverse user.
type UserMapping struct {
	// Required makes unmapped users a reason for Ready to be False. Otherwise the
	// UsersMapped condition only informs.
	// +kubebuilder:default=false
	// +optional
	Required bool `json:"required"`

	// Users are the Business Central users; each needs an enabled Dataverse user. As in
	// Business Central, they are matched by email (the user's Authentication Email against
	// internalemailaddress), or, with AD or IFD sign-in, by domain name (the user name
	// DOMAIN\user against domainname).
	// +kubebuilder:validation:MaxItems=500
	// +kubebuilder:validation:items:MaxLength=320
	// +kubebuilder:validation:items:XValidation:rule="self.matches('^[^@\\\\s]+@[^@\\\\s]+\\\\.[^@\\\\s]+$') || self.matches('^[^\\\\\\\\\\\\s]+\\\\\\\\[^\\\\\\\\\\\\s]+$')",message="each userMapping.users entry must be an email address such as alice@contoso.com, or DOMAIN\\user with AD or IFD sign-in"
	// +listType=set
	// +optional
	Users []string `json:"users,omitempty"`
}

// Synchronization holds Business Central-side synchronization settings.
type Synchronization struct {
	// UseDefaultSetup asks for Business Central's default integration table mappings; the
	// operator publishes them in the connection profile.
	// +kubebuilder:default=false
	// +optional
	UseDefaultSetup bool `json:"useDefaultSetup"`
}

// DeletionPolicy is what deleting a SalesConnection does in Dataverse.
// +kubebuilder:validation:Enum=Disconnect;Orphan;Deprovision
type DeletionPolicy string

// Deletion policies.
const (
	DeletionPolicyDisconnect  DeletionPolicy = "Disconnect"
	DeletionPolicyOrphan      DeletionPolicy = "Orphan"
	DeletionPolicyDeprovision DeletionPolicy = "Deprovision"
)

// ManagementPolicy is whether the operator changes Dataverse.
// +kubebuilder:validation:Enum=Manage;Observe
type ManagementPolicy string

// Management policies.
const (
	ManagementPolicyManage  ManagementPolicy = "Manage"
	ManagementPolicyObserve ManagementPolicy = "Observe"
)

// SalesConnectionStatus is what the operator found and did.
type SalesConnectionStatus struct {
	// ObservedGeneration is the generation of the spec this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// URL is the normalized environment URL the operator connects to.
	// +optional
	URL string `json:"url,omitempty"`

	// ServerVersion is the Dataverse server version (RetrieveVersion).
	// +optional
	ServerVersion string `json:"serverVersion,omitempty"`

	// OrganizationID is the Dataverse organization id.
	// +optional
	OrganizationID string `json:"organizationID,omitempty"`

	// IntegrationUser is the Dataverse user the integration signs in as.
	// +optional
	IntegrationUser *IntegrationUserStatus `json:"integrationUser,omitempty"`

	// Solution is the installed integration solution and any running import.
	// +optional
	Solution *SolutionStatus `json:"solution,omitempty"`

	// AssignedRoles are the security roles the integration user holds for the integration.
	// +listType=map
	// +listMapKey=id
	// +optional
	AssignedRoles []RoleStatus `json:"assignedRoles,omitempty"`

	// UserMapping reports which listed Business Central users have a Dataverse user.
	// +optional
	UserMapping *UserMappingStatus `json:"userMapping,omitempty"`

	// PendingChanges lists, in Observe mode, what Manage would change in Dataverse.
	// +optional
	PendingChanges []string `json:"pendingChanges,omitempty"`

	// LastVerifiedTime is when Test Connection last passed.
	// +optional
	LastVerifiedTime *metav1.Time `json:"lastVerifiedTime,omitempty"`

	// LastHandledRequestedAt echoes the last handled value of the
	// sales.bcconnect.io/requested-at annotation.
	// +optional
	LastHandledRequestedAt string `json:"lastHandledRequestedAt,omitempty"`

	// Conditions: Ready, Reconciling, Stalled, ConnectionVerified, SolutionImported,
	// RolesAssigned, BusinessCentralLinked, SalesOrderIntegrationConfigured, UsersMapped.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// IntegrationUserStatus identifies the integration user.
type IntegrationUserStatus struct {
	// ID is the systemuserid.
	ID string `json:"id"`
	// Name is the user's name (email or application user name).
	// +optional
	Name string `json:"name,omitempty"`
	// BusinessUnitID is the user's business unit, where its roles must be.
	// +optional
	BusinessUnitID string `json:"businessUnitID,omitempty"`
}

// SolutionStatus describes the integration solution.
type SolutionStatus struct {
	// UniqueName of the solution.
	UniqueName string `json:"uniqueName"`
	// Version installed in the environment, empty when not installed.
	// +optional
	Version string `json:"version,omitempty"`
	// ImportJob is the import in progress, if any.
	// +optional
	ImportJob *ImportJobStatus `json:"importJob,omitempty"`
}

// ImportJobStatus is a running asynchronous solution import.
type ImportJobStatus struct {
	// AsyncOperationID tracks the import.
	AsyncOperationID string `json:"asyncOperationID"`
	// ImportJobKey reads the import result.
	// +optional
	ImportJobKey string `json:"importJobKey,omitempty"`
	// Version being imported.
	// +optional
	Version string `json:"version,omitempty"`
	// StartedAt is when the import was started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
}

// RoleStatus is a security role held by the integration user.
type RoleStatus struct {
	// ID of the business unit's copy of the role.
	ID string `json:"id"`
	// Name of the role.
	// +optional
	Name string `json:"name,omitempty"`
	// Managed is true when the operator assigned the role; deletionPolicy Deprovision
	// removes only those.
	// +optional
	Managed bool `json:"managed,omitempty"`
}

// UserMappingStatus reports the user mapping check.
type UserMappingStatus struct {
	// Mapped counts listed users with an enabled Dataverse user.
	Mapped int32 `json:"mapped"`
	// Total counts listed users.
	Total int32 `json:"total"`
	// Unmapped lists users without one (at most 50 shown).
	// +optional
	Unmapped []string `json:"unmapped,omitempty"`
}

// SalesConnection connects a Dynamics 365 Sales (Dataverse) environment to Business
// Central: it verifies the connection, imports the integration solution, assigns the
// integration roles, links the environment back to Business Central and configures the
// sales-order integration, reporting each step as a condition.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=salesconn,categories=dynamics
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Enabled",type=boolean,JSONPath=`.spec.enabled`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.serverVersion`
// +kubebuilder:printcolumn:name="Solution",type=string,JSONPath=`.status.solution.version`
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.status.integrationUser.name`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SalesConnection struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is the desired connection.
	Spec SalesConnectionSpec `json:"spec"`

	// Status is what the operator found and did.
	// +optional
	Status SalesConnectionStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// SalesConnectionList is a list of SalesConnections.
type SalesConnectionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SalesConnection `json:"items"`
}
