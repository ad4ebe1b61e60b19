package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/hack/internal/proc"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

const (
	tenantID       = "00000000-0000-0000-0000-000000000001"
	adminID        = "22222222-2222-2222-2222-222222222222"
	integrationID  = "11111111-1111-1111-1111-111111111111"
	adminSecret    = "bench-admin-secret"
	integrationSec = "bench-integration-secret"
)

// bench is one measurement run: a control plane, a simulator and the operator.
type bench struct {
	o       options
	cp      *testenv.Env
	sim     *dataversesim.Server
	manager *proc.Process
	workDir string
}

func runSize(ctx context.Context, o options, n int) error {
	b := &bench{o: o}
	defer b.close()
	var err error
	if b.workDir, err = os.MkdirTemp("", "salesconnection-bench-"); err != nil {
		return err
	}
	if b.cp, err = testenv.Start(); err != nil {
		return err
	}
	if err := b.startSimulator(); err != nil {
		return err
	}
	fmt.Printf("\n## N = %d SalesConnections, %d environments, %s latency, %s import, --max-concurrent-reconciles=%d\n\n",
		n, o.environments, o.latency, o.importDuration, o.concurrency)

	if err := b.prepareNamespaces(ctx, "op"); err != nil {
		return err
	}
	if err := b.startOperator(); err != nil {
		return err
	}
	idle := rssKiB(b.manager)
	start := time.Now()
	if err := b.createConnections(ctx, "op", n); err != nil {
		return err
	}
	created := time.Since(start)
	if err := b.waitAllReady(ctx, "op", n, 10*time.Minute); err != nil {
		return err
	}
	elapsed := time.Since(start)
	requests := b.sim.CountRequests(func(r dataversesim.Request) bool { return r.Environment != "" })
	tokens := b.sim.CountRequests(func(r dataversesim.Request) bool { return r.Operation == "Token" })
	fmt.Printf("| fresh connections to all Ready | %s |\n", elapsed.Round(10*time.Millisecond))
	// The objects are created one at a time, as an apply does, while the operator works:
	// how much its API server traffic slows the creates shows here.
	fmt.Printf("| of which: creating the objects one by one | %s |\n", created.Round(10*time.Millisecond))
	fmt.Printf("| Dataverse requests per connection | %.1f (plus %d token requests in all) |\n", float64(requests)/float64(n), tokens)

	reads, writes, statusWrites, err := b.steadyState(ctx, "op", n)
	if err != nil {
		return err
	}
	fmt.Printf("| steady-state pass: Dataverse reads per connection | %.1f |\n", float64(reads)/float64(n))
	fmt.Printf("| steady-state pass: Dataverse writes, status writes | %d, %d |\n", writes, statusWrites)
	fmt.Printf("| operator memory: idle, peak (VmHWM) | %d MiB, %d MiB |\n", idle/1024, peakKiB(b.manager)/1024)

	if o.secrets > 0 && n == o.sizes[len(o.sizes)-1] {
		before := rssKiB(b.manager)
		if err := b.createUnrelatedSecrets(ctx, o.secrets); err != nil {
			return err
		}
		time.Sleep(5 * time.Second)
		fmt.Printf("| operator memory before / after %d unrelated 1 KiB Secrets | %d MiB / %d MiB |\n",
			o.secrets, before/1024, rssKiB(b.manager)/1024)
	}
	b.manager.Stop()
	b.manager = nil

	// The floor: the same objects made Ready by a controller that only writes status.
	if err := b.prepareNamespaces(ctx, "floor"); err != nil {
		return err
	}
	stopFloor, err := startFloorController(ctx, b.cp, o.concurrency)
	if err != nil {
		return err
	}
	// Started, like the operator, before the clock: both measure from the first create.
	floorStart := time.Now()
	if err := b.createConnections(ctx, "floor", n); err != nil {
		return err
	}
	floorCreated := time.Since(floorStart)
	if err := b.waitAllReady(ctx, "floor", n, 10*time.Minute); err != nil {
		return err
	}
	floor := time.Since(floorStart)
	stopFloor()
	// What Dataverse itself imposes: one import per environment (in parallel) and about
	// 15 dependent round trips per connection.
	ideal := floor + o.importDuration + 15*o.latency
	fmt.Printf("| floor: status-only controller to all Ready | %s |\n", floor.Round(10*time.Millisecond))
	fmt.Printf("| of which: creating the objects one by one | %s |\n", floorCreated.Round(10*time.Millisecond))
	fmt.Printf("| ideal (floor + one import + 15 round trips) | %s |\n", ideal.Round(10*time.Millisecond))
	fmt.Printf("| ours / ideal | %.2f |\n", elapsed.Seconds()/ideal.Seconds())
	return nil
}

func (b *bench) close() {
	if b.manager != nil {
		b.manager.Stop()
	}
	if b.sim != nil {
		_ = b.sim.Close()
	}
	if b.cp != nil {
		_ = b.cp.Stop()
	}
	if b.workDir != "" {
		_ = os.RemoveAll(b.workDir)
	}
}

func envName(i int) string { return fmt.Sprintf("env%02d", i) }

func (b *bench) startSimulator() error {
	cfg := dataversesim.Config{Tenants: []dataversesim.TenantConfig{{ID: tenantID, Apps: []dataversesim.AppConfig{
		{ClientID: adminID, Secrets: []string{adminSecret}},
		{ClientID: integrationID, Secrets: []string{integrationSec}},
	}}}}
	for i := 0; i < b.o.environments; i++ {
		cfg.Environments = append(cfg.Environments, dataversesim.EnvironmentConfig{
			Name: envName(i), Latency: dataversesim.Duration{Duration: b.o.latency},
			ImportDuration: dataversesim.Duration{Duration: b.o.importDuration},
			SystemUsers: []dataversesim.SystemUserConfig{
				{FullName: "Admin", ApplicationID: adminID, Roles: []string{"System Administrator"}},
				{FullName: "Integration", InternalEmailAddress: "svc@contoso.com", ApplicationID: integrationID, Roles: []string{"Basic User"}},
			},
		})
	}
	var err error
	if b.sim, err = dataversesim.New(cfg); err != nil {
		return err
	}
	return b.sim.Start("127.0.0.1:0")
}

func (b *bench) startOperator() error {
	kubeconfig, err := b.cp.Kubeconfig()
	if err != nil {
		return err
	}
	path := filepath.Join(b.workDir, "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		return err
	}
	port, err := proc.FreePort()
	if err != nil {
		return err
	}
	b.manager, err = proc.Start("operator", filepath.Join(b.workDir, "operator.log"), []string{"KUBECONFIG=" + path}, b.o.managerBin,
		"--metrics-bind-address=0", "--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(port),
		"--max-concurrent-reconciles="+strconv.Itoa(b.o.concurrency), "--zap-log-level=error",
		// The simulator listens on the loopback address, which no default allowlist has.
		"--allowed-authority-hosts=127.0.0.1", "--allowed-environment-domains=127.0.0.1")
	if err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // caches sync; the measurement starts with the first create
	return b.manager.Exited()
}

// prepareNamespaces creates one namespace per environment with the Secrets and the
// solution package.
func (b *bench) prepareNamespaces(ctx context.Context, prefix string) error {
	pkg, err := solution.Build(solution.Package{UniqueName: "MicrosoftDynamicsNavIntegration", Version: "25.0.1.0", Managed: true})
	if err != nil {
		return err
	}
	c := b.cp.Client
	for i := 0; i < b.o.environments; i++ {
		ns := prefix + "-" + envName(i)
		objs := []client.Object{
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ca"}, Data: map[string][]byte{"ca.crt": b.sim.CACertPEM()}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "admin"}, StringData: map[string]string{"clientID": adminID, "clientSecret": adminSecret}},
			&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "integration"}, StringData: map[string]string{"clientID": integrationID, "clientSecret": integrationSec}},
			&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "solution"}, BinaryData: map[string][]byte{"solution.zip": pkg}},
		}
		for _, o := range objs {
			if err := c.Create(ctx, o); err != nil {
				return fmt.Errorf("creating %s: %w", o.GetName(), err)
			}
		}
	}
	return nil
}

// createConnections creates n SalesConnections spread over the environments, each
// linking its own Business Central company.
func (b *bench) createConnections(ctx context.Context, prefix string, n int) error {
	for i := 0; i < n; i++ {
		env := i % b.o.environments
		auth := func(secret string) salesv1alpha1.Authentication {
			return salesv1alpha1.Authentication{Type: salesv1alpha1.AuthenticationClientSecret, TenantID: tenantID,
				AuthorityHost: b.sim.AuthorityHost(), SecretRef: &salesv1alpha1.LocalObjectReference{Name: secret}}
		}
		admin := auth("admin")
		sc := &salesv1alpha1.SalesConnection{
			ObjectMeta: metav1.ObjectMeta{Namespace: prefix + "-" + envName(env), Name: fmt.Sprintf("sc-%04d", i)},
			Spec: salesv1alpha1.SalesConnectionSpec{
				Enabled: ptr.To(true), URL: b.sim.EnvironmentURL(envName(env)), Authentication: auth("integration"), Administrator: &admin,
				TLS:                   &salesv1alpha1.TLSConfig{CASecretRef: &salesv1alpha1.KeyReference{Name: "ca", Key: "ca.crt"}},
				IntegrationSolution:   &salesv1alpha1.IntegrationSolution{Import: true, PackageRef: &salesv1alpha1.KeyReference{Name: "solution", Key: "solution.zip"}},
				BusinessCentral:       &salesv1alpha1.BusinessCentral{WebClientURL: "https://businesscentral.dynamics.com/t/Production", Company: fmt.Sprintf("Company %04d", i)},
				SalesOrderIntegration: &salesv1alpha1.SalesOrderIntegration{Enabled: true},
			},
		}
		if err := b.cp.Client.Create(ctx, sc); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) waitAllReady(ctx context.Context, prefix string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ready := 0
		for i := 0; i < b.o.environments; i++ {
			list := &salesv1alpha1.SalesConnectionList{}
			if err := b.cp.Client.List(ctx, list, client.InNamespace(prefix+"-"+envName(i))); err != nil {
				return err
			}
			for _, sc := range list.Items {
				if meta.IsStatusConditionTrue(sc.Status.Conditions, string(salesv1alpha1.ConditionReady)) && sc.Status.ObservedGeneration == sc.Generation {
					ready++
				}
			}
		}
		if ready == n {
			return nil
		}
		if b.manager != nil {
			if err := b.manager.Exited(); err != nil {
				return fmt.Errorf("%w\n%s", err, proc.Tail(filepath.Join(b.workDir, "operator.log"), 3000))
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("not all %d connections Ready within %s", n, timeout)
}

// steadyState starts a pass for every connection (a Secret change, as a resync does)
// and counts what it costs when nothing changed.
func (b *bench) steadyState(ctx context.Context, prefix string, n int) (reads, writes, statusWrites int, err error) {
	versions, err := b.resourceVersions(ctx, prefix)
	if err != nil {
		return 0, 0, 0, err
	}
	time.Sleep(time.Second)
	b.sim.ResetRequests()
	for i := 0; i < b.o.environments; i++ {
		s := &corev1.Secret{}
		if err := b.cp.Client.Get(ctx, client.ObjectKey{Namespace: prefix + "-" + envName(i), Name: "integration"}, s); err != nil {
			return 0, 0, 0, err
		}
		s.Labels = map[string]string{"resync": strconv.FormatInt(time.Now().UnixNano(), 10)}
		if err := b.cp.Client.Update(ctx, s); err != nil {
			return 0, 0, 0, err
		}
	}
	deadline := time.Now().Add(5 * time.Minute)
	for b.sim.CountRequests(func(r dataversesim.Request) bool { return r.Operation == "WhoAmI" }) < n && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	reads = b.sim.CountRequests(func(r dataversesim.Request) bool { return r.Environment != "" && !r.Write() })
	for i := 0; i < b.o.environments; i++ {
		writes += b.sim.Writes(envName(i))
	}
	after, err := b.resourceVersions(ctx, prefix)
	if err != nil {
		return 0, 0, 0, err
	}
	for k, v := range after {
		if versions[k] != v {
			statusWrites++
		}
	}
	return reads, writes, statusWrites, nil
}

func (b *bench) resourceVersions(ctx context.Context, prefix string) (map[string]string, error) {
	out := map[string]string{}
	for i := 0; i < b.o.environments; i++ {
		list := &salesv1alpha1.SalesConnectionList{}
		if err := b.cp.Client.List(ctx, list, client.InNamespace(prefix+"-"+envName(i))); err != nil {
			return nil, err
		}
		for _, sc := range list.Items {
			out[sc.Namespace+"/"+sc.Name] = sc.ResourceVersion
		}
	}
	return out, nil
}

func (b *bench) createUnrelatedSecrets(ctx context.Context, count int) error {
	ns := "unrelated"
	if err := b.cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	payload := []byte(strings.Repeat("x", 1024))
	for i := 0; i < count; i++ {
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("s-%05d", i)}, Data: map[string][]byte{"data": payload}}
		if err := b.cp.Client.Create(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// rssKiB and peakKiB read the operator's resident and peak resident memory.
func rssKiB(p *proc.Process) int64  { return procStatus(p, "VmRSS:") }
func peakKiB(p *proc.Process) int64 { return procStatus(p, "VmHWM:") }

func procStatus(p *proc.Process, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID()))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field) {
			v, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return v
		}
	}
	return 0
}
