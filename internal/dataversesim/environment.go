package dataversesim

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/bcconnect/salesconnection-operator/internal/solution"
)

// Fixed ids Dataverse and Business Central share in every environment.
const (
	SystemAdministratorTemplateID = "627090ff-40a3-4053-8790-584edc5be201"
	IntegrationAdministratorID    = "8c8d4f51-a72b-e511-80d9-3863bb349780"
	IntegrationUserID             = "6f960e32-a72b-e511-80d9-3863bb349780"
	IntegrationSolutionName       = "MicrosoftDynamicsNavIntegration"
	basicUserTemplateID           = "d0c1e7b3-4a4b-4f30-8a6e-1b2d6b6c7e11"
)

// Role is a security role in one business unit.
type Role struct {
	ID, Name, BusinessUnitID, ParentRootRoleID, RoleTemplateID string
}

// User is a systemuser.
type User struct {
	ID, FullName, InternalEmailAddress, DomainName, ApplicationID, BusinessUnitID string
	Disabled                                                                      bool
	Roles                                                                         map[string]bool
	// What Business Central prepares on its integration user: isintegrationuser,
	// invitestatuscode (4 InvitationAccepted), accessmode (0 Read-Write, 4
	// Non-interactive), and whether a license is assigned.
	IsIntegrationUser bool
	InviteStatusCode  int
	AccessMode        int
	Unlicensed        bool
}

// Solution is an installed solution.
type Solution struct {
	ID, UniqueName, FriendlyName, Version string
	Managed                               bool
	InstalledOn                           time.Time
}

// NavConnection is a nav_connection row.
type NavConnection struct {
	ID, Name, URL, ODataURL, ODataUsername, ODataAccessKey string
}

type asyncOperation struct {
	id, importJobKey string
	stateCode        int
	statusCode       int
	message          string
	errors           []string
	completedOn      time.Time
}

// importJob is the importjob record an import writes: what anyone can read to see that
// an import runs, whoever started it.
type importJob struct {
	id, solutionName       string
	createdOn, completedOn time.Time
	// abandoned: the job's operation died without completing it; the row stays, but
	// nothing runs.
	abandoned bool
}

// Environment is one simulated Dataverse environment. Its methods are safe for
// concurrent use; tests use them to change things "by hand".
type Environment struct {
	name    string
	version string
	// tenantID is the only tenant whose tokens the environment accepts.
	tenantID string

	mu             sync.Mutex
	orgID          string
	rootBU         string
	businessUnits  map[string]string // id → name
	roles          map[string]*Role
	users          map[string]*User
	solutions      map[string]*Solution // by lower-case unique name
	asyncOps       map[string]*asyncOperation
	importJobs     map[string]*importJob
	navConnections map[string]*NavConnection
	sopEnabled     bool
	salesOrders    []int // statecodes
	importDuration time.Duration
	failImports    string
	// jobRetention, when set, is how long a completed async operation is kept before
	// it is deleted, as Dataverse's bulk deletion of completed system jobs does.
	jobRetention *time.Duration
	// heldImports are completions waiting for ReleaseImports.
	heldImports []func()
	holdImports bool
	// releaseBefore: the operation whose next request first lets held imports complete.
	releaseBefore string
	faults        *Faults
	// rootRoleRefEmpty: root business unit roles leave _parentrootroleid_value empty.
	rootRoleRefEmpty bool
}

func newEnvironment(cfg EnvironmentConfig) (*Environment, error) {
	if cfg.Name == "" || strings.ContainsAny(cfg.Name, "/?# ") {
		return nil, fmt.Errorf("environment name %q must be a single path segment", cfg.Name)
	}
	e := &Environment{
		name: cfg.Name, version: cfg.Version, orgID: cfg.OrganizationID,
		businessUnits: map[string]string{}, roles: map[string]*Role{}, users: map[string]*User{},
		solutions: map[string]*Solution{}, asyncOps: map[string]*asyncOperation{}, importJobs: map[string]*importJob{}, navConnections: map[string]*NavConnection{},
		sopEnabled: cfg.SOPIntegration, importDuration: cfg.ImportDuration.Duration, faults: newFaults(),
	}
	switch cfg.RootRoleParentRef {
	case "", "self":
	case "empty":
		e.rootRoleRefEmpty = true
	default:
		return nil, fmt.Errorf("rootRoleParentRef %q: want self or empty", cfg.RootRoleParentRef)
	}
	if err := cfg.Faults.validate(); err != nil {
		return nil, err
	}
	e.faults.latency = cfg.Latency.Duration
	for status, fraction := range cfg.Faults.ErrorRates {
		e.faults.SetErrorRate(status, fraction)
	}
	if t := cfg.Faults.Throttle; t != nil {
		e.faults.ThrottleAfter(t.Requests, t.Window.Duration, t.RetryAfter.Duration)
	}
	e.failImports = cfg.Faults.FailImports
	if e.version == "" {
		e.version = "9.2.24101.140"
	}
	if _, _, ok := parseMajorMinor(e.version); !ok {
		return nil, fmt.Errorf("version %q: want major.minor.build.revision, for example 9.1.0.1234", e.version)
	}
	if e.orgID == "" {
		e.orgID = newID()
	}
	if e.importDuration <= 0 {
		e.importDuration = 500 * time.Millisecond
	}
	bus := cfg.BusinessUnits
	if len(bus) == 0 {
		bus = []BusinessUnitConfig{{Name: cfg.Name}}
	}
	for i, bu := range bus {
		id := strings.ToLower(bu.ID)
		if id == "" {
			id = newID()
		}
		e.businessUnits[id] = bu.Name
		if i == 0 {
			e.rootBU = id
		}
	}
	// The built-in roles, copied into every business unit.
	e.addRootRole(newID(), "System Administrator", SystemAdministratorTemplateID)
	e.addRootRole(newID(), "Basic User", basicUserTemplateID)
	for _, s := range cfg.Solutions {
		if err := e.install(s.UniqueName, s.UniqueName, s.Version, s.Managed); err != nil {
			return nil, err
		}
	}
	for i := 0; i < cfg.SubmittedSalesOrders; i++ {
		e.salesOrders = append(e.salesOrders, 1)
	}
	for _, u := range cfg.SystemUsers {
		if _, err := e.AddUser(u); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// addRootRole creates a role in the root business unit, with id rootID, and a copy with
// its own id in every other business unit, as Dataverse does.
func (e *Environment) addRootRole(rootID, name, template string) {
	for bu := range e.businessUnits {
		id := rootID
		if bu != e.rootBU {
			id = newID()
		}
		parent := rootID
		if bu == e.rootBU && e.rootRoleRefEmpty {
			parent = ""
		}
		e.roles[id] = &Role{ID: id, Name: name, BusinessUnitID: bu, ParentRootRoleID: parent, RoleTemplateID: template}
	}
}

// install records a solution and what it brings.
func (e *Environment) install(uniqueName, friendly, version string, managed bool) error {
	if _, err := solution.ParseVersion(version); err != nil {
		return err
	}
	key := strings.ToLower(uniqueName)
	sol, ok := e.solutions[key]
	if !ok {
		sol = &Solution{ID: newID(), UniqueName: uniqueName}
		e.solutions[key] = sol
	}
	sol.FriendlyName, sol.Version, sol.Managed, sol.InstalledOn = friendly, version, managed, time.Now().UTC()
	if strings.EqualFold(uniqueName, IntegrationSolutionName) && !e.hasRoleLocked(IntegrationAdministratorID) {
		e.addRootRole(IntegrationAdministratorID, "Integration Administrator", "")
		e.addRootRole(IntegrationUserID, "Integration User", "")
	}
	return nil
}

func (e *Environment) hasRoleLocked(id string) bool {
	_, ok := e.roles[id]
	return ok
}

// integrationInstalled reports whether the nav_connection entity exists.
func (e *Environment) integrationInstalled() bool {
	_, ok := e.solutions[strings.ToLower(IntegrationSolutionName)]
	return ok
}

// AddUser adds a systemuser, with roles by name in its business unit.
func (e *Environment) AddUser(cfg SystemUserConfig) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := strings.ToLower(cfg.ID)
	if id == "" {
		id = newID()
	}
	bu := e.rootBU
	if cfg.BusinessUnit != "" {
		bu = ""
		for buID, name := range e.businessUnits {
			if name == cfg.BusinessUnit {
				bu = buID
			}
		}
		if bu == "" {
			return "", fmt.Errorf("user %s: business unit %q does not exist", id, cfg.BusinessUnit)
		}
	}
	u := &User{ID: id, FullName: cfg.FullName, InternalEmailAddress: cfg.InternalEmailAddress, DomainName: cfg.DomainName,
		ApplicationID: strings.ToLower(cfg.ApplicationID), BusinessUnitID: bu, Disabled: cfg.Disabled, Roles: map[string]bool{},
		IsIntegrationUser: cfg.IntegrationUser, AccessMode: cfg.AccessMode, Unlicensed: cfg.Unlicensed, InviteStatusCode: 4}
	if cfg.InvitationPending {
		u.InviteStatusCode = 1 // Invited
	}
	if u.ApplicationID != "" {
		// Application users are non-interactive and need no license.
		u.AccessMode, u.Unlicensed = 4, true
	}
	if u.FullName == "" {
		u.FullName = cfg.InternalEmailAddress
	}
	for _, name := range cfg.Roles {
		role := e.roleByNameLocked(name, bu)
		if role == nil {
			return "", fmt.Errorf("user %s: role %q does not exist in its business unit", id, name)
		}
		u.Roles[role.ID] = true
	}
	e.users[id] = u
	return id, nil
}

func (e *Environment) roleByNameLocked(name, bu string) *Role {
	for _, r := range e.roles {
		if strings.EqualFold(r.Name, name) && r.BusinessUnitID == bu {
			return r
		}
	}
	return nil
}

// TenantID is the Entra ID tenant the environment belongs to.
func (e *Environment) TenantID() string { return e.tenantID }

// OrganizationID is the organization's id.
func (e *Environment) OrganizationID() string { return e.orgID }

// Faults are the environment's fault knobs.
func (e *Environment) Faults() *Faults { return e.faults }

// UserByApplicationID returns the application user of a client id.
func (e *Environment) UserByApplicationID(appID string) (User, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, u := range e.users {
		if strings.EqualFold(u.ApplicationID, appID) {
			return copyUser(u), true
		}
	}
	return User{}, false
}

// UserRoles returns the names of a user's roles, sorted.
func (e *Environment) UserRoles(userID string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[strings.ToLower(userID)]
	if !ok {
		return nil
	}
	var names []string
	for id := range u.Roles {
		if r, ok := e.roles[id]; ok {
			names = append(names, r.Name)
		}
	}
	sort.Strings(names)
	return names
}

// AssignRole gives a user a role of its business unit by name, as a person would.
func (e *Environment) AssignRole(userID, roleName string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[strings.ToLower(userID)]
	if !ok {
		return fmt.Errorf("no user %s", userID)
	}
	r := e.roleByNameLocked(roleName, u.BusinessUnitID)
	if r == nil {
		return fmt.Errorf("no role %q in the user's business unit", roleName)
	}
	u.Roles[r.ID] = true
	return nil
}

// RemoveUserRole takes a role away by name, as a person would by hand.
func (e *Environment) RemoveUserRole(userID, roleName string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[strings.ToLower(userID)]
	if !ok {
		return fmt.Errorf("no user %s", userID)
	}
	for id := range u.Roles {
		if r := e.roles[id]; r != nil && strings.EqualFold(r.Name, roleName) {
			delete(u.Roles, id)
			return nil
		}
	}
	return fmt.Errorf("user %s does not hold %q", userID, roleName)
}

// SetUserDisabled enables or disables a user.
func (e *Environment) SetUserDisabled(userID string, disabled bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if u, ok := e.users[strings.ToLower(userID)]; ok {
		u.Disabled = disabled
	}
}

// Solution returns an installed solution.
func (e *Environment) Solution(uniqueName string) (Solution, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.solutions[strings.ToLower(uniqueName)]
	if !ok {
		return Solution{}, false
	}
	return *s, true
}

// InstallSolution installs a solution directly, as if imported earlier.
func (e *Environment) InstallSolution(uniqueName, version string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.install(uniqueName, uniqueName, version, true)
}

// SOPIntegration reports the organization's sales order integration flag.
func (e *Environment) SOPIntegration() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sopEnabled
}

// SetSOPIntegration flips the flag by hand.
func (e *Environment) SetSOPIntegration(enabled bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sopEnabled = enabled
}

// AddSalesOrder adds a sales order with a statecode (1 is Submitted).
func (e *Environment) AddSalesOrder(stateCode int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.salesOrders = append(e.salesOrders, stateCode)
}

// ClearSalesOrders removes every sales order.
func (e *Environment) ClearSalesOrders() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.salesOrders = nil
}

// User returns a copy of the user with that id.
func (e *Environment) User(id string) (User, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[strings.ToLower(id)]
	if !ok {
		return User{}, false
	}
	cp := *u
	cp.Roles = maps.Clone(u.Roles)
	return cp, true
}

// AddNavConnection adds a row by hand, as Business Central writes it.
func (e *Environment) AddNavConnection(name, url string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := &NavConnection{ID: newID(), Name: name, URL: url}
	e.navConnections[n.ID] = n
}

// NavConnections returns the nav_connection rows.
func (e *Environment) NavConnections() []NavConnection {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []NavConnection
	for _, n := range e.navConnections {
		out = append(out, *n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DeleteNavConnection deletes a row by company name, by hand.
func (e *Environment) DeleteNavConnection(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, n := range e.navConnections {
		if n.Name == name {
			delete(e.navConnections, id)
			return true
		}
	}
	return false
}

// FailImports makes the following imports fail with message; "" stops that.
func (e *Environment) FailImports(message string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failImports = message
}

// DeleteCompletedJobsAfter makes completed async operations disappear retention after
// they complete, as Dataverse's bulk deletion jobs do (0: at once); a negative retention
// keeps them.
func (e *Environment) DeleteCompletedJobsAfter(retention time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.jobRetention = nil
	if retention >= 0 {
		e.jobRetention = &retention
	}
}

// AddAbandonedImportJob leaves an importjob that never completed, created age ago, as a
// crashed import can: it shows among the uncompleted jobs, but blocks no import.
func (e *Environment) AddAbandonedImportJob(solutionName string, age time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	j := &importJob{id: newID(), solutionName: solutionName, createdOn: time.Now().UTC().Add(-age), abandoned: true}
	e.importJobs[j.id] = j
}

// HoldImports keeps running imports from completing until ReleaseImports: a test can
// then look at an import in progress without racing the clock.
func (e *Environment) HoldImports() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.holdImports = true
}

// ReleaseImports lets held imports complete, at once, and later ones after their
// duration.
func (e *Environment) ReleaseImports() {
	e.mu.Lock()
	held := e.heldImports
	e.heldImports, e.holdImports = nil, false
	e.mu.Unlock()
	for _, complete := range held {
		complete()
	}
}

// ReleaseImportsBefore lets held imports complete just before the next request of an
// operation (as named in the request log) is answered: a test can then finish an import
// at an exact point of the operator's pass.
func (e *Environment) ReleaseImportsBefore(operation string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.releaseBefore = operation
}

// releaseImportsFor runs the ReleaseImportsBefore hook for a request.
func (e *Environment) releaseImportsFor(operation string) {
	e.mu.Lock()
	hit := operation != "" && e.releaseBefore == operation
	if hit {
		e.releaseBefore = ""
	}
	e.mu.Unlock()
	if hit {
		e.ReleaseImports()
	}
}

// SetImportDuration sets how long the following imports run.
func (e *Environment) SetImportDuration(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.importDuration = d
}

func copyUser(u *User) User {
	c := *u
	c.Roles = map[string]bool{}
	for k, v := range u.Roles {
		c.Roles[k] = v
	}
	return c
}

// ImportJob is a solution import as the environment ran it.
type ImportJob struct {
	Solution               string
	CreatedOn, CompletedOn time.Time // CompletedOn is zero while it runs
}

// ImportJobs lists the environment's import jobs, oldest first.
func (e *Environment) ImportJobs() []ImportJob {
	e.mu.Lock()
	defer e.mu.Unlock()
	jobs := make([]ImportJob, 0, len(e.importJobs))
	for _, j := range e.importJobs {
		jobs = append(jobs, ImportJob{Solution: j.solutionName, CreatedOn: j.createdOn, CompletedOn: j.completedOn})
	}
	slices.SortFunc(jobs, func(a, b ImportJob) int { return a.CreatedOn.Compare(b.CreatedOn) })
	return jobs
}
