package dataverse

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// AuthType is how a principal signs in (the XRM connection string's AuthType).
type AuthType string

// The sign-in types the client supports.
const (
	AuthClientSecret     AuthType = "ClientSecret"
	AuthCertificate      AuthType = "Certificate"
	AuthWorkloadIdentity AuthType = "WorkloadIdentity"
	AuthOAuth            AuthType = "OAuth"
	AuthOffice365        AuthType = "Office365"
)

// DefaultPublicClientID is the application used for user name and password sign-in when
// the Secret names none: Microsoft's sample client registered for Dataverse, which the
// XRM tooling connection strings use for AuthType=OAuth.
const DefaultPublicClientID = "51f81489-12ee-4a9e-aaae-a2591f45987d"

// Credentials of one principal, built by the reconciler from Kubernetes Secrets. Never
// log or print them: the package only ever shows Fingerprint.
type Credentials struct {
	Type AuthType
	// TenantID may be empty for OAuth and Office365: see tenant.
	TenantID, ClientID string
	ClientSecret       string
	// CertificatePEM and PrivateKeyPEM are the certificate chain and its unencrypted key.
	CertificatePEM, PrivateKeyPEM []byte
	// Username and Password are for OAuth and Office365 (resource owner password grant).
	Username, Password string
	// TokenFile is the projected service account token for WorkloadIdentity with the
	// operator's own identity.
	TokenFile string
	// Assertion, for WorkloadIdentity, returns a fresh federated token (a service account
	// token of the object's namespace) each time Entra ID is asked; it replaces TokenFile.
	Assertion func(ctx context.Context) (string, error)
	// Source says where the credentials come from (for example "team-a/Secret/contoso",
	// "team-a/ServiceAccount/bc-sync", "operator"): part of every token cache key, so
	// two namespaces never share a token, whatever ids their specs name.
	Source string
	// AuthorityHost is the sign-in authority, e.g. https://login.microsoftonline.com/;
	// empty means the public cloud.
	AuthorityHost string
}

// fingerprintKey makes Fingerprint an HMAC: it identifies credentials within this
// process (a cache key) and cannot be used to guess a weak password offline.
var fingerprintKey = func() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic("dataverse: no randomness for the credential fingerprint key: " + err.Error())
	}
	return k
}()

// Fingerprint is an HMAC-SHA256 over every field: equal credentials give equal
// fingerprints within this process, and the value reveals nothing about them.
func (c Credentials) Fingerprint() string {
	h := hmac.New(sha256.New, fingerprintKey)
	for _, f := range [][]byte{
		[]byte(c.Type), []byte(c.TenantID), []byte(c.ClientID), []byte(c.ClientSecret),
		c.CertificatePEM, c.PrivateKeyPEM, []byte(c.Username), []byte(c.Password),
		[]byte(c.TokenFile), []byte(c.AuthorityHost), []byte(c.Source),
	} {
		writeField(h, f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeField length-prefixes each field, so ("ab","c") and ("a","bc") differ.
func writeField(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}

// String keeps credentials out of logs even when someone prints the struct.
func (c Credentials) String() string {
	return "Credentials{Type: " + string(c.Type) + ", TenantID: " + c.TenantID + ", ClientID: " + c.ClientID + "}"
}

// GoString hides the fields from %#v as well.
func (c Credentials) GoString() string { return c.String() }

// isUser reports the user name and password types, which sign in as a public client.
func (c Credentials) isUser() bool { return c.Type == AuthOAuth || c.Type == AuthOffice365 }

// clientID is the application that signs in.
func (c Credentials) clientID() string {
	if c.ClientID == "" && c.isUser() {
		return DefaultPublicClientID
	}
	return c.ClientID
}

// tenantOrganizations is Entra ID's alias for "the tenant of this work or school account".
const tenantOrganizations = "organizations"

// tenant is the tenant to sign in to. A user name and password may come without one (the
// CRD allows Office365 without tenantID): Entra ID then finds the user's tenant through
// the organizations alias, the only alias it accepts for the password grant.
func (c Credentials) tenant() string {
	if c.TenantID == "" && c.isUser() {
		return tenantOrganizations
	}
	return c.TenantID
}

// authorityHost with a trailing slash, as azidentity joins it with the tenant.
func (c Credentials) authorityHost() string {
	h := strings.TrimSpace(c.AuthorityHost)
	if h == "" {
		return cloud.AzurePublic.ActiveDirectoryAuthorityHost
	}
	if !strings.HasSuffix(h, "/") {
		h += "/"
	}
	return h
}

// secrets lists the values that must never appear in an error.
func (c Credentials) secrets() []string {
	return []string{c.ClientSecret, c.Password, string(c.PrivateKeyPEM)}
}

// TenantADFS is the tenant segment of an AD FS authority (https://adfs.contoso.com/adfs/):
// MSAL, and so azidentity, talk to AD FS instead of Entra ID when the tenant is "adfs".
const TenantADFS = "adfs"

// isADFS reports an AD FS authority (on-premises servers with IFD).
func (c Credentials) isADFS() bool { return strings.EqualFold(c.TenantID, TenantADFS) }

// scope is the OAuth scope for the environment: <url>/.default for applications, and
// <url>/user_impersonation for users signing in through a public client (reference
// §1.12, "authenticate-oauth": a public client asks for user_impersonation).
//
// AD FS (2019 and later, the first MSAL supports) has no ".default": it reads the
// resource from the scope as <resource>/<scope> with one of its own scopes (Microsoft
// Learn, "What's new in AD FS", Windows Server 2019; Azure SDK for Go PR #19872, "ADFS
// does not translate the fake .default scope segment"; MSAL.NET issues #1403 and #1422:
// <resource>/openid gives a token whose audience is the resource). The resource is the
// organization's URL, a relying party identifier of the IFD trust. Whether AD FS matches
// it to an identifier registered with a trailing slash is not documented (a guess; see
// docs/authentication.md).
func (c Credentials) scope(environmentURL string) string {
	if c.isADFS() {
		return environmentURL + "/openid"
	}
	if c.isUser() {
		return environmentURL + "/user_impersonation"
	}
	return environmentURL + "/.default"
}

// validate checks what azidentity would otherwise reject with less helpful text.
func (c Credentials) validate(op string) error {
	missing := func(what string) error {
		return newError(op, ReasonAuthenticationFailed, 0, "InvalidCredentials", what+" is missing", nil)
	}
	switch c.Type {
	case AuthClientSecret:
		if c.ClientSecret == "" {
			return missing("the client secret")
		}
	case AuthCertificate:
		if len(c.CertificatePEM) == 0 || len(c.PrivateKeyPEM) == 0 {
			return missing("the certificate or its private key")
		}
	case AuthWorkloadIdentity:
		if c.TokenFile == "" && c.Assertion == nil {
			return missing("the federated token")
		}
	case AuthOAuth, AuthOffice365:
		if c.Username == "" || c.Password == "" {
			return missing("the user name or password")
		}
	default:
		return newError(op, ReasonAuthenticationFailed, 0, "UnsupportedAuthenticationType",
			"authentication type "+strings.TrimSpace(string(c.Type))+" is not supported", nil)
	}
	if c.tenant() == "" {
		return missing("the tenant ID")
	}
	if c.clientID() == "" {
		return missing("the client ID")
	}
	return nil
}

// newTokenCredential builds the azidentity credential for c. transport carries the
// shared HTTP client, so sign-in trusts the same CA bundle as Dataverse.
func newTokenCredential(c Credentials, transport policy.Transporter) (azcore.TokenCredential, error) {
	opts := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: c.authorityHost()},
		Transport: transport,
		// One attempt per call: the client's own retry loop decides, with the environment's
		// budget, and a token endpoint outage is reported instead of hidden in sleeps.
		Retry: policy.RetryOptions{MaxRetries: -1},
	}
	// Instance discovery asks login.microsoftonline.com about the authority, which a
	// sovereign, private or test authority is not known to.
	custom := strings.TrimSpace(c.AuthorityHost) != "" &&
		!strings.EqualFold(c.authorityHost(), cloud.AzurePublic.ActiveDirectoryAuthorityHost)
	switch c.Type {
	case AuthClientSecret:
		return azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: custom})
	case AuthCertificate:
		certs, key, err := azidentity.ParseCertificates(append(append([]byte{}, c.CertificatePEM...), append([]byte("\n"), c.PrivateKeyPEM...)...), nil)
		if err != nil {
			// ParseCertificates' text names the problem, never the key material.
			return nil, newError("", ReasonAuthenticationFailed, 0, "InvalidCertificate", clean(err.Error(), maxMessageLen), nil)
		}
		return azidentity.NewClientCertificateCredential(c.TenantID, c.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: custom})
	case AuthWorkloadIdentity:
		if c.Assertion != nil {
			return azidentity.NewClientAssertionCredential(c.TenantID, c.ClientID, c.Assertion,
				&azidentity.ClientAssertionCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: custom})
		}
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, ClientID: c.ClientID, TenantID: c.TenantID, TokenFilePath: c.TokenFile,
			DisableInstanceDiscovery: custom,
		})
	case AuthOAuth, AuthOffice365:
		//nolint:staticcheck // ROPC is deprecated but is what these connection types are.
		return azidentity.NewUsernamePasswordCredential(c.tenant(), c.clientID(), c.Username, c.Password,
			&azidentity.UsernamePasswordCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: custom})
	}
	return nil, newError("", ReasonAuthenticationFailed, 0, "UnsupportedAuthenticationType", "authentication type "+string(c.Type)+" is not supported", nil)
}
