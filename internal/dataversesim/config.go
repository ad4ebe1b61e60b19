// Package dataversesim is an in-memory Microsoft Entra ID token service plus any number
// of Dataverse environments, served over HTTPS with a CA it generates. The demo, the
// benchmark and every integration test run the operator against it, so it rejects what
// Dataverse rejects: bad tokens, missing privileges, duplicate role associations, roles
// from another business unit, a second concurrent import, and the integration
// solution's roles and entities before that solution is imported.
package dataversesim

import (
	"fmt"
	"os"
	"time"

	"sigs.k8s.io/yaml"
)

// Config describes the simulated tenants and environments. It loads from YAML or JSON.
type Config struct {
	// Tenants are the Entra ID tenants that issue tokens.
	Tenants []TenantConfig `json:"tenants"`
	// Environments are the Dataverse environments, each served at /<name>.
	Environments []EnvironmentConfig `json:"environments"`
	// TokenLifetime of issued access tokens (default 1h).
	TokenLifetime Duration `json:"tokenLifetime,omitempty"`
	// PublicHost is the host name or IP address, optionally with :port, that clients
	// reach the simulator at. URLs, token audiences and issuers use it and the serving
	// certificate names it. Default: the listen address, or localhost when that is
	// 0.0.0.0 or [::].
	PublicHost string `json:"publicHost,omitempty"`
	// TokenEndpointOutage starts the token endpoint answering 503.
	TokenEndpointOutage bool `json:"tokenEndpointOutage,omitempty"`
}

// TenantConfig is an Entra ID tenant.
type TenantConfig struct {
	// ID is the tenant id (a GUID) or a domain name.
	ID string `json:"id"`
	// Apps are app registrations: confidential clients that sign in with client
	// credentials, and the clients users sign in through with a password.
	Apps []AppConfig `json:"apps,omitempty"`
	// Users are accounts that sign in with user name and password.
	Users []UserAccount `json:"users,omitempty"`
}

// DefaultPublicClientID is Microsoft's sample client for Dataverse, which XRM tooling and
// the operator (internal/dataverse.DefaultPublicClientID) use for user name and password
// sign-in when no client ID is given. New registers it as a public client in every tenant
// with user accounts that does not list it, as in a tenant where those tools are used.
const DefaultPublicClientID = "51f81489-12ee-4a9e-aaae-a2591f45987d"

// AppConfig is an app registration.
type AppConfig struct {
	ClientID string `json:"clientID"`
	// PublicClient allows public client flows (Entra ID's setting of that name): the
	// password grant without a client secret or assertion.
	PublicClient bool `json:"publicClient,omitempty"`
	// Secrets are valid client secrets.
	Secrets []string `json:"secrets,omitempty"`
	// CertificatesPEM are certificates whose private keys may sign client assertions.
	CertificatesPEM []string `json:"certificatesPEM,omitempty"`
	// FederatedCredentials trust tokens of another issuer (workload identity).
	FederatedCredentials []FederatedCredential `json:"federatedCredentials,omitempty"`
}

// FederatedCredential trusts assertions of one issuer and subject.
type FederatedCredential struct {
	Issuer  string `json:"issuer"`
	Subject string `json:"subject"`
	// Audience defaults to api://AzureADTokenExchange.
	Audience string `json:"audience,omitempty"`
	// PublicKeyPEM verifies the assertion's signature (the issuer's signing key).
	PublicKeyPEM string `json:"publicKeyPEM"`
}

// UserAccount is a user that signs in with a password (ROPC).
type UserAccount struct {
	UserPrincipalName string `json:"userPrincipalName"`
	Password          string `json:"password"`
}

// EnvironmentConfig is a Dataverse environment.
type EnvironmentConfig struct {
	// Name is the organization name, the first path segment of its URL.
	Name string `json:"name"`
	// TenantID is the Entra ID tenant the environment belongs to: it accepts only tokens
	// that tenant issued. It may be left out when exactly one tenant is configured.
	TenantID string `json:"tenantID,omitempty"`
	// Version is what RetrieveVersion answers (default 9.2.24101.140).
	Version        string `json:"version,omitempty"`
	OrganizationID string `json:"organizationID,omitempty"`
	// BusinessUnits: the first is the root business unit; one named after the
	// environment is made when none is given.
	BusinessUnits []BusinessUnitConfig `json:"businessUnits,omitempty"`
	SystemUsers   []SystemUserConfig   `json:"systemUsers,omitempty"`
	// Solutions installed before the simulator starts.
	Solutions []SolutionConfig `json:"solutions,omitempty"`
	// SubmittedSalesOrders is the number of sales orders in the Submitted state.
	SubmittedSalesOrders int  `json:"submittedSalesOrders,omitempty"`
	SOPIntegration       bool `json:"sopIntegrationEnabled,omitempty"`
	// ImportDuration is how long a solution import runs (default 500ms).
	ImportDuration Duration `json:"importDuration,omitempty"`
	// Latency is added to every Web API request.
	Latency Duration `json:"latency,omitempty"`
	// RootRoleParentRef is what a root business unit's role has in
	// _parentrootroleid_value: "self" (its own id, the default) or "empty". Copies in
	// other business units always name the root role. Which one a real server answers is
	// not documented, so the operator must find the role either way.
	RootRoleParentRef string `json:"rootRoleParentRef,omitempty"`
	// Faults are the other fault knobs, set at start.
	Faults FaultConfig `json:"faults,omitempty"`
}

// FaultConfig sets an environment's fault knobs at start; Environment.Faults and
// FailImports change them while serving.
type FaultConfig struct {
	// ErrorRates maps an HTTP status to the fraction of Web API requests that fail with
	// it, e.g. {503: 0.05}.
	ErrorRates map[int]float64 `json:"errorRates,omitempty"`
	// Throttle answers 429 with Retry-After once a principal has sent more requests in a
	// window than allowed, like Dataverse's service protection limits.
	Throttle *ThrottleConfig `json:"throttle,omitempty"`
	// FailImports makes every solution import job fail with this message.
	FailImports string `json:"failImports,omitempty"`
}

// ThrottleConfig is a service protection limit: Requests per principal per Window.
type ThrottleConfig struct {
	Requests int      `json:"requests"`
	Window   Duration `json:"window"`
	// RetryAfter is the longest Retry-After answered (default: the rest of the window).
	RetryAfter Duration `json:"retryAfter,omitempty"`
}

// validate refuses knobs that would silently do nothing.
func (f FaultConfig) validate() error {
	for status, fraction := range f.ErrorRates {
		if status < 400 || status > 599 {
			return fmt.Errorf("error rate for status %d: only 4xx and 5xx can be injected", status)
		}
		if fraction < 0 || fraction > 1 {
			return fmt.Errorf("error rate for status %d is %v, not between 0 and 1", status, fraction)
		}
	}
	if t := f.Throttle; t != nil && (t.Requests <= 0 || t.Window.Duration <= 0) {
		return fmt.Errorf("throttle needs requests > 0 and a window > 0, got %d per %v", t.Requests, t.Window.Duration)
	}
	return nil
}

// BusinessUnitConfig is a business unit.
type BusinessUnitConfig struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// SystemUserConfig is a Dataverse user: an application user (ApplicationID) or a user
// account (InternalEmailAddress, which matches the UPN of its Entra account).
type SystemUserConfig struct {
	ID                   string `json:"id,omitempty"`
	FullName             string `json:"fullName,omitempty"`
	InternalEmailAddress string `json:"internalEmailAddress,omitempty"`
	DomainName           string `json:"domainName,omitempty"`
	ApplicationID        string `json:"applicationID,omitempty"`
	Disabled             bool   `json:"disabled,omitempty"`
	// BusinessUnit names the user's business unit (default the root).
	BusinessUnit string `json:"businessUnit,omitempty"`
	// Roles are role names, given in the user's business unit ("System Administrator",
	// "Basic User", or a role an imported solution brings).
	Roles []string `json:"roles,omitempty"`
	// IntegrationUser, AccessMode (0 Read-Write, 4 Non-interactive), Unlicensed and
	// InvitationPending describe a user account as Business Central finds it; an
	// application user is always non-interactive and unlicensed.
	IntegrationUser   bool `json:"integrationUser,omitempty"`
	AccessMode        int  `json:"accessMode,omitempty"`
	Unlicensed        bool `json:"unlicensed,omitempty"`
	InvitationPending bool `json:"invitationPending,omitempty"`
}

// SolutionConfig is an installed solution.
type SolutionConfig struct {
	UniqueName string `json:"uniqueName"`
	Version    string `json:"version"`
	Managed    bool   `json:"managed,omitempty"`
}

// Duration is a time.Duration written as "500ms" in config files.
type Duration struct{ time.Duration }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" || s == `""` {
		return nil
	}
	if len(s) < 2 || s[0] != '"' {
		return fmt.Errorf("duration %s must be a string such as \"500ms\"", s)
	}
	v, err := time.ParseDuration(s[1 : len(s)-1])
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + d.Duration.String() + `"`), nil
}

// LoadConfig reads a Config from a YAML or JSON file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	var cfg Config
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}
