package main

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
)

const (
	tenantID       = "00000000-0000-0000-0000-000000000001"
	adminID        = "22222222-2222-2222-2222-222222222222"
	integrationID  = "11111111-1111-1111-1111-111111111111"
	adminSecret    = "chaos-admin-secret"
	integrationSec = "chaos-integration-secret"
)

func envName(i int) string { return fmt.Sprintf("env%02d", i) }

func (w *world) startSimulator() error {
	cfg := dataversesim.Config{Tenants: []dataversesim.TenantConfig{{ID: tenantID, Apps: []dataversesim.AppConfig{
		{ClientID: adminID, Secrets: []string{adminSecret}},
		{ClientID: integrationID, Secrets: []string{integrationSec}},
	}}}}
	for i := 0; i < w.sc.environments; i++ {
		cfg.Environments = append(cfg.Environments, dataversesim.EnvironmentConfig{
			Name: envName(i), ImportDuration: dataversesim.Duration{Duration: 5 * time.Second},
			SystemUsers: []dataversesim.SystemUserConfig{
				{FullName: "Admin", ApplicationID: adminID, Roles: []string{"System Administrator"}},
				{FullName: "Integration", InternalEmailAddress: "svc@contoso.com", ApplicationID: integrationID, Roles: []string{"Basic User"}},
			},
		})
	}
	var err error
	if w.sim, err = dataversesim.New(cfg); err != nil {
		return err
	}
	return w.sim.Start("127.0.0.1:0")
}

// prepareNamespaces creates a namespace per environment with its Secrets and the
// solution package, and the operator's own namespace.
func (w *world) prepareNamespaces(ctx context.Context) error {
	pkg, err := solution.Build(solution.Package{UniqueName: "MicrosoftDynamicsNavIntegration", Version: "25.0.1.0", Managed: true})
	if err != nil {
		return err
	}
	objs := []client.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: leaseNamespace}}}
	for i := 0; i < w.sc.environments; i++ {
		ns := "chaos-" + envName(i)
		objs = append(objs,
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca"}, Data: map[string][]byte{"ca.crt": w.sim.CACertPEM()}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "admin"}, StringData: map[string]string{"clientID": adminID, "clientSecret": adminSecret}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "integration"}, StringData: map[string]string{"clientID": integrationID, "clientSecret": integrationSec}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "solution"}, BinaryData: map[string][]byte{"solution.zip": pkg}},
		)
	}
	for _, o := range objs {
		if err := w.cp.Client.Create(ctx, o); err != nil {
			return fmt.Errorf("creating %s: %w", o.GetName(), err)
		}
	}
	return nil
}

// createConnections creates the SalesConnections, each asking for everything.
func (w *world) createConnections(ctx context.Context) error {
	for i := 0; i < w.sc.connections; i++ {
		env := i % w.sc.environments
		auth := func(secret string) salesv1alpha1.Authentication {
			return salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationClientSecret, TenantID: tenantID,
				AuthorityHost: w.sim.AuthorityHost(), SecretRef: &salesv1alpha1.LocalObjectReference{Name: secret}}
		}
		admin := auth("admin")
		sc := &salesv1alpha1.SalesConnection{
			ObjectMeta: metav1.ObjectMeta{Namespace: "chaos-" + envName(env), Name: fmt.Sprintf("sc-%03d", i)},
			Spec: salesv1alpha1.SalesConnectionSpec{
				Enabled: ptr.To(true), URL: w.sim.EnvironmentURL(envName(env)), Authentication: auth("integration"), Administrator: &admin,
				TLS:                   &salesv1alpha1.TLSConfig{CASecretRef: &salesv1alpha1.KeyReference{Name: "ca", Key: "ca.crt"}},
				IntegrationSolution:   &salesv1alpha1.IntegrationSolution{Import: true, PackageRef: &salesv1alpha1.KeyReference{Name: "solution", Key: "solution.zip"}},
				BusinessCentral:       &salesv1alpha1.BusinessCentral{WebClientURL: "https://businesscentral.dynamics.com/t/Production", Company: fmt.Sprintf("Company %03d", i)},
				SalesOrderIntegration: &salesv1alpha1.SalesOrderIntegration{Enabled: true},
			},
		}
		if err := w.cp.Client.Create(ctx, sc); err != nil {
			return err
		}
	}
	return nil
}
