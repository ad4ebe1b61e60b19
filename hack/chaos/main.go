// Command chaos runs the operator, as deployed, under combined faults: SalesConnections
// over simulated environments that answer 5xx, 429 with Retry-After, drop connections,
// fail sign-ins and answer slowly, while the operator is killed with SIGKILL every 15 s
// and started again, and kube-apiserver is restarted once halfway (etcd keeps its data).
// An operator that exits because the API server was away (a lost leader lease, no API
// server at start) is started again, as the kubelet would; any other exit fails the run.
// Then the faults stop. It prints one summary line and exits non-zero unless every
// connection reaches Ready, each environment had exactly one import, no request went to
// an environment inside a Retry-After window, no log shows a panic or a secret
// (internal/leaksweep), no object ever showed Ready=True while one of its steps was
// False, and nothing is left running. CHAOS_SCALE=small (make test) is a shorter,
// smaller run.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/hack/internal/deployed"
	"github.com/bcconnect/salesconnection-operator/hack/internal/proc"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
	"github.com/bcconnect/salesconnection-operator/internal/leaksweep"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// scale is the size of a run.
type scale struct {
	connections, environments int
	// faulty is how long faults and kills go on; killEvery how often the operator dies.
	faulty, killEvery time.Duration
	// settle bounds the wait for every connection Ready once the faults stop.
	settle time.Duration
}

var scales = map[string]scale{
	"full":  {connections: 200, environments: 10, faulty: 3 * time.Minute, killEvery: 15 * time.Second, settle: 5 * time.Minute},
	"small": {connections: 30, environments: 3, faulty: 60 * time.Second, killEvery: 15 * time.Second, settle: 3 * time.Minute},
}

const (
	leaseNamespace = "salesconnection-system"
	// retryAfterGrace: a request that reached the environment this soon after a 429's
	// answer may have been sent before the operator read that answer (another worker's
	// request, on a loaded machine); such requests are counted apart, as in flight.
	retryAfterGrace = 250 * time.Millisecond
)

func main() {
	name := os.Getenv("CHAOS_SCALE")
	if name == "" {
		name = "full"
	}
	sc, ok := scales[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "chaos: CHAOS_SCALE=%q: want full or small\n", name)
		os.Exit(2)
	}
	ctrl.SetLogger(logr.Discard())
	summary, err := run(context.Background(), name, sc)
	if err != nil {
		fmt.Println("chaos: FAIL:", err)
		os.Exit(1)
	}
	fmt.Println(summary)
	if strings.Contains(summary, "FAIL") {
		os.Exit(1)
	}
}

func run(ctx context.Context, name string, sc scale) (string, error) {
	w, err := newWorld(sc)
	if err != nil {
		return "", err
	}
	defer w.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watcher, err := watchSteps(ctx, w.cp)
	if err != nil {
		return "", err
	}
	w.injectFaults()
	if err := w.startOperator(); err != nil {
		return "", err
	}
	if err := w.createConnections(ctx); err != nil {
		return "", err
	}

	// Kill and restart the operator until the faulty time is over; restart the API
	// server once, halfway.
	kills, apiExits := 0, 0
	var apiDowntime time.Duration
	end := time.Now().Add(sc.faulty)
	apiRestart := time.After(sc.faulty / 2)
	type restartResult struct {
		downtime time.Duration
		err      error
	}
	apiRestarted := make(chan restartResult, 1)
	restarting := false
	tokenOutage := time.NewTicker(10 * time.Second)
	defer tokenOutage.Stop()
	supervise := time.NewTicker(time.Second)
	defer supervise.Stop()
	nextKill := time.Now().Add(sc.killEvery)
	for time.Now().Before(end) {
		select {
		case <-tokenOutage.C:
			// The sign-in service is down for 2 s of every 10.
			w.sim.Faults().TokenEndpointOutage(true)
			time.AfterFunc(2*time.Second, func() { w.sim.Faults().TokenEndpointOutage(false) })
		case <-apiRestart:
			// In the background: the operator keeps being killed meanwhile.
			restarting = true
			w.apiAwayUntil = time.Now().Add(time.Hour)
			go func() {
				d, err := w.cp.RestartAPIServer(ctx)
				apiRestarted <- restartResult{d, err}
			}()
		case r := <-apiRestarted:
			if r.err != nil {
				return "", fmt.Errorf("restarting kube-apiserver: %w", r.err)
			}
			apiDowntime, restarting = r.downtime, false
			w.apiAwayUntil = time.Now().Add(apiAfterRestart)
		case <-supervise.C:
			restarted, err := w.restartIfExited()
			if err != nil {
				return "", err
			}
			if restarted {
				apiExits++
			}
		case <-time.After(time.Until(nextKill)):
			if restarted, err := w.restartIfExited(); err != nil {
				return "", err
			} else if restarted {
				apiExits++
			}
			if err := w.kill(); err != nil {
				return "", err
			}
			kills++
			if err := w.startOperator(); err != nil {
				return "", err
			}
			nextKill = time.Now().Add(sc.killEvery)
		}
	}
	if restarting {
		r := <-apiRestarted
		if r.err != nil {
			return "", fmt.Errorf("restarting kube-apiserver: %w", r.err)
		}
		apiDowntime = r.downtime
	}
	w.clearFaults()
	ready, readyErr := w.waitAllReady(ctx, sc.settle)
	w.stopOperator()

	var failures []string
	if readyErr != nil {
		failures = append(failures, readyErr.Error())
	}
	imports := 0
	for i := 0; i < sc.environments; i++ {
		n := len(w.sim.Environment(envName(i)).ImportJobs())
		imports += n
		if n != 1 {
			failures = append(failures, fmt.Sprintf("%s had %d imports", envName(i), n))
		}
	}
	requests := w.sim.Requests()
	violations, inFlight := retryAfterViolations(requests)
	if len(violations) > 0 {
		failures = append(failures, fmt.Sprintf("%d requests inside a Retry-After window (first: %s)", len(violations), violations[0]))
	}
	panics := w.panics()
	if len(panics) > 0 {
		failures = append(failures, "a panic in "+strings.Join(panics, ", "))
	}
	if err := w.leakSweep(ctx); err != nil {
		failures = append(failures, "the secret-leak sweep: "+err.Error())
	}
	falseReady := watcher.falseReady()
	if len(falseReady) > 0 {
		failures = append(failures, fmt.Sprintf("Ready=True with a step False: %s", falseReady[0]))
	}
	if leftover := w.leftover(); leftover != "" {
		failures = append(failures, leftover)
	}
	count := func(match func(dataversesim.Request) bool) int {
		n := 0
		for _, r := range requests {
			if r.Environment != "" && match(r) {
				n++
			}
		}
		return n
	}
	verdict := "PASS"
	if len(failures) > 0 {
		verdict = "FAIL: " + strings.Join(failures, "; ")
	}
	return fmt.Sprintf("chaos %s: %d connections over %d environments, %s of faults, %d kills, kube-apiserver restarted once (down %s; %d operator exits while it was away, restarted); %d Dataverse requests (%d 5xx, %d 429, %d dropped), %d token requests refused; %d/%d Ready, %d imports, %d requests inside Retry-After windows (and %d in flight when one began), %d panics, %d false Ready: %s",
		name, sc.connections, sc.environments, sc.faulty, kills, apiDowntime.Round(100*time.Millisecond), apiExits,
		count(func(dataversesim.Request) bool { return true }),
		count(func(r dataversesim.Request) bool { return r.Status >= 500 }),
		count(func(r dataversesim.Request) bool { return r.Status == 429 }),
		count(func(r dataversesim.Request) bool { return r.Dropped }),
		countAll(requests, func(r dataversesim.Request) bool { return r.Operation == "Token" && r.Status >= 500 }),
		ready, sc.connections, imports, len(violations), inFlight, len(panics), len(falseReady), verdict), nil
}

func countAll(requests []dataversesim.Request, match func(dataversesim.Request) bool) int {
	n := 0
	for _, r := range requests {
		if match(r) {
			n++
		}
	}
	return n
}

// retryAfterViolations lists the requests that reached an environment inside a
// Retry-After window it had given, and counts those in flight when it was given.
func retryAfterViolations(requests []dataversesim.Request) (violations []string, inFlight int) {
	type window struct{ start, end time.Time }
	windows := map[string][]window{}
	for _, r := range requests {
		if r.Environment != "" && r.Status == 429 && r.RetryAfter > 0 {
			// The window runs from the answer, which the simulator writes after its latency.
			windows[r.Environment] = append(windows[r.Environment], window{r.Answered, r.Answered.Add(r.RetryAfter)})
		}
	}
	for _, r := range requests {
		for _, w := range windows[r.Environment] {
			if !r.Time.After(w.start) || !r.Time.Before(w.end) {
				continue
			}
			if r.Time.Before(w.start.Add(retryAfterGrace)) {
				inFlight++
			} else {
				violations = append(violations, fmt.Sprintf("%s %s at %s, %s into a %s window",
					r.Environment, r.Operation, r.Time.Format("15:04:05.000"), r.Time.Sub(w.start).Round(time.Millisecond), w.end.Sub(w.start)))
			}
			break
		}
	}
	return violations, inFlight
}

// world is the control plane, the simulator and the operator processes.
type world struct {
	sc       scale
	cp       *testenv.Env
	sim      *dataversesim.Server
	dir      string
	operator *proc.Process
	started  int
	logs     []string
	// apiAwayUntil: until then an operator exit is put down to the API server's restart
	// (set far ahead when it begins, to 30 s after it answers again when it ends).
	apiAwayUntil time.Time
}

// apiAfterRestart is how long after the API server is back an operator exit still
// counts as caused by its restart (a replica that started during the outage and found
// discovery failing, a lease renewal that failed at the end of it).
const apiAfterRestart = 30 * time.Second

func newWorld(sc scale) (*world, error) {
	w := &world{sc: sc}
	var err error
	if w.dir, err = os.MkdirTemp("", "salesconnection-chaos-"); err != nil {
		return nil, err
	}
	if w.cp, err = testenv.Start(); err != nil {
		w.close()
		return nil, err
	}
	if err := w.startSimulator(); err != nil {
		w.close()
		return nil, err
	}
	if err := w.prepareNamespaces(context.Background()); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *world) close() {
	w.stopOperator()
	if w.sim != nil {
		_ = w.sim.Close()
	}
	if w.cp != nil {
		_ = w.cp.Stop()
	}
	_ = os.RemoveAll(w.dir)
}

// injectFaults: 20% 5xx, 5% 429 with a 2 s Retry-After, 2% dropped connections and
// 30 ms per request in every environment; sign-in outages come from the run loop.
func (w *world) injectFaults() {
	for i := 0; i < w.sc.environments; i++ {
		f := w.sim.Environment(envName(i)).Faults()
		f.SetErrorRate(503, 0.15)
		f.SetErrorRate(500, 0.05)
		f.SetErrorRate(429, 0.05)
		f.ThrottleAfter(1<<30, time.Hour, 2*time.Second) // sets the 429s' Retry-After
		f.SetDropRate(0.02)
		f.SetLatency(30 * time.Millisecond)
	}
}

func (w *world) clearFaults() {
	for i := 0; i < w.sc.environments; i++ {
		f := w.sim.Environment(envName(i)).Faults()
		f.SetErrorRate(503, 0)
		f.SetErrorRate(500, 0)
		f.SetErrorRate(429, 0)
		f.ThrottleAfter(0, 0, 0)
		f.SetDropRate(0)
	}
	w.sim.Faults().TokenEndpointOutage(false)
}

func (w *world) startOperator() error {
	kubeconfig, err := w.cp.Kubeconfig()
	if err != nil {
		return err
	}
	path := filepath.Join(w.dir, "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		return err
	}
	port, err := proc.FreePort()
	if err != nil {
		return err
	}
	op, err := deployed.Read(".", "chaos", leaseNamespace, port)
	if err != nil {
		return err
	}
	w.started++
	log := filepath.Join(w.dir, fmt.Sprintf("operator-%02d.log", w.started))
	w.logs = append(w.logs, log)
	w.operator, err = proc.Start("operator", log, append([]string{"KUBECONFIG=" + path}, op.Env...), op.Bin, op.Args...)
	return err
}

// kill ends the operator with SIGKILL, as a node failure or the OOM killer does.
func (w *world) kill() error {
	if w.operator == nil {
		return nil
	}
	if err := w.operator.Exited(); err != nil {
		return fmt.Errorf("the operator exited on its own: %w\n%s", err, proc.Tail(w.logs[len(w.logs)-1], 3000))
	}
	_ = syscall.Kill(-w.operator.PID(), syscall.SIGKILL)
	w.operator.Stop() // waits for the exit
	w.operator = nil
	return nil
}

// restartIfExited starts the operator again when it exited because the API server was
// away: during its restart or shortly after, or, at any time, because it lost its leader
// lease or could not reach the API server at start. The
// kubelet restarts a container that exits; the operator relies on that. Any other exit
// is an error.
func (w *world) restartIfExited() (bool, error) {
	if w.operator == nil || w.operator.Exited() == nil {
		return false, nil
	}
	tail := proc.Tail(w.logs[len(w.logs)-1], 3000)
	away := time.Now().Before(w.apiAwayUntil)
	if !away && !strings.Contains(tail, "leader election lost") && !strings.Contains(tail, "connect: connection refused") {
		return false, fmt.Errorf("the operator exited on its own: %w\n%s", w.operator.Exited(), tail)
	}
	w.operator.Stop()
	w.operator = nil
	return true, w.startOperator()
}

func (w *world) stopOperator() {
	if w.operator != nil {
		w.operator.Stop()
		w.operator = nil
	}
}

// leakSweep searches every operator log, status, event and ConfigMap for the secrets
// the run handed the operator.
func (w *world) leakSweep(ctx context.Context) error {
	var sweep leaksweep.Sweep
	sweep.Register(map[string]string{"clientSecret": adminSecret})
	sweep.Register(map[string]string{"clientSecret": integrationSec})
	for _, log := range w.logs {
		sweep.AddLogFile(log)
	}
	return sweep.Check(ctx, w.cp.Client, nil)
}

// panics names the operator logs that mention a panic.
func (w *world) panics() []string {
	var out []string
	for _, log := range w.logs {
		data, _ := os.ReadFile(log)
		if strings.Contains(strings.ToLower(string(data)), "panic") {
			out = append(out, filepath.Base(log))
		}
	}
	return out
}

// leftover reports an operator process still running.
func (w *world) leftover() string {
	if w.operator != nil {
		return "the operator is still running"
	}
	return ""
}

func (w *world) waitAllReady(ctx context.Context, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	ready := 0
	for time.Now().Before(deadline) {
		list := &salesv1alpha1.SalesConnectionList{}
		if err := w.cp.Client.List(ctx, list); err != nil {
			return 0, err
		}
		ready = 0
		for _, sc := range list.Items {
			if sc.Status.ObservedGeneration == sc.Generation && meta.IsStatusConditionTrue(sc.Status.Conditions, string(salesv1alpha1.ConditionReady)) {
				ready++
			}
		}
		if ready == w.sc.connections {
			return ready, nil
		}
		if w.operator != nil {
			if err := w.operator.Exited(); err != nil {
				return ready, fmt.Errorf("the operator exited: %w", err)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	return ready, fmt.Errorf("%d of %d connections Ready %s after the faults stopped", ready, w.sc.connections, timeout)
}

// blockingSteps are the conditions Ready may never be True beside while False.
var blockingSteps = []salesv1alpha1.ConditionType{
	salesv1alpha1.ConditionConnectionVerified, salesv1alpha1.ConditionIntegrationUserPrepared,
	salesv1alpha1.ConditionSolutionImported, salesv1alpha1.ConditionRolesAssigned,
	salesv1alpha1.ConditionBusinessCentralLinked, salesv1alpha1.ConditionSalesOrderIntegrationConfigured,
}

// isFalseReady reports an object that shows Ready=True while a step is False.
func isFalseReady(sc *salesv1alpha1.SalesConnection) (salesv1alpha1.ConditionType, bool) {
	if !meta.IsStatusConditionTrue(sc.Status.Conditions, string(salesv1alpha1.ConditionReady)) {
		return "", false
	}
	for _, step := range blockingSteps {
		if meta.IsStatusConditionFalse(sc.Status.Conditions, string(step)) {
			return step, true
		}
	}
	return "", false
}
