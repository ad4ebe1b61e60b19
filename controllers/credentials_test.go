package controllers

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

func TestCredentialsComeFromTheKeysOfEachType(t *testing.T) {
	secret := func(data map[string]string) *corev1.Secret {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "erp", Name: "creds"}, Data: map[string][]byte{}}
		for k, v := range data {
			s.Data[k] = []byte(v)
		}
		return s
	}
	ref := &salesv1alpha1.LocalObjectReference{Name: "creds"}
	cases := []struct {
		name     string
		auth     salesv1alpha1.Authentication
		secret   *corev1.Secret
		wi       WorkloadIdentity
		wantType dataverse.AuthType
		// wantSource is the token cache's idea of where the credentials come from.
		wantSource string
		// wantReason and says describe a refusal.
		wantReason salesv1alpha1.Reason
		says       string
	}{
		{name: "client secret", auth: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationClientSecret, SecretRef: ref},
			secret: secret(map[string]string{"clientID": "id", "clientSecret": "s3cret-value"}), wantType: dataverse.AuthClientSecret, wantSource: "erp/Secret/creds"},
		{name: "client secret without its key", auth: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationClientSecret, SecretRef: ref},
			secret: secret(map[string]string{"clientID": "id"}), wantReason: salesv1alpha1.ReasonSecretKeyMissing, says: `Secret erp/creds (integration user credentials) has no key "clientSecret"`},
		{name: "certificate", auth: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationCertificate, SecretRef: ref},
			secret: secret(map[string]string{"clientID": "id", "tls.crt": "c", "tls.key": "k"}), wantType: dataverse.AuthCertificate},
		{name: "password", auth: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationOAuth, SecretRef: ref},
			secret: secret(map[string]string{"username": "u@contoso.com", "password": "pw-value"}), wantType: dataverse.AuthOAuth},
		{name: "Office365", auth: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationOffice365, SecretRef: ref},
			secret: secret(map[string]string{"username": "u@contoso.com", "password": "pw-value"}), wantType: dataverse.AuthOffice365},
		{name: "no Secret", auth: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationClientSecret, SecretRef: ref},
			wantReason: salesv1alpha1.ReasonSecretNotFound, says: "Secret erp/creds (integration user credentials) not found"},
		{name: "AD is not spoken", auth: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationAD, SecretRef: ref},
			wantReason: salesv1alpha1.ReasonUnsupportedAuthType, says: "NTLM"},
		{name: "workload identity with the operator's identity, by default", auth: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationWorkloadIdentity, ClientID: "id"},
			wi:         WorkloadIdentity{OperatorTokenFile: "/var/run/token"},
			wantReason: salesv1alpha1.ReasonOperatorIdentityNotAllowed, says: "set it to a service account in namespace erp"},
		{name: "workload identity with the operator's identity, allowed, without a token", auth: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationWorkloadIdentity, ClientID: "id"},
			wi:         WorkloadIdentity{AllowOperatorIdentity: true},
			wantReason: salesv1alpha1.ReasonUnsupportedAuthType, says: "AZURE_FEDERATED_TOKEN_FILE"},
		{name: "workload identity with the operator's identity, allowed", auth: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationWorkloadIdentity, ClientID: "id"},
			wi:       WorkloadIdentity{AllowOperatorIdentity: true, OperatorTokenFile: "/var/run/token"},
			wantType: dataverse.AuthWorkloadIdentity, wantSource: "operator"},
		{name: "workload identity with the namespace's service account", auth: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationWorkloadIdentity, ClientID: "id", ServiceAccountName: "bc-sync"},
			wantType: dataverse.AuthWorkloadIdentity, wantSource: "erp/ServiceAccount/bc-sync"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kube := newMemKube()
			if tc.secret != nil {
				kube = newMemKube(tc.secret)
			}
			r := &secretReader{reader: kube, namespace: "erp"}
			creds, err := r.credentialsFor(context.Background(), &tc.auth, principalIntegration, tc.wi)
			if tc.wantReason == "" {
				if err != nil || creds.Type != tc.wantType {
					t.Fatalf("credentials %v, %v; want type %v", creds.Type, err, tc.wantType)
				}
				if tc.wantSource != "" && creds.Source != tc.wantSource {
					t.Errorf("source = %q, want %q", creds.Source, tc.wantSource)
				}
				if tc.auth.ServiceAccountName != "" && (creds.Assertion == nil || creds.TokenFile != "") {
					t.Error("a service account's credentials do not use its token")
				}
				return
			}
			f := asFailure(err)
			if f == nil || f.reason != tc.wantReason || !f.terminal || !f.watched || !strings.Contains(f.message, tc.says) {
				t.Fatalf("failure %+v, want %s (stalled until the Secret or spec changes) saying %q", f, tc.wantReason, tc.says)
			}
			for _, v := range []string{"s3cret-value", "pw-value"} {
				if strings.Contains(f.Error(), v) {
					t.Errorf("the failure shows a secret value: %s", f.Error())
				}
			}
		})
	}
}

// TestReferencesStayInTheObjectsNamespace: a reference names a Secret of the
// SalesConnection's own namespace only; a Secret of that name in another namespace is
// never read.
func TestReferencesStayInTheObjectsNamespace(t *testing.T) {
	theirs := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "other-team", Name: "creds"},
		Data: map[string][]byte{"clientID": []byte("id"), "clientSecret": []byte("their-s3cret")}}
	r := &secretReader{reader: newMemKube(theirs), namespace: "erp"}
	auth := salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationClientSecret, SecretRef: &salesv1alpha1.LocalObjectReference{Name: "creds"}}
	creds, err := r.credentialsFor(context.Background(), &auth, principalIntegration, WorkloadIdentity{})
	f := asFailure(err)
	if f == nil || f.reason != salesv1alpha1.ReasonSecretNotFound || !strings.Contains(f.message, "erp/creds") || creds.ClientSecret != "" {
		t.Fatalf("credentials %v, failure %+v; want SecretNotFound for erp/creds and nothing of other-team's", creds, f)
	}
}
