package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// fakeDataverse answers the steps' Dataverse calls from memory: one environment, one
// business unit. errs fails a call by its name; calls lists every call, writes only the
// writes.
type fakeDataverse struct {
	whoAmI    dataverse.WhoAmI
	version   string
	user      dataverse.SystemUser
	userRoles []dataverse.Role
	users     []dataverse.SystemUser

	solutions     map[string]*dataverse.Solution
	runningJobs   []dataverse.ImportJob
	asyncOps      map[string]dataverse.AsyncOperation
	importResult  dataverse.ImportResult
	importStarted dataverse.ImportHandle

	roles []dataverse.Role
	links []dataverse.NavConnection
	org   dataverse.Organization
	// submittedOrders: a sales order with the Submitted status exists.
	submittedOrders bool

	errs map[string]error
	// hang makes WhoAmI wait until its context ends, as a server that never answers.
	hang   bool
	calls  []string
	writes []string
}

const (
	fakeUserID = "00000000-0000-0000-0000-0000000000aa"
	fakeBU     = "00000000-0000-0000-0000-0000000000b0"
	fakeOrg    = "00000000-0000-0000-0000-0000000000c0"
)

// newFakeDataverse is an environment where the integration solution is installed at
// 25.0.1.0 and the integration user holds no role yet.
func newFakeDataverse() *fakeDataverse {
	return &fakeDataverse{
		whoAmI:  dataverse.WhoAmI{UserID: fakeUserID, BusinessUnitID: fakeBU, OrganizationID: fakeOrg},
		version: "9.2.24101.140",
		user:    dataverse.SystemUser{ID: fakeUserID, InternalEmailAddress: "svc-bc@contoso.com", BusinessUnitID: fakeBU},
		solutions: map[string]*dataverse.Solution{
			integrationSolutionName: {UniqueName: integrationSolutionName, Version: "25.0.1.0"},
		},
		asyncOps: map[string]dataverse.AsyncOperation{},
		roles: []dataverse.Role{
			{ID: "10000000-0000-0000-0000-000000000001", Name: "Integration Administrator", BusinessUnitID: fakeBU, ParentRootRoleID: integrationAdministratorRoleID},
			{ID: "10000000-0000-0000-0000-000000000002", Name: "Integration User", BusinessUnitID: fakeBU, ParentRootRoleID: integrationUserRoleID},
		},
		org: dataverse.Organization{ID: fakeOrg},
	}
}

func (f *fakeDataverse) call(op string) error {
	f.calls = append(f.calls, op)
	return f.errs[op]
}

func (f *fakeDataverse) write(op string) error {
	if err := f.call(op); err != nil {
		return err
	}
	f.writes = append(f.writes, op)
	return nil
}

func (f *fakeDataverse) WhoAmI(ctx context.Context) (dataverse.WhoAmI, error) {
	if f.hang {
		// As the client answers when its context ends mid-request.
		<-ctx.Done()
		return dataverse.WhoAmI{}, &dataverse.Error{Reason: dataverse.ReasonCanceled, Kind: dataverse.Transient, Err: ctx.Err()}
	}
	return f.whoAmI, f.call("WhoAmI")
}

func (f *fakeDataverse) RetrieveVersion(context.Context) (string, error) {
	return f.version, f.call("RetrieveVersion")
}

func (f *fakeDataverse) GetSystemUser(context.Context, string) (dataverse.SystemUser, error) {
	u := f.user
	u.Roles = slices.Clone(f.userRoles)
	return u, f.call("GetSystemUser")
}

func (f *fakeDataverse) FindUsersByEmail(_ context.Context, emails []string) ([]dataverse.SystemUser, error) {
	var found []dataverse.SystemUser
	for _, u := range f.users {
		if slices.ContainsFunc(emails, func(e string) bool { return strings.EqualFold(e, u.InternalEmailAddress) }) {
			found = append(found, u)
		}
	}
	return found, f.call("FindUsersByEmail")
}

func (f *fakeDataverse) FindUsersByDomainName(_ context.Context, names []string) ([]dataverse.SystemUser, error) {
	var found []dataverse.SystemUser
	for _, u := range f.users {
		if slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, u.DomainName) }) {
			found = append(found, u)
		}
	}
	return found, f.call("FindUsersByDomainName")
}

func (f *fakeDataverse) PrepareUser(_ context.Context, _ string, p dataverse.UserPreparation) error {
	if err := f.write("PrepareUser"); err != nil {
		return err
	}
	if p.IsIntegrationUser != nil {
		f.user.IsIntegrationUser = *p.IsIntegrationUser
	}
	if p.InviteStatusCode != nil {
		f.user.InviteStatusCode = *p.InviteStatusCode
	}
	if p.AccessMode != nil {
		f.user.AccessMode = *p.AccessMode
	}
	return nil
}

func (f *fakeDataverse) GetSolution(_ context.Context, uniqueName string) (*dataverse.Solution, error) {
	return f.solutions[uniqueName], f.call("GetSolution")
}

func (f *fakeDataverse) RunningImports(context.Context) ([]dataverse.ImportJob, error) {
	return f.runningJobs, f.call("RunningImports")
}

func (f *fakeDataverse) ImportSolutionAsync(context.Context, []byte) (dataverse.ImportHandle, error) {
	return f.importStarted, f.write("ImportSolutionAsync")
}

func (f *fakeDataverse) GetAsyncOperation(_ context.Context, id string) (dataverse.AsyncOperation, error) {
	if err := f.call("GetAsyncOperation"); err != nil {
		return dataverse.AsyncOperation{}, err
	}
	op, ok := f.asyncOps[id]
	if !ok {
		return op, &dataverse.Error{Reason: dataverse.ReasonNotFound, Kind: dataverse.Terminal}
	}
	return op, nil
}

func (f *fakeDataverse) GetImportResult(context.Context, string) (dataverse.ImportResult, error) {
	return f.importResult, f.call("GetImportResult")
}

func (f *fakeDataverse) FindBusinessUnitRole(_ context.Context, rootRoleID, businessUnitID string) (dataverse.Role, error) {
	return f.findRole(func(r dataverse.Role) bool {
		return r.BusinessUnitID == businessUnitID && (r.ID == rootRoleID || r.ParentRootRoleID == rootRoleID)
	})
}

func (f *fakeDataverse) FindRoleByName(_ context.Context, name, businessUnitID string) (dataverse.Role, error) {
	return f.findRole(func(r dataverse.Role) bool { return r.BusinessUnitID == businessUnitID && r.Name == name })
}

func (f *fakeDataverse) findRole(match func(dataverse.Role) bool) (dataverse.Role, error) {
	if err := f.call("FindRole"); err != nil {
		return dataverse.Role{}, err
	}
	if i := slices.IndexFunc(f.roles, match); i >= 0 {
		return f.roles[i], nil
	}
	return dataverse.Role{}, &dataverse.Error{Reason: dataverse.ReasonNotFound, Kind: dataverse.Terminal}
}

func (f *fakeDataverse) AssociateRole(_ context.Context, _, roleID string) error {
	if err := f.write("AssociateRole"); err != nil {
		return err
	}
	i := slices.IndexFunc(f.roles, func(r dataverse.Role) bool { return r.ID == roleID })
	f.userRoles = append(f.userRoles, f.roles[i])
	return nil
}

func (f *fakeDataverse) DisassociateRole(_ context.Context, _, roleID string) error {
	if err := f.write("DisassociateRole"); err != nil {
		return err
	}
	f.userRoles = slices.DeleteFunc(f.userRoles, func(r dataverse.Role) bool { return r.ID == roleID })
	return nil
}

func (f *fakeDataverse) FindNavConnection(_ context.Context, url string) (*dataverse.NavConnection, error) {
	if err := f.call("FindNavConnection"); err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(f.links, func(n dataverse.NavConnection) bool { return strings.EqualFold(n.URL, url) }); i >= 0 {
		link := f.links[i]
		return &link, nil
	}
	return nil, nil
}

func (f *fakeDataverse) CreateNavConnection(_ context.Context, n dataverse.NavConnection) (string, error) {
	if err := f.write("CreateNavConnection"); err != nil {
		return "", err
	}
	n.ID = fmt.Sprintf("20000000-0000-0000-0000-%012d", len(f.links)+1)
	f.links = append(f.links, n)
	return n.ID, nil
}

func (f *fakeDataverse) UpdateNavConnection(_ context.Context, id string, n dataverse.NavConnection) error {
	if err := f.write("UpdateNavConnection"); err != nil {
		return err
	}
	for i := range f.links {
		if f.links[i].ID == id {
			n.ID = id
			f.links[i] = n
		}
	}
	return nil
}

func (f *fakeDataverse) DeleteNavConnection(_ context.Context, id string) error {
	if err := f.write("DeleteNavConnection"); err != nil {
		return err
	}
	f.links = slices.DeleteFunc(f.links, func(n dataverse.NavConnection) bool { return n.ID == id })
	return nil
}

func (f *fakeDataverse) GetOrganization(context.Context) (dataverse.Organization, error) {
	return f.org, f.call("GetOrganization")
}

func (f *fakeDataverse) SetSOPIntegration(_ context.Context, _ string, enabled bool) error {
	if err := f.write("SetSOPIntegration"); err != nil {
		return err
	}
	f.org.SOPIntegrationEnabled = enabled
	return nil
}

func (f *fakeDataverse) HasSubmittedSalesOrders(context.Context) (bool, error) {
	return f.submittedOrders, f.call("HasSubmittedSalesOrders")
}

// memKube is the little of Kubernetes the steps use besides status, from memory: Gets of
// Secrets and ConfigMaps (and their metadata), and patches of the SalesConnection's
// annotations. Nothing here is decided by an API server (no validation, conflicts or
// watches); those are tested in package e2etest.
type memKube struct {
	client.Client // nil: any other call panics, which a unit test should never make
	objects       map[client.ObjectKey]client.Object
	patches       int
}

func newMemKube(objs ...client.Object) *memKube {
	m := &memKube{objects: map[client.ObjectKey]client.Object{}}
	for _, o := range objs {
		if o.GetResourceVersion() == "" {
			o.SetResourceVersion("1")
		}
		m.objects[client.ObjectKeyFromObject(o)] = o
	}
	return m
}

func (m *memKube) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	stored, ok := m.objects[key]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{}, key.Name)
	}
	switch out := obj.(type) {
	case *corev1.Secret:
		s, ok := stored.(*corev1.Secret)
		if !ok {
			return apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, key.Name)
		}
		s.DeepCopyInto(out)
	case *corev1.ConfigMap:
		c, ok := stored.(*corev1.ConfigMap)
		if !ok {
			return apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, key.Name)
		}
		c.DeepCopyInto(out)
	case *metav1.PartialObjectMetadata:
		out.ObjectMeta = *stored.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta).DeepCopy()
	default:
		return fmt.Errorf("memKube cannot get a %T", obj)
	}
	return nil
}

// List lists the SalesConnections stored, by the link index when asked: the index
// functions are the operator's own.
func (m *memKube) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	out, ok := list.(*salesv1alpha1.SalesConnectionList)
	if !ok {
		return fmt.Errorf("memKube cannot list %T", list)
	}
	lo := &client.ListOptions{}
	lo.ApplyOptions(opts)
	want, byLink := "", false
	if lo.FieldSelector != nil {
		want, byLink = lo.FieldSelector.RequiresExactMatch(indexLinkKey)
	}
	for _, o := range m.objects {
		sc, ok := o.(*salesv1alpha1.SalesConnection)
		if ok && (!byLink || slices.Contains(linkKeyOf(sc), want)) {
			out.Items = append(out.Items, *sc.DeepCopy())
		}
	}
	return nil
}

// Patch takes the patched object as it is: the steps patch only their own annotations.
func (m *memKube) Patch(_ context.Context, obj client.Object, _ client.Patch, _ ...client.PatchOption) error {
	m.patches++
	obj.SetResourceVersion(fmt.Sprint(m.patches + 1))
	return nil
}

// stepWorld is one unit test's world: the object, its scope, the reconciler and what
// they talk to.
type stepWorld struct {
	t      *testing.T
	r      *Reconciler
	s      *scope
	dv     *fakeDataverse
	kube   *memKube
	events *events.FakeRecorder
}

// newStepWorld prepares a scope as the preparation steps leave it, with both principals
// signed in to dv, for a spec that asks for everything.
func newStepWorld(t *testing.T, objs ...client.Object) *stepWorld {
	t.Helper()
	obj := &salesv1alpha1.SalesConnection{
		ObjectMeta: metav1.ObjectMeta{Namespace: "erp", Name: "contoso", Generation: 1},
		Spec: salesv1alpha1.SalesConnectionSpec{
			URL: "https://contoso.crm4.dynamics.com",
			Authentication: salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationClientSecret,
				SecretRef: &salesv1alpha1.LocalObjectReference{Name: "integration"}},
			Administrator: &salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationClientSecret,
				SecretRef: &salesv1alpha1.LocalObjectReference{Name: "admin"}},
			IntegrationSolution: &salesv1alpha1.IntegrationSolution{Import: true,
				PackageRef: &salesv1alpha1.KeyReference{Name: "solution", Key: "solution.zip"}},
			BusinessCentral: &salesv1alpha1.BusinessCentral{
				WebClientURL: "https://businesscentral.dynamics.com/tenant/Production", Company: "CRONUS USA, Inc."},
			SalesOrderIntegration: &salesv1alpha1.SalesOrderIntegration{Enabled: true},
		},
	}
	dv := newFakeDataverse()
	kube := newMemKube(objs...)
	rec := events.NewFakeRecorder(100)
	r := &Reconciler{Client: kube, APIReader: kube, Recorder: rec, MinImportPoll: time.Second, MaxImportPoll: 30 * time.Second}
	s := &scope{
		obj: obj, log: logr.Discard(),
		secrets:     &secretReader{reader: kube, namespace: obj.Namespace},
		envURL:      obj.Spec.URL,
		integration: dv, admin: dv,
	}
	return &stepWorld{t: t, r: r, s: s, dv: dv, kube: kube, events: rec}
}

// connected runs Test Connection, as every pass does before the later steps.
func (w *stepWorld) connected() *stepWorld {
	w.t.Helper()
	if _, o := w.r.testConnection(context.Background(), w.s); !o.isDone() {
		w.t.Fatalf("Test Connection: %+v", o.failure)
	}
	return w
}

// run runs steps through the driver and returns its result.
func (w *stepWorld) run(steps ...step) passResult {
	return w.r.runSteps(context.Background(), w.s, steps)
}

// pass sets the status as the pass's end does, so a test can look at the summary too.
func (w *stepWorld) pass(steps ...step) passResult {
	res := w.run(steps...)
	setSummary(w.s.obj, res)
	return res
}

// again starts the next pass from the status this one left.
func (w *stepWorld) again() {
	w.s.before = *w.s.obj.Status.DeepCopy()
	w.dv.calls, w.dv.writes = nil, nil
}

func (w *stepWorld) condition(t salesv1alpha1.ConditionType) *metav1.Condition {
	return w.s.obj.Status.GetCondition(t)
}

// emitted drains the events recorded so far.
func (w *stepWorld) emitted() []string {
	var out []string
	for {
		select {
		case e := <-w.events.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// stepNamed returns the step of the tables by name.
func stepNamed(name string) step {
	for _, table := range [][]step{prepareSteps, connectSteps, disconnectSteps, cleanupSteps} {
		if i := slices.IndexFunc(table, func(st step) bool { return st.name == name }); i >= 0 {
			return table[i]
		}
	}
	panic("no step " + name)
}
