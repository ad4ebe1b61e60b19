package e2etest

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

// TestWorkloadIdentityIsPerNamespace: a WorkloadIdentity SalesConnection signs in with a
// token of a service account of its own namespace, which the API server issues (the
// TokenRequest API) and the application trusts by subject. Another namespace naming the
// same application and a service account of the same name is refused: client ids are not
// secret, a namespace's service account is. Without serviceAccountName, the operator's
// own identity is refused unless the cluster admin allowed it.
func TestWorkloadIdentityIsPerNamespace(t *testing.T) {
	issuer, signerPEM, err := env.ServiceAccountIssuer()
	if err != nil {
		t.Fatal(err)
	}
	trusted, other := newNamespace(t), newNamespace(t)
	a := newFixtureIn(t, trusted, func(c *dataversesim.Config) {
		apps := c.Tenants[0].Apps
		for i := range apps {
			if apps[i].ClientID == integrationAppID {
				apps[i].FederatedCredentials = []dataversesim.FederatedCredential{{
					Issuer: issuer, Subject: "system:serviceaccount:" + trusted + ":bc-sync", PublicKeyPEM: string(signerPEM),
				}}
			}
		}
	})
	b := &fixture{t: t, ns: other, sim: a.sim}
	a.standardSecrets()
	b.standardSecrets()
	workloadIdentity := func(f *fixture, serviceAccount string) salesv1alpha1.SalesConnectionSpec {
		spec := f.fullSpec()
		spec.Authentication = salesv1alpha1.Authentication{
			Type: salesv1alpha1.AuthenticationWorkloadIdentity, TenantID: tenantID, AuthorityHost: f.sim.authority,
			ClientID: integrationAppID, ServiceAccountName: serviceAccount,
		}
		return spec
	}
	for _, ns := range []string{trusted, other} {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bc-sync"}}
		if err := k8s.Create(context.Background(), sa); err != nil {
			t.Fatal(err)
		}
	}

	a.create("contoso", workloadIdentity(a, "bc-sync"))
	sc := waitReady(t, trusted, "contoso")
	if sc.Status.IntegrationUser == nil || sc.Status.IntegrationUser.ID != a.sim.integrationUserID {
		t.Errorf("signed in as %+v, want the integration application user", sc.Status.IntegrationUser)
	}

	b.create("contoso", workloadIdentity(b, "bc-sync"))
	refused := waitForCondition(t, other, "contoso", salesv1alpha1.ConditionConnectionVerified, metav1.ConditionFalse, salesv1alpha1.ReasonAuthenticationFailed)
	if c := refused.Status.GetCondition(salesv1alpha1.ConditionConnectionVerified); !strings.Contains(c.Message, "AADSTS70021") {
		t.Errorf("ConnectionVerified = %q, want Entra ID's refusal of the other namespace's token", c.Message)
	}

	b.create("ambient", workloadIdentity(b, ""))
	ambient := waitForCondition(t, other, "ambient", salesv1alpha1.ConditionConnectionVerified, metav1.ConditionFalse, salesv1alpha1.ReasonOperatorIdentityNotAllowed)
	if c := ambient.Status.GetCondition(salesv1alpha1.ConditionConnectionVerified); !strings.Contains(c.Message, "serviceAccountName") {
		t.Errorf("ConnectionVerified = %q, want it to name serviceAccountName", c.Message)
	}
}
