package dataverse_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

// TestADFSSignIn signs in to an on-premises environment whose identity provider is the
// simulator's AD FS, as an application (client secret, certificate) and as a user (IFD's
// password grant). AD FS refuses Entra's "<resource>/.default"; the operator must name
// the resource as "<resource>/openid".
func TestADFSSignIn(t *testing.T) {
	f := newSim(t, func(c *dataversesim.Config) {
		adfs := c.Tenants[0]
		adfs.ID = dataversesim.ADFSTenantID
		c.Tenants = append(c.Tenants, adfs)
		c.Environments[0].TenantID = dataversesim.ADFSTenantID
		c.Environments[0].Version = "9.1.0.3452"
	})
	authority := f.srv.AuthorityHost() + "adfs/"
	for _, creds := range []dataverse.Credentials{
		{Type: dataverse.AuthClientSecret, ClientID: simIntegration, ClientSecret: simIntSecret},
		{Type: dataverse.AuthCertificate, ClientID: simIntegration, CertificatePEM: f.certPEM, PrivateKeyPEM: f.keyPEM},
		{Type: dataverse.AuthOAuth, Username: simUPN, Password: simPassword},
	} {
		t.Run(string(creds.Type), func(t *testing.T) {
			creds.TenantID, creds.AuthorityHost = dataverse.TenantADFS, authority
			if _, err := f.client(t, creds).WhoAmI(context.Background()); err != nil {
				t.Fatalf("WhoAmI through AD FS: %v", err)
			}
		})
	}
	for _, r := range f.requests("Token") {
		if r.Status != http.StatusOK {
			t.Errorf("token request %s answered %d", r.Path, r.Status)
		}
	}
}
