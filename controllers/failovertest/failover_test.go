// Package failovertest runs two operator processes with leader election, as the
// Deployment's two replicas run, and kills the leader in the middle of a solution import:
// the standby takes over and resumes the recorded import, never starting a second. A
// SIGTERM (a rolling update) releases the Lease at once. It builds the manager binary and
// has its own control plane.
package failovertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
	"github.com/bcconnect/salesconnection-operator/internal/leaksweep"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

const leaseName = "salesconnection-operator.sales.bcconnect.io"

// operator is one manager process.
type operator struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// cluster is what the processes share: the binary, a kubeconfig, the operator namespace.
type cluster struct {
	t          *testing.T
	bin        string
	kubeconfig string
	namespace  string
	dir        string
	// sweep is the secret-leak sweep of this test: the replicas' logs and the cluster's
	// objects, searched when the test ends.
	sweep *leaksweep.Sweep
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the manager: %v\n%s", err, out)
	}
	kubeconfig, err := env.Kubeconfig()
	must(t, err)
	path := filepath.Join(dir, "kubeconfig")
	must(t, os.WriteFile(path, kubeconfig, 0o600))
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "operator-"}}
	must(t, env.Client.Create(context.Background(), ns))
	c := &cluster{t: t, bin: bin, kubeconfig: path, namespace: ns.Name, dir: dir, sweep: &leaksweep.Sweep{}}
	// Registered after TempDir, so it runs before the logs are removed, and after the
	// replicas are killed (their cleanups are registered later, so run first).
	t.Cleanup(func() {
		if err := c.sweep.Check(context.Background(), env.Client, nil); err != nil {
			t.Error(err)
		}
	})
	return c
}

// start runs a replica as the Deployment does, with leader election.
func (c *cluster) start(name string) *operator {
	c.t.Helper()
	port := freePort(c.t)
	o := &operator{name: name, log: filepath.Join(c.dir, name+".log"), done: make(chan struct{})}
	out, err := os.Create(o.log)
	must(c.t, err)
	c.sweep.AddLogFile(o.log)
	o.cmd = exec.Command(c.bin, "--leader-elect", "--leader-election-namespace="+c.namespace,
		"--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(port), "--metrics-bind-address=0",
		"--allowed-authority-hosts=127.0.0.1", "--allowed-environment-domains=127.0.0.1")
	o.cmd.Env = append(os.Environ(), "KUBECONFIG="+c.kubeconfig, "POD_NAMESPACE="+c.namespace)
	o.cmd.Stdout, o.cmd.Stderr = out, out
	o.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	must(c.t, o.cmd.Start())
	go func() {
		_ = o.cmd.Wait()
		out.Close()
		close(o.done)
	}()
	c.t.Cleanup(func() { o.signal(syscall.SIGKILL) })
	return o
}

func (o *operator) signal(sig syscall.Signal) {
	select {
	case <-o.done:
		return
	default:
	}
	_ = syscall.Kill(-o.cmd.Process.Pid, sig)
	select {
	case <-o.done:
	case <-time.After(30 * time.Second):
	}
}

// leads reports whether the process's log says it took the Lease.
func (o *operator) leads() bool {
	data, _ := os.ReadFile(o.log)
	return strings.Contains(strings.ToLower(string(data)), "successfully acquired lease")
}

// holder is the Lease's holder identity ("" when released or absent).
func (c *cluster) holder() string {
	lease := &coordinationv1.Lease{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: c.namespace, Name: leaseName}, lease); err != nil {
		return ""
	}
	return ptr.Deref(lease.Spec.HolderIdentity, "")
}

// waitLeader waits until exactly one of the replicas leads and returns it.
func (c *cluster) waitLeader(replicas ...*operator) *operator {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		var leaders []*operator
		for _, o := range replicas {
			if o.leads() {
				leaders = append(leaders, o)
			}
		}
		if len(leaders) > 1 {
			c.t.Fatalf("%d replicas lead at once", len(leaders))
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		time.Sleep(100 * time.Millisecond)
	}
	var logs []string
	for _, o := range replicas {
		data, _ := os.ReadFile(o.log)
		if len(data) > 2000 {
			data = data[len(data)-2000:]
		}
		logs = append(logs, o.name+":\n"+string(data))
	}
	c.t.Fatalf("no replica took the Lease; the end of their logs:\n%s", strings.Join(logs, "\n"))
	return nil
}

func TestLeaderFailoverMidImportImportsOnce(t *testing.T) {
	c := newCluster(t)
	sim, sc := connectionWithHeldImport(t, c.sweep)
	first, second := c.start("first"), c.start("second")
	leader := c.waitLeader(first, second)
	standby := map[*operator]*operator{first: second, second: first}[leader]

	must(t, env.Client.Create(context.Background(), sc))
	waitUntil(t, "the import is recorded on the object", sc, func(got *salesv1alpha1.SalesConnection) bool {
		return got.Annotations[salesv1alpha1.AnnotationImportJob] != ""
	})
	oldHolder := c.holder()

	// SIGKILL: the Lease is not released; the standby takes it when it expires.
	killed := time.Now()
	leader.signal(syscall.SIGKILL)
	if got := c.waitLeader(standby); got != standby {
		t.Fatal("the standby did not take over")
	}
	t.Logf("after SIGKILL of the leader, the standby led within %s (Lease held by %q before)", time.Since(killed).Round(100*time.Millisecond), oldHolder)

	polls := sim.CountRequests(func(r dataversesim.Request) bool {
		return r.Operation == "GetAsyncOperation" || r.Operation == "ListImportJobs"
	})
	waitForRequest(t, sim, "the new leader looks at the recorded import", func(r dataversesim.Request) bool {
		return r.Operation == "GetAsyncOperation" || r.Operation == "ListImportJobs"
	}, polls)
	sim.Environment("contoso").ReleaseImports()
	waitUntil(t, "Ready", sc, func(got *salesv1alpha1.SalesConnection) bool {
		return meta.IsStatusConditionTrue(got.Status.Conditions, string(salesv1alpha1.ConditionReady))
	})
	if n := sim.CountRequests(func(r dataversesim.Request) bool { return r.Operation == "ImportSolutionAsync" }); n != 1 {
		t.Errorf("%d imports across the failover, want exactly 1", n)
	}

	// SIGTERM, as a rolling update stops a pod: the leader releases the Lease on its way
	// out, so the next replica need not wait for it to expire.
	third := c.start("third")
	time.Sleep(2 * time.Second) // the third is up and waiting for the Lease
	standby.signal(syscall.SIGTERM)
	if h := c.holder(); h != "" && !third.leads() {
		t.Errorf("after SIGTERM the Lease is still held by %q: it was not released", h)
	}
	stopped := time.Now()
	if got := c.waitLeader(third); got != third {
		t.Fatal("the third replica did not take over")
	}
	t.Logf("after SIGTERM of the leader, the next replica led within %s", time.Since(stopped).Round(100*time.Millisecond))
}

// connectionWithHeldImport makes a simulator whose import runs until released, and a
// SalesConnection (not yet created) that imports the integration solution.
func connectionWithHeldImport(t *testing.T, sweep *leaksweep.Sweep) (*dataversesim.Server, *salesv1alpha1.SalesConnection) {
	t.Helper()
	const tenant, adminID, adminSecret = "00000000-0000-0000-0000-000000000001", "22222222-2222-2222-2222-222222222222", "admin-secret-value"
	const appID, appSecret = "11111111-1111-1111-1111-111111111111", "integration-secret-value"
	sweep.Register(map[string]string{"clientSecret": adminSecret})
	sweep.Register(map[string]string{"clientSecret": appSecret})
	sim := dataversesim.NewTestServer(t, dataversesim.Config{
		Tenants: []dataversesim.TenantConfig{{ID: tenant, Apps: []dataversesim.AppConfig{
			{ClientID: adminID, Secrets: []string{adminSecret}}, {ClientID: appID, Secrets: []string{appSecret}},
		}}},
		Environments: []dataversesim.EnvironmentConfig{{
			Name: "contoso", ImportDuration: dataversesim.Duration{Duration: 100 * time.Millisecond},
			SystemUsers: []dataversesim.SystemUserConfig{
				{FullName: "Admin", ApplicationID: adminID, Roles: []string{"System Administrator"}},
				{FullName: "Integration", InternalEmailAddress: "svc@contoso.com", ApplicationID: appID, Roles: []string{"Basic User"}},
			},
		}},
	})
	sim.Environment("contoso").HoldImports()
	ctx := context.Background()
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "failover-"}}
	must(t, env.Client.Create(ctx, namespace))
	ns := namespace.Name
	must(t, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca"}, StringData: map[string]string{"ca.crt": string(sim.CACertPEM())}}))
	must(t, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "admin"}, StringData: map[string]string{"clientID": adminID, "clientSecret": adminSecret}}))
	must(t, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "integration"}, StringData: map[string]string{"clientID": appID, "clientSecret": appSecret}}))
	pkg, err := solution.Build(solution.Package{UniqueName: "MicrosoftDynamicsNavIntegration", Version: "25.0.1.0", Managed: true})
	must(t, err)
	must(t, env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "solution"}, BinaryData: map[string][]byte{"solution.zip": pkg}}))
	auth := func(secretName string) salesv1alpha1.Authentication {
		return salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationClientSecret, TenantID: tenant,
			AuthorityHost: sim.AuthorityHost(), SecretRef: &salesv1alpha1.LocalObjectReference{Name: secretName}}
	}
	admin := auth("admin")
	return sim, &salesv1alpha1.SalesConnection{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "contoso"}, Spec: salesv1alpha1.SalesConnectionSpec{
		Enabled: ptr.To(true), URL: sim.EnvironmentURL("contoso"), Authentication: auth("integration"), Administrator: &admin,
		TLS:                 &salesv1alpha1.TLSConfig{CASecretRef: &salesv1alpha1.KeyReference{Name: "ca", Key: "ca.crt"}},
		IntegrationSolution: &salesv1alpha1.IntegrationSolution{Import: true, PackageRef: &salesv1alpha1.KeyReference{Name: "solution", Key: "solution.zip"}},
	}}
}

func waitForRequest(t *testing.T, sim *dataversesim.Server, what string, match func(dataversesim.Request) bool, before int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for sim.CountRequests(match) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func waitUntil(t *testing.T, what string, sc *salesv1alpha1.SalesConnection, check func(*salesv1alpha1.SalesConnection) bool) {
	t.Helper()
	env.WaitForSalesConnection(t, client.ObjectKeyFromObject(sc), what, 60*time.Second, check)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("%w", err))
	}
}
