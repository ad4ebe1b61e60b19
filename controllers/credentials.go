package controllers

import (
	"context"
	"crypto/x509"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// Secret keys by authentication type (DESIGN section 2).
const (
	keyClientID     = "clientID"
	keyClientSecret = "clientSecret"
	keyTLSCert      = "tls.crt"
	keyTLSKey       = "tls.key"
	keyUsername     = "username"
	keyPassword     = "password"
)

// principal names who the operator signs in as, for messages.
const (
	principalIntegration = "integration user"
	principalAdmin       = "administrator"
)

// secretReader reads referenced Secrets live: the manager's client never caches them.
type secretReader struct {
	reader    client.Reader
	namespace string
	// cache holds the Secrets read in this pass, so two references to one Secret read it
	// once.
	cache map[string]*corev1.Secret
}

func (r *secretReader) get(ctx context.Context, name, purpose string) (*corev1.Secret, error) {
	if s, ok := r.cache[name]; ok {
		return s, nil
	}
	s := &corev1.Secret{}
	err := r.reader.Get(ctx, client.ObjectKey{Namespace: r.namespace, Name: name}, s)
	if apierrors.IsNotFound(err) {
		return nil, stalledOnSpec(salesv1alpha1.ReasonSecretNotFound,
			"Secret %s/%s (%s) not found: create it in the SalesConnection's namespace", r.namespace, name, purpose)
	}
	if err != nil {
		f := retrying(salesv1alpha1.ReasonRetrying, "reading Secret %s/%s failed; retrying", r.namespace, name)
		f.cause = err
		return nil, f
	}
	if r.cache == nil {
		r.cache = map[string]*corev1.Secret{}
	}
	r.cache[name] = s
	return s, nil
}

// values returns every value of the Secrets read in this pass, for redaction.
func (r *secretReader) values() []string {
	var out []string
	for _, s := range r.cache {
		for _, v := range s.Data {
			out = append(out, string(v))
		}
	}
	return out
}

// value returns a required key of a Secret. A missing or empty key names the Secret and
// the key, never a value.
func (r *secretReader) value(ctx context.Context, name, key, purpose string) ([]byte, error) {
	s, err := r.get(ctx, name, purpose)
	if err != nil {
		return nil, err
	}
	v := s.Data[key]
	if len(v) == 0 {
		return nil, stalledOnSpec(salesv1alpha1.ReasonSecretKeyMissing,
			"Secret %s/%s (%s) has no key %q: add it", r.namespace, name, purpose, key)
	}
	return v, nil
}

func (r *secretReader) optional(ctx context.Context, name, key, purpose string) (string, error) {
	s, err := r.get(ctx, name, purpose)
	if err != nil {
		return "", err
	}
	return string(s.Data[key]), nil
}

// credentialsFor builds the credentials of one principal from its Secret, or its
// service account for WorkloadIdentity.
func (r *secretReader) credentialsFor(ctx context.Context, auth *salesv1alpha1.Authentication, principal string, wi WorkloadIdentity) (dataverse.Credentials, error) {
	creds := dataverse.Credentials{TenantID: auth.TenantID, AuthorityHost: auth.AuthorityHost}
	purpose := principal + " credentials"
	secretName := ""
	if auth.SecretRef != nil {
		secretName = auth.SecretRef.Name
		creds.Source = r.namespace + "/Secret/" + secretName
	}
	need := func(key string) (string, error) {
		v, err := r.value(ctx, secretName, key, purpose)
		return string(v), err
	}
	var err error
	switch auth.Type {
	case salesv1alpha1.AuthenticationClientSecret:
		creds.Type = dataverse.AuthClientSecret
		if creds.ClientID, err = need(keyClientID); err != nil {
			return creds, err
		}
		creds.ClientSecret, err = need(keyClientSecret)
	case salesv1alpha1.AuthenticationCertificate:
		creds.Type = dataverse.AuthCertificate
		if creds.ClientID, err = need(keyClientID); err != nil {
			return creds, err
		}
		if creds.CertificatePEM, err = r.value(ctx, secretName, keyTLSCert, purpose); err != nil {
			return creds, err
		}
		creds.PrivateKeyPEM, err = r.value(ctx, secretName, keyTLSKey, purpose)
	case salesv1alpha1.AuthenticationWorkloadIdentity:
		creds.Type = dataverse.AuthWorkloadIdentity
		creds.ClientID = auth.ClientID
		if name := auth.ServiceAccountName; name != "" {
			creds.Assertion = wi.serviceAccountToken(r.namespace, name)
			creds.Source = r.namespace + "/ServiceAccount/" + name
			return creds, nil
		}
		if !wi.AllowOperatorIdentity {
			return creds, stalledOnSpec(salesv1alpha1.ReasonOperatorIdentityNotAllowed,
				"WorkloadIdentity without %s.serviceAccountName would sign in with the operator's own service account, which this operator does not allow: set it to a service account in namespace %s that the Entra application trusts (subject system:serviceaccount:%s:<name>)",
				specField(principal), r.namespace, r.namespace)
		}
		creds.TokenFile = wi.OperatorTokenFile
		creds.Source = operatorIdentitySource
		if creds.TokenFile == "" {
			return creds, stalledOnSpec(salesv1alpha1.ReasonUnsupportedAuthType,
				"WorkloadIdentity with the operator's own identity needs a federated service account token (AZURE_FEDERATED_TOKEN_FILE is not set): set serviceAccountName, or install the Azure workload identity webhook and label the operator's service account")
		}
	case salesv1alpha1.AuthenticationOAuth, salesv1alpha1.AuthenticationOffice365, salesv1alpha1.AuthenticationIFD:
		// IFD is claims-based sign-in through AD FS: a user name and password grant against
		// the AD FS authority given in authorityHost.
		creds.Type = dataverse.AuthOAuth
		if auth.Type == salesv1alpha1.AuthenticationOffice365 {
			creds.Type = dataverse.AuthOffice365
		}
		if creds.Username, err = need(keyUsername); err != nil {
			return creds, err
		}
		if creds.Password, err = need(keyPassword); err != nil {
			return creds, err
		}
		creds.ClientID, err = r.optional(ctx, secretName, keyClientID, purpose)
		if auth.Type == salesv1alpha1.AuthenticationIFD && creds.TenantID == "" {
			creds.TenantID = dataverse.TenantADFS
		}
	case salesv1alpha1.AuthenticationAD:
		return creds, stalledOnSpec(salesv1alpha1.ReasonUnsupportedAuthType,
			"authentication type AD (Windows integrated sign-in) needs NTLM, which the operator does not speak: use IFD (AD FS), OAuth or an application user")
	default:
		return creds, stalledOnSpec(salesv1alpha1.ReasonUnsupportedAuthType, "authentication type %q is not supported", auth.Type)
	}
	return creds, err
}

// specField is the spec field that holds a principal's authentication.
func specField(principal string) string {
	if principal == principalAdmin {
		return "spec.administrator"
	}
	return "spec.authentication"
}

// caBundle returns the PEM CA bundle named by spec.tls, or nil.
func (r *secretReader) caBundle(ctx context.Context, tls *salesv1alpha1.TLSConfig) ([]byte, error) {
	if tls == nil || tls.CASecretRef == nil {
		return nil, nil
	}
	ref := tls.CASecretRef
	pem, err := r.value(ctx, ref.Name, ref.Key, "CA bundle")
	if err != nil {
		return nil, err
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return nil, stalledOnSpec(salesv1alpha1.ReasonTLSError,
			"key %q of Secret %s/%s (spec.tls.caSecretRef) holds no PEM certificate: put the CA certificate there", ref.Key, r.namespace, ref.Name)
	}
	return pem, nil
}
