package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/hack/internal/proc"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// The demo's two connections: one that ends Ready, one with a wrong secret.
const (
	readyName   = "contoso"
	stalledName = "fabrikam"
	// sampleBase is the simulator address written in config/samples/demo; the demo
	// replaces it with the address the simulator really got.
	sampleBase = "https://127.0.0.1:18443"
)

type options struct {
	managerBin, simBin, workDir string
	timeout                     time.Duration
	keep                        bool
	out                         io.Writer
}

// demo is the running set of processes.
type demo struct {
	o           options
	cp          *testenv.Env
	sim         *proc.Process
	manager     *proc.Process
	simURL      string
	simAddr     string
	probeAddr   string
	kubeconfig  string
	kubectlPath string
	root        string
	outcome     *Outcome
}

// Outcome is what the demo ended with.
type Outcome struct {
	Ready, Stalled *salesv1alpha1.SalesConnection
}

// start starts the control plane, the simulator and the operator.
func start(ctx context.Context, o options) (*demo, error) {
	root := testenv.RepoRoot()
	d := &demo{o: o, root: root}
	if err := os.MkdirAll(o.workDir, 0o755); err != nil {
		return nil, err
	}
	assets, err := testenv.AssetsDir()
	if err != nil {
		return nil, err
	}
	d.kubectlPath = filepath.Join(assets, "kubectl")

	d.step("Starting etcd and kube-apiserver (%s)", assets)
	if d.cp, err = testenv.Start(); err != nil {
		return d, err
	}
	kubeconfig, err := d.cp.Kubeconfig()
	if err != nil {
		return d, err
	}
	d.kubeconfig = filepath.Join(o.workDir, "kubeconfig")
	if err := os.WriteFile(d.kubeconfig, kubeconfig, 0o600); err != nil {
		return d, err
	}

	port, err := proc.FreePort()
	if err != nil {
		return d, err
	}
	d.simAddr = "127.0.0.1:" + strconv.Itoa(port)
	d.simURL = "https://" + d.simAddr
	caFile := filepath.Join(o.workDir, "ca.crt")
	_ = os.Remove(caFile)
	d.step("Starting the Dataverse simulator at %s (environment contoso; an administrator and an integration user)", d.simURL)
	simLog := filepath.Join(o.workDir, "dataverse-sim.log")
	d.sim, err = proc.Start("dataverse-sim", simLog, nil, o.simBin,
		"--config", filepath.Join(root, "cmd", "dataverse-sim", "example-config.yaml"),
		"--addr", d.simAddr, "--ca-out", caFile)
	if err != nil {
		return d, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := proc.WaitForFile(waitCtx, caFile, d.sim); err != nil {
		return d, fmt.Errorf("%w\n%s", err, proc.Tail(simLog, 2000))
	}

	probePort, err := proc.FreePort()
	if err != nil {
		return d, err
	}
	d.probeAddr = "127.0.0.1:" + strconv.Itoa(probePort)
	managerLog := filepath.Join(o.workDir, "operator.log")
	d.step("Starting the operator (log: %s)", managerLog)
	d.manager, err = proc.Start("operator", managerLog, []string{"KUBECONFIG=" + d.kubeconfig}, o.managerBin,
		"--metrics-bind-address=0", "--health-probe-bind-address="+d.probeAddr,
		"--zap-log-level=info",
		// The simulator is neither a Microsoft cloud authority nor an online environment.
		"--allowed-authority-hosts=127.0.0.1", "--allowed-environment-domains=127.0.0.1")
	if err != nil {
		return d, err
	}
	if err := waitReadyz(waitCtx, d.probeAddr, d.manager); err != nil {
		return d, fmt.Errorf("%w\n%s", err, proc.Tail(managerLog, 2000))
	}
	return d, nil
}

// teardown stops everything, in reverse order, leaving no process or port behind.
func (d *demo) teardown() error {
	d.manager.Stop()
	d.sim.Stop()
	if d.cp == nil {
		return nil
	}
	if err := d.cp.Stop(); err != nil {
		return fmt.Errorf("stopping kube-apiserver and etcd: %w", err)
	}
	return nil
}

// addresses are the host:port addresses the demo's processes listened on.
func (d *demo) addresses() []string {
	var addrs []string
	if d.cp != nil {
		addrs = append(addrs, d.cp.Addresses()...)
	}
	for _, a := range []string{d.simAddr, d.probeAddr} {
		if a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

func (d *demo) step(format string, args ...any) {
	fmt.Fprintf(d.o.out, "==> "+format+"\n", args...)
}

// applyAndWatch applies the samples and prints condition changes until the demo
// connection is Ready and the wrong-secret one Stalled.
func (d *demo) applyAndWatch(ctx context.Context) (*Outcome, error) {
	ns := "default"
	samples := filepath.Join(d.root, "config", "samples", "demo")
	d.step("Applying %s (Secrets, two SalesConnections), with the simulator's CA Secret and the solution ConfigMap", samples)
	if err := d.kubectlApply(ctx, filepath.Join(samples, "secrets.yaml"), nil); err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(filepath.Join(d.o.workDir, "ca.crt"))
	if err != nil {
		return nil, err
	}
	c := d.cp.Client
	if err := c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "demo-ca"},
		Data: map[string][]byte{"ca.crt": ca}}); err != nil {
		return nil, err
	}
	fmt.Fprintln(d.o.out, "  secret/demo-ca created (the simulator's CA)")
	pkg, err := solution.Build(solution.Package{UniqueName: "MicrosoftDynamicsNavIntegration",
		FriendlyName: "Dynamics 365 Business Central Integration (demo)", Version: "25.0.1.0", Managed: true})
	if err != nil {
		return nil, err
	}
	if err := c.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bc-integration-solution"},
		BinaryData: map[string][]byte{"solution.zip": pkg}}); err != nil {
		return nil, err
	}
	fmt.Fprintln(d.o.out, "  configmap/bc-integration-solution created (a MicrosoftDynamicsNavIntegration 25.0.1.0 package built with internal/solution)")
	manifest, err := os.ReadFile(filepath.Join(samples, "salesconnections.yaml"))
	if err != nil {
		return nil, err
	}
	manifest = bytes.ReplaceAll(manifest, []byte(sampleBase), []byte(d.simURL))
	if err := d.kubectlApply(ctx, "-", manifest); err != nil {
		return nil, err
	}

	d.step("Waiting for %s to be Ready and %s to be Stalled", readyName, stalledName)
	start := time.Now()
	seen := map[string]string{}
	deadline := time.After(d.o.timeout)
	for {
		out := &Outcome{}
		for _, name := range []string{readyName, stalledName} {
			sc := &salesv1alpha1.SalesConnection{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sc); err != nil {
				return nil, err
			}
			d.printChanges(seen, sc, time.Since(start))
			switch {
			case name == readyName && isCurrent(sc) && meta.IsStatusConditionTrue(sc.Status.Conditions, string(salesv1alpha1.ConditionReady)):
				out.Ready = sc
			case name == stalledName && isCurrent(sc) && meta.IsStatusConditionTrue(sc.Status.Conditions, string(salesv1alpha1.ConditionStalled)):
				out.Stalled = sc
			}
		}
		if out.Ready != nil && out.Stalled != nil {
			return out, nil
		}
		if err := d.manager.Exited(); err != nil {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline:
			return nil, fmt.Errorf("the connections did not settle within %s (see %s)", d.o.timeout, filepath.Join(d.o.workDir, "operator.log"))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func isCurrent(sc *salesv1alpha1.SalesConnection) bool {
	return sc.Status.ObservedGeneration == sc.Generation
}

// printChanges prints one line per condition that changed since the last look.
func (d *demo) printChanges(seen map[string]string, sc *salesv1alpha1.SalesConnection, elapsed time.Duration) {
	for _, c := range sc.Status.Conditions {
		key := sc.Name + "/" + c.Type
		now := string(c.Status) + "/" + c.Reason + "/" + c.Message
		if seen[key] == now {
			continue
		}
		seen[key] = now
		fmt.Fprintf(d.o.out, "  [%5.1fs] %-9s %s=%s %s: %s\n", elapsed.Seconds(), sc.Name, c.Type, c.Status, c.Reason, c.Message)
	}
}

// report prints the final state the way a person would look at it.
func (d *demo) report(ctx context.Context, out *Outcome) error {
	d.step("kubectl get salesconnections -o wide")
	if err := d.kubectl(ctx, d.o.out, "get", "salesconnections", "-o", "wide"); err != nil {
		return err
	}
	for _, sc := range []*salesv1alpha1.SalesConnection{out.Ready, out.Stalled} {
		fmt.Fprintf(d.o.out, "\nConditions of %s:\n", sc.Name)
		for _, c := range sc.Status.Conditions {
			fmt.Fprintf(d.o.out, "  %-32s %-5s %-22s %s\n", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	stalled := out.Stalled.Status.GetCondition(salesv1alpha1.ConditionStalled)
	fmt.Fprintf(d.o.out, "\n%s is Ready. %s is Stalled (%s): %s\n", out.Ready.Name, out.Stalled.Name, stalled.Reason, stalled.Message)
	fmt.Fprintf(d.o.out, "To fix %s, put the right clientSecret in Secret default/fabrikam-integration; the operator picks it up within seconds.\n", out.Stalled.Name)
	return nil
}

func (d *demo) kubectl(ctx context.Context, stdout io.Writer, args ...string) error {
	cmd := exec.CommandContext(ctx, d.kubectlPath, append([]string{"--kubeconfig", d.kubeconfig}, args...)...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return nil
}

func (d *demo) kubectlApply(ctx context.Context, file string, stdin []byte) error {
	cmd := exec.CommandContext(ctx, d.kubectlPath, "--kubeconfig", d.kubeconfig, "apply", "-n", "default", "-f", file)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kubectl apply -f %s: %w: %s", file, err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fmt.Fprintln(d.o.out, "  "+line)
	}
	return nil
}

// waitReadyz waits for the operator's readiness probe.
func waitReadyz(ctx context.Context, addr string, p *proc.Process) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	if err != nil {
		return err
	}
	for {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := p.Exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the operator did not become ready: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
