package controllers

import (
	"context"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// federatedTokenAudience is the audience Microsoft Entra ID expects of a federated
// identity credential's token (Microsoft Learn, "Workload identity federation": the
// recommended audience api://AzureADTokenExchange), which azure-workload-identity's
// webhook also projects.
const federatedTokenAudience = "api://AzureADTokenExchange"

// federatedTokenSeconds is the lifetime asked of a service account token: the shortest
// the TokenRequest API grants (10 minutes). The token is exchanged at once.
const federatedTokenSeconds = 600

// operatorIdentitySource is the credential source of the operator's own identity.
const operatorIdentitySource = "operator"

// WorkloadIdentity is how WorkloadIdentity objects get the token they present to Entra ID.
type WorkloadIdentity struct {
	// Tokens requests service account tokens (the TokenRequest API, serviceaccounts/token).
	Tokens client.SubResourceClientConstructor
	// OperatorTokenFile is the operator's own projected service account token
	// (AZURE_FEDERATED_TOKEN_FILE).
	OperatorTokenFile string
	// AllowOperatorIdentity lets objects without serviceAccountName sign in with the
	// operator's own identity: every namespace could then act as any application that
	// trusts the operator, so only a cluster admin turns it on.
	AllowOperatorIdentity bool
}

// serviceAccountToken returns the function that asks for a fresh token of one service
// account each time Entra ID needs an assertion.
func (w WorkloadIdentity) serviceAccountToken(namespace, name string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if w.Tokens == nil {
			return "", fmt.Errorf("service account tokens are not available to the operator")
		}
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
		seconds := int64(federatedTokenSeconds)
		req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
			Audiences: []string{federatedTokenAudience}, ExpirationSeconds: &seconds,
		}}
		if err := w.Tokens.SubResource("token").Create(ctx, sa, req); err != nil {
			return "", fmt.Errorf("requesting a token of service account %s/%s: %w", namespace, name, err)
		}
		return req.Status.Token, nil
	}
}
