package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/hack/internal/deployed"
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
	leaseNamespace = "salesconnection-system"
	leaseName      = "salesconnection-operator.sales.bcconnect.io"
	// floorWorkers is the floor controller's worker count: the operator's default.
	floorWorkers = 32
)

// result is what one run measured for one N.
type result struct {
	n int
	// applyToReady runs from the first create to the last Ready; settle from the last
	// create to the last Ready.
	applyToReady, settle           time.Duration
	floorApplyToReady, floorSettle time.Duration
	// importNoticeMedian and importNoticeMax are, per environment, from its import job's
	// completion to the poll that saw it: median and worst.
	importNoticeMedian, importNoticeMax time.Duration
	freshRequests, freshPolls           float64 // per connection; polls are import checks
	tokens                              int
	freshWrites                         float64 // object writes per connection until Ready
	imports                             int
	steadyReads, steadyWrites           float64 // per connection, one pass each
	steadyObjectWrites                  int
	freshByOperation, steadyByOperation string // requests per connection by operation
	idleMiB, peakMiB                    int64
	// cpu is the operator's CPU time (user and system) from its start to the end of the
	// steady pass: what a lower GOGC, for example, costs.
	cpu time.Duration
	// peakAnonMiB is the peak of the anonymous part of the resident memory: the heap and
	// the stacks, without the binary's code and data pages the kernel maps from the file.
	peakAnonMiB                       int64
	secrets                           int
	beforeSecretsMiB, afterSecretsMiB int64
}

// bench is one measurement: a control plane, a simulator and the operator.
type bench struct {
	o       options
	run     deployed.Operator
	cp      *testenv.Env
	watch   *readyWatch
	sim     *dataversesim.Server
	manager *proc.Process
	workDir string
}

func measure(ctx context.Context, o options, run deployed.Operator, n int, secrets int) (res result, err error) {
	b := &bench{o: o, run: run}
	defer b.close()
	res.n, res.secrets = n, secrets
	if b.workDir, err = os.MkdirTemp("", "salesconnection-bench-"); err != nil {
		return res, err
	}
	if b.cp, err = testenv.Start(); err != nil {
		return res, err
	}
	ctx, cancel := context.WithCancel(ctx) // ends the watch with the run
	defer cancel()
	if b.watch, err = watchReady(ctx, b.cp); err != nil {
		return res, err
	}
	if err := b.startSimulator(); err != nil {
		return res, err
	}
	if err := b.prepareNamespaces(ctx, "op"); err != nil {
		return res, err
	}
	if err := b.startOperator(ctx); err != nil {
		return res, err
	}
	res.idleMiB = rssKiB(b.manager) / 1024
	anon := sampleMax(ctx, func() int64 { return procStatus(b.manager, "RssAnon:") })

	first := time.Now()
	if err := b.createConnections(ctx, "op", n); err != nil {
		return res, err
	}
	last := time.Now()
	ready, err := b.watch.waitReady(ctx, "op-", n, 15*time.Minute)
	if err != nil {
		return res, b.withLog(err)
	}
	res.applyToReady, res.settle = ready.Sub(first), ready.Sub(last)
	res.importNoticeMedian, res.importNoticeMax, res.imports = b.importNotice()
	all := b.sim.CountRequests(func(r dataversesim.Request) bool { return r.Environment != "" })
	polls := b.importPolls()
	res.freshRequests = float64(all-polls) / float64(n)
	res.freshPolls = float64(polls) / float64(n)
	res.tokens = b.sim.CountRequests(func(r dataversesim.Request) bool { return r.Operation == "Token" })
	res.freshWrites = float64(b.watch.writeCount("op-")) / float64(n)
	res.freshByOperation = b.requestsByOperation(n)

	if err := b.steadyState(ctx, n, &res); err != nil {
		return res, err
	}
	res.peakMiB = peakKiB(b.manager) / 1024
	res.peakAnonMiB = anon() / 1024
	res.cpu = cpuTime(b.manager)
	if secrets > 0 {
		// The anonymous part: what the operator holds, not the binary's pages.
		res.beforeSecretsMiB = procStatus(b.manager, "RssAnon:") / 1024
		if err := b.createAppliedSecrets(ctx, secrets); err != nil {
			return res, err
		}
		time.Sleep(10 * time.Second) // the informers' events are handled
		res.afterSecretsMiB = procStatus(b.manager, "RssAnon:") / 1024
	}
	if err := b.manager.Exited(); err != nil {
		return res, b.withLog(err)
	}
	b.manager.Stop()
	b.manager = nil

	// The floor: the same objects made Ready by a controller that only writes status,
	// measured with the same clocks.
	if err := b.prepareNamespaces(ctx, "floor"); err != nil {
		return res, err
	}
	stopFloor, err := startFloorController(ctx, b.cp, floorWorkers)
	if err != nil {
		return res, err
	}
	defer stopFloor()
	first = time.Now()
	if err := b.createConnections(ctx, "floor", n); err != nil {
		return res, err
	}
	last = time.Now()
	ready, err = b.watch.waitReady(ctx, "floor-", n, 10*time.Minute)
	if err != nil {
		return res, err
	}
	res.floorApplyToReady, res.floorSettle = ready.Sub(first), ready.Sub(last)
	return res, nil
}

// importPolls counts the requests that looked at an import while it ran.
func (b *bench) importPolls() int {
	running := map[string][2]time.Time{}
	for i := 0; i < b.o.environments; i++ {
		for _, j := range b.sim.Environment(envName(i)).ImportJobs() {
			running[envName(i)] = [2]time.Time{j.CreatedOn, j.CompletedOn}
		}
	}
	return b.sim.CountRequests(func(r dataversesim.Request) bool {
		w, ok := running[r.Environment]
		return ok && (r.Operation == "GetAsyncOperation" || r.Operation == "ListImportJobs") &&
			!r.Time.Before(w[0]) && (w[1].IsZero() || !r.Time.After(w[1]))
	})
}

func (b *bench) withLog(err error) error {
	return fmt.Errorf("%w\n%s", err, proc.Tail(filepath.Join(b.workDir, "operator.log"), 3000))
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

// startOperator runs the operator as deployed and waits until it leads: the clock
// starts with the first create after that.
func (b *bench) startOperator(ctx context.Context) error {
	kubeconfig, err := b.cp.Kubeconfig()
	if err != nil {
		return err
	}
	path := filepath.Join(b.workDir, "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		return err
	}
	if err := b.cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: leaseNamespace}}); err != nil {
		return err
	}
	b.manager, err = proc.Start("operator", filepath.Join(b.workDir, "operator.log"),
		append([]string{"KUBECONFIG=" + path}, b.run.Env...), b.run.Bin, b.run.Args...)
	if err != nil {
		return err
	}
	if !slices.Contains(b.run.Args, "--leader-elect") {
		time.Sleep(2 * time.Second) // caches sync
		return b.manager.Exited()
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		lease := &coordinationv1.Lease{}
		err := b.cp.Client.Get(ctx, client.ObjectKey{Namespace: leaseNamespace, Name: leaseName}, lease)
		if err == nil && ptr.Deref(lease.Spec.HolderIdentity, "") != "" {
			time.Sleep(time.Second) // the controller's caches sync after it leads
			return b.manager.Exited()
		}
		if err := b.manager.Exited(); err != nil {
			return b.withLog(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return b.withLog(fmt.Errorf("the operator did not take the lease within a minute"))
}

// prepareNamespaces creates one namespace per environment with the Secrets and the
// solution package.
func (b *bench) prepareNamespaces(ctx context.Context, prefix string) error {
	pkg, err := solution.Build(solution.Package{UniqueName: "MicrosoftDynamicsNavIntegration", Version: "25.0.1.0", Managed: true})
	if err != nil {
		return err
	}
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
			if err := b.cp.Client.Create(ctx, o); err != nil {
				return fmt.Errorf("creating %s: %w", o.GetName(), err)
			}
		}
	}
	return nil
}

// createConnections creates n SalesConnections one by one, as an apply does, spread over
// the environments, each linking its own Business Central company and asking for
// everything (import, roles, link, sales-order flag).
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

// importNotice is, per environment, how long after its import job completed the
// operator's poll saw it (the first read of the running imports after the completion);
// and how many imports ran in all.
func (b *bench) importNotice() (median, worst time.Duration, imports int) {
	requests := b.sim.Requests()
	var lags []time.Duration
	for i := 0; i < b.o.environments; i++ {
		jobs := b.sim.Environment(envName(i)).ImportJobs()
		imports += len(jobs)
		if len(jobs) == 0 || jobs[len(jobs)-1].CompletedOn.IsZero() {
			continue
		}
		done := jobs[len(jobs)-1].CompletedOn
		for _, r := range requests {
			if r.Environment == envName(i) && r.Operation == "ListImportJobs" && r.Time.After(done) {
				lags = append(lags, r.Time.Sub(done))
				break
			}
		}
	}
	if len(lags) == 0 {
		return 0, 0, imports
	}
	slices.Sort(lags)
	return lags[len(lags)/2], lags[len(lags)-1], imports
}

// steadyState starts one pass of every connection (a change of the Secret they name,
// which reaches each as a resync does) and counts what the passes cost.
func (b *bench) steadyState(ctx context.Context, n int, res *result) error {
	time.Sleep(2 * time.Second)
	writesBefore := b.watch.writeCount("op-")
	b.sim.ResetRequests()
	for i := 0; i < b.o.environments; i++ {
		s := &corev1.Secret{}
		if err := b.cp.Client.Get(ctx, client.ObjectKey{Namespace: "op-" + envName(i), Name: "integration"}, s); err != nil {
			return err
		}
		s.Labels = map[string]string{"resync": strconv.FormatInt(time.Now().UnixNano(), 10)}
		if err := b.cp.Client.Update(ctx, s); err != nil {
			return err
		}
	}
	// Every steady pass reads the integration user with its roles once.
	deadline := time.Now().Add(5 * time.Minute)
	for b.sim.CountRequests(func(r dataversesim.Request) bool { return r.Operation == "GetSystemUser" }) < n && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	reads := b.sim.CountRequests(func(r dataversesim.Request) bool { return r.Environment != "" && !r.Write() })
	writes := b.sim.CountRequests(func(r dataversesim.Request) bool { return r.Write() })
	res.steadyReads, res.steadyWrites = float64(reads)/float64(n), float64(writes)/float64(n)
	res.steadyObjectWrites = b.watch.writeCount("op-") - writesBefore
	res.steadyByOperation = b.requestsByOperation(n)
	return nil
}

// createAppliedSecrets creates Secrets the way `kubectl apply` does: with the whole
// object, data included, in the last-applied-configuration annotation.
func (b *bench) createAppliedSecrets(ctx context.Context, count int) error {
	ns := "applied"
	if err := b.cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return err
	}
	payload := []byte(strings.Repeat("x", 1024))
	for i := 0; i < count; i++ {
		s := &corev1.Secret{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("s-%05d", i)}, Data: map[string][]byte{"data": payload}}
		applied, err := json.Marshal(s)
		if err != nil {
			return err
		}
		s.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: string(applied)}
		if err := b.cp.Client.Create(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// cpuTime reads the process's user and system time from /proc/<pid>/stat (in clock
// ticks of 1/100 s, USER_HZ on Linux).
func cpuTime(p *proc.Process) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID()))
	if err != nil {
		return 0
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndex(s, ")")+1:])
	if len(fields) < 13 {
		return 0
	}
	// After the command name: state is field 3; utime and stime are fields 14 and 15.
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
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

// requestsByOperation lists the Dataverse requests per connection by operation, most
// frequent first.
func (b *bench) requestsByOperation(n int) string {
	counts := map[string]int{}
	for _, r := range b.sim.Requests() {
		if r.Environment != "" {
			counts[r.Operation]++
		}
	}
	ops := make([]string, 0, len(counts))
	for op := range counts {
		ops = append(ops, op)
	}
	slices.SortFunc(ops, func(a, c string) int { return counts[c] - counts[a] })
	parts := make([]string, 0, len(ops))
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s %.2f", op, float64(counts[op])/float64(n)))
	}
	return strings.Join(parts, ", ")
}

// sampleMax samples f every 50 ms until ctx ends or the returned function is called,
// which returns the largest value seen.
func sampleMax(ctx context.Context, f func() int64) func() int64 {
	var mu sync.Mutex
	var peak int64
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			v := f()
			mu.Lock()
			peak = max(peak, v)
			mu.Unlock()
			select {
			case <-t.C:
			case <-stop:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	var once sync.Once
	return func() int64 {
		once.Do(func() { close(stop) })
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
