package controllers

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
	"github.com/bcconnect/salesconnection-operator/internal/envurl"
)

// systemAdministratorTemplate is the role template of System Administrator in every
// business unit. Business Central refuses an integration user that holds it.
const systemAdministratorTemplate = "627090ff-40a3-4053-8790-584edc5be201"

// codeUserDisabled is Dataverse's answer to any request of a disabled user.
const codeUserDisabled = "0x80040225"

// resolveURL normalizes spec.url into status.url.
func (r *Reconciler) resolveURL(_ context.Context, s *scope) (plan, outcome) {
	u, err := envurl.Normalize(s.obj.Spec.URL)
	if err != nil {
		return plan{}, failed(stalledOnSpec(salesv1alpha1.ReasonInvalidURL, "spec.url is not usable: %v", err))
	}
	s.envURL = u
	s.obj.Status.URL = u
	return plan{}, done()
}

// resolveClients reads the Secrets and builds the Dataverse clients of both principals.
func (r *Reconciler) resolveClients(ctx context.Context, s *scope) (plan, outcome) {
	// A window an earlier process was given holds this one's requests too.
	if err := r.Throttles.load(ctx); err != nil {
		f := retrying(salesv1alpha1.ReasonRetrying, "reading the Dataverse throttle windows kept by an earlier operator process failed; retrying")
		f.cause = err
		return plan{}, failed(f)
	}
	ca, err := s.secrets.caBundle(ctx, s.obj.Spec.TLS)
	if err != nil {
		return plan{}, failed(err)
	}
	s.caBundle = ca
	creds, err := s.secrets.credentialsFor(ctx, &s.obj.Spec.Authentication, principalIntegration, r.WorkloadIdentity)
	if err != nil {
		return plan{}, failed(err)
	}
	integration, err := r.Dataverse.Client(s.envURL, creds, ca)
	if err != nil {
		return plan{}, failed(unusableClient(s.integrationRef(), err))
	}
	s.integration = integration
	s.integrationKey = s.obj.Namespace + "|" + s.envURL + "|" + creds.Fingerprint()
	if s.obj.Spec.Administrator == nil {
		return plan{}, done()
	}
	adminCreds, err := s.secrets.credentialsFor(ctx, s.obj.Spec.Administrator, principalAdmin, r.WorkloadIdentity)
	if err != nil {
		return plan{}, failed(err)
	}
	admin, err := r.Dataverse.Client(s.envURL, adminCreds, ca)
	if err != nil {
		return plan{}, failed(unusableClient(s.adminRef(), err))
	}
	s.admin = admin
	return plan{}, done()
}

// unusableClient is why no client could be made for a principal: a destination not on
// the allowlists, or credentials that cannot be used.
func unusableClient(who credentialRef, err error) *failure {
	if dataverse.ReasonOf(err) == dataverse.ReasonDestinationNotAllowed {
		return fromDataverse("signing in as the "+who.who, who, err)
	}
	return stalledOnSpec(salesv1alpha1.ReasonAuthenticationFailed, "the %s's credentials are unusable: %s", who.who, boundedText(err.Error(), maxMessageLength))
}

// testConnection is "Test Connection": sign in as the integration user, WhoAmI,
// RetrieveVersion against sdkVersion, and the integration user's requirements. It only
// reads. Who the principal is and the server's version are read again only on a first
// verification, a requested Test Connection, or after an hour: a steady pass reads the
// user with its roles, which signs in and reaches the server as well.
func (r *Reconciler) testConnection(ctx context.Context, s *scope) (plan, outcome) {
	info, known := r.principals.get(s.integrationKey)
	if !known || !s.wasTrue(salesv1alpha1.ConditionConnectionVerified) || s.requestedTestConnection() {
		var o outcome
		if info, o = r.identify(ctx, s); !o.isDone() {
			return plan{}, o
		}
	}
	who := info.who
	s.whoAmI = who
	s.obj.Status.OrganizationID = boundedText(who.OrganizationID, maxVersionLength)
	s.obj.Status.ServerVersion = boundedText(info.version, maxVersionLength)
	if err := checkVersion(s.obj.Spec.SDKVersion, s.obj.Status.ServerVersion, envurl.IsOnline(s.envURL)); err != nil {
		return plan{}, failed(stalledOnSpec(salesv1alpha1.ReasonVersionIncompatible, "%v", err))
	}

	user, err := s.integration.GetSystemUser(ctx, who.UserID)
	if err != nil {
		// Whatever was cached is checked again next time.
		r.principals.forget(s.integrationKey)
		return plan{}, failed(fromIntegrationUser("reading the integration user", s, err))
	}
	s.user = user
	s.obj.Status.IntegrationUser = &salesv1alpha1.IntegrationUserStatus{
		ID: boundedText(user.ID, maxVersionLength), Name: userName(user), BusinessUnitID: boundedText(who.BusinessUnitID, maxVersionLength),
	}
	if user.IsDisabled {
		return plan{}, failed(stalledInDataverse(salesv1alpha1.ReasonUserDisabled,
			"the integration user %s is disabled in Dataverse: enable it, or sign in as another user", userName(user)))
	}
	s.userRoles = user.Roles
	for _, role := range user.Roles {
		if strings.EqualFold(role.RoleTemplateID, systemAdministratorTemplate) {
			return plan{}, failed(stalledInDataverse(salesv1alpha1.ReasonUserIsSysAdmin,
				"the integration user %s holds the System Administrator role, which Business Central does not allow for the integration user: remove the role or use another user", userName(user)))
		}
	}

	if !s.wasTrue(salesv1alpha1.ConditionConnectionVerified) || s.requestedTestConnection() {
		now := metav1.Now()
		s.obj.Status.LastVerifiedTime = &now
	}
	return plan{then: conditionTrue(salesv1alpha1.ReasonVerified,
		fmt.Sprintf("signed in to %s (version %s) as %s", s.envURL, s.obj.Status.ServerVersion, userName(user)))}, done()
}

// identify asks Dataverse who the integration principal is and the server's version,
// and remembers both.
func (r *Reconciler) identify(ctx context.Context, s *scope) (principalInfo, outcome) {
	// The version first: it tells the client which Web API version the server serves.
	version, err := s.integration.RetrieveVersion(ctx)
	if err != nil {
		return principalInfo{}, failed(fromIntegrationUser("reading the server version", s, err))
	}
	who, err := s.integration.WhoAmI(ctx)
	if err != nil {
		return principalInfo{}, failed(fromIntegrationUser("testing the connection (WhoAmI)", s, err))
	}
	info := principalInfo{who: who, version: version}
	r.principals.put(s.integrationKey, info)
	return info, done()
}

// fromIntegrationUser is fromDataverse for requests the integration user makes: Dataverse
// refuses every request of a disabled user with one code.
func fromIntegrationUser(doing string, s *scope, err error) *failure {
	if dataverseCode(err) == codeUserDisabled {
		return stalledInDataverse(salesv1alpha1.ReasonUserDisabled,
			"the integration user is disabled in Dataverse: enable it, or sign in as another user")
	}
	return fromDataverse(doing, s.integrationRef(), err)
}

// userName is how a person recognizes the user: its email, domain name or full name.
func userName(u dataverse.SystemUser) string {
	for _, n := range []string{u.InternalEmailAddress, u.DomainName, u.FullName, u.ID} {
		if n != "" {
			return boundedText(n, maxNameLength)
		}
	}
	return ""
}

// checkVersion applies Business Central's rules. The server must be a supported
// Dataverse version (major above 6 and not 7.1: CRMConnectionSetup.IsVersionValid). The
// SDK version is informational for online servers: Business Central's documentation
// calls the field "relevant only if you're integrating with an on-premises version"
// (and Business Central online always uses the ServiceClient: GetProxyVersion returns
// 100 on SaaS). On premises it must be at least the server's
// major.minor ("equal to or newer than the version used by Sales", the same page; Business
// Central's code does not check it). The proxy ids of its "SDK Version" list are read as
// 9 = 9.0, 91 = 9.1 (its BC 21 upgrade turns 9 into 91), 100 = the ServiceClient, newer
// than any server, and 8 = 8.2 (the v8 solution package; a guess [I]).
func checkVersion(sdkVersion, serverVersion string, online bool) error {
	major, minor, err := majorMinor(serverVersion)
	if err != nil {
		return fmt.Errorf("the server reports version %q, which cannot be read", serverVersion)
	}
	if major <= 6 || (major == 7 && minor == 1) {
		return fmt.Errorf("the server version %s is not supported by Business Central: use Dynamics 365 (8.0 or later)", serverVersion)
	}
	if sdkVersion == "" || online {
		return nil
	}
	sdkMajor, sdkMinor, err := sdkMajorMinor(sdkVersion)
	if err != nil {
		return fmt.Errorf("spec.sdkVersion %q is neither major.minor nor a Business Central proxy version id", sdkVersion)
	}
	if sdkMajor < major || (sdkMajor == major && sdkMinor < minor) {
		return fmt.Errorf("spec.sdkVersion %s is older than the on-premises server's %d.%d: set sdkVersion to %d.%d or later (or 100)", sdkVersion, major, minor, major, minor)
	}
	return nil
}

// sdkMajorMinor reads an SDK version: major.minor or a Business Central proxy id.
func sdkMajorMinor(v string) (int, int, error) {
	switch v {
	case "8":
		return 8, 2, nil
	case "9":
		return 9, 0, nil
	case "91":
		return 9, 1, nil
	case "100":
		return 100, 0, nil
	}
	return majorMinor(v)
}

func majorMinor(v string) (int, int, error) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("version %q has no minor part", v)
	}
	major, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0, 0, err
	}
	minor, err := strconv.Atoi(parts[1])
	if err != nil {
		return 0, 0, err
	}
	return major, minor, nil
}
