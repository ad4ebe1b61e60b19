package controllers

import (
	"context"

	"github.com/go-logr/logr"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// scope is one reconcile pass: the object, what was resolved for it, and what the steps
// found that later steps need. How the pass ends is not kept here: each step returns its
// outcome.
type scope struct {
	obj *salesv1alpha1.SalesConnection
	log logr.Logger

	// before is the status the pass started from, to detect transitions and drift.
	before salesv1alpha1.SalesConnectionStatus

	secrets  *secretReader
	envURL   string
	caBundle []byte
	// integration signs in as the integration user; admin as the administrator (nil
	// when the spec names none).
	integration dataverseAPI
	admin       dataverseAPI
	// integrationKey names the integration principal in caches: namespace, environment
	// and a fingerprint of its credentials.
	integrationKey string

	whoAmI    dataverse.WhoAmI
	user      dataverse.SystemUser
	userRoles []dataverse.Role
	// solutionInstalled is true once the integration solution is in the environment, so
	// its roles and the nav_connection entity exist.
	solutionInstalled bool
}

// dataverseAPI is every Dataverse call the steps make, as *dataverse.Client makes them.
// Unit tests of the steps answer it from memory.
type dataverseAPI interface {
	WhoAmI(ctx context.Context) (dataverse.WhoAmI, error)
	RetrieveVersion(ctx context.Context) (string, error)
	// GetSystemUser reads a user with the roles it holds.
	GetSystemUser(ctx context.Context, id string) (dataverse.SystemUser, error)
	FindUsersByEmail(ctx context.Context, emails []string) ([]dataverse.SystemUser, error)
	FindUsersByDomainName(ctx context.Context, names []string) ([]dataverse.SystemUser, error)
	PrepareUser(ctx context.Context, id string, p dataverse.UserPreparation) error

	GetSolution(ctx context.Context, uniqueName string) (*dataverse.Solution, error)
	RunningImports(ctx context.Context) ([]dataverse.ImportJob, error)
	ImportSolutionAsync(ctx context.Context, pkg []byte) (dataverse.ImportHandle, error)
	GetAsyncOperation(ctx context.Context, id string) (dataverse.AsyncOperation, error)
	GetImportResult(ctx context.Context, importJobKey string) (dataverse.ImportResult, error)

	FindBusinessUnitRole(ctx context.Context, rootRoleID, businessUnitID string) (dataverse.Role, error)
	FindRoleByName(ctx context.Context, name, businessUnitID string) (dataverse.Role, error)
	AssociateRole(ctx context.Context, userID, roleID string) error
	DisassociateRole(ctx context.Context, userID, roleID string) error

	FindNavConnection(ctx context.Context, name string) (*dataverse.NavConnection, error)
	CreateNavConnection(ctx context.Context, n dataverse.NavConnection) (string, error)
	UpdateNavConnection(ctx context.Context, id string, n dataverse.NavConnection) error
	DeleteNavConnection(ctx context.Context, id string) error

	GetOrganization(ctx context.Context) (dataverse.Organization, error)
	SetSOPIntegration(ctx context.Context, orgID string, enabled bool) error
	HasSubmittedSalesOrders(ctx context.Context) (bool, error)
}

var _ dataverseAPI = (*dataverse.Client)(nil)

func (s *scope) observing() bool { return s.obj.Spec.Observing() }

// wasTrue reports whether a condition was True for the current generation before this
// pass: a write then is a repair of drift, not a first configuration.
func (s *scope) wasTrue(t salesv1alpha1.ConditionType) bool {
	c := s.before.GetCondition(t)
	return c != nil && c.Status == "True" && c.ObservedGeneration == s.obj.Generation
}

// requestedTestConnection reports whether the requested-at annotation asks for a new
// Test Connection that this object has not answered yet.
func (s *scope) requestedTestConnection() bool {
	v := s.obj.Annotations[salesv1alpha1.AnnotationRequestedAt]
	return v != "" && v != s.before.LastHandledRequestedAt
}

// integrationRef and adminRef describe the two principals for messages.
func (s *scope) integrationRef() credentialRef {
	return credentialRef{who: principalIntegration, secret: s.secretName(&s.obj.Spec.Authentication)}
}

func (s *scope) adminRef() credentialRef {
	if s.obj.Spec.Administrator == nil {
		return credentialRef{who: principalAdmin}
	}
	return credentialRef{who: principalAdmin, secret: s.secretName(s.obj.Spec.Administrator)}
}

func (s *scope) secretName(a *salesv1alpha1.Authentication) string {
	if a.SecretRef == nil {
		return ""
	}
	return s.obj.Namespace + "/" + a.SecretRef.Name
}
