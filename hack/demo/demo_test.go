package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/hack/internal/proc"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// TestDemoEndToEnd runs `DEMO_KEEP=1 make demo`'s program with freshly built binaries and
// checks what a newcomer sees: one connection Ready, one Stalled with a message that says
// what to fix, the kubectl printout, a KUBECONFIG that works while it keeps running, and,
// after Ctrl-C, no process or port left behind.
func TestDemoEndToEnd(t *testing.T) {
	managerBin, simBin := buildDemoBinaries(t)
	out := &syncBuffer{}
	o := options{managerBin: managerBin, simBin: simBin, workDir: t.TempDir(), timeout: 2 * time.Minute, keep: true, out: out}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	type result struct {
		d   *demo
		err error
	}
	done := make(chan result, 1)
	go func() {
		d, err := run(ctx, o)
		done <- result{d, err}
	}()

	// Kept running: the printed KUBECONFIG reaches the demo's cluster.
	kubeconfig := waitForOutput(t, out, done, regexp.MustCompile(`export KUBECONFIG=(\S+)`))
	assets, err := testenv.AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(assets, "kubectl"), "get", "salesconnections", "-o", "name")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	if got, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(got), "contoso") {
		t.Errorf("kubectl with the printed KUBECONFIG: %v: %s", err, got)
	}

	cancel() // Ctrl-C
	res := <-done
	if res.err != nil {
		t.Fatalf("demo: %v\n%s", res.err, out.String())
	}
	d := res.d
	if !meta.IsStatusConditionTrue(d.outcome.Ready.Status.Conditions, string(salesv1alpha1.ConditionReady)) {
		t.Errorf("contoso is not Ready")
	}
	stalled := d.outcome.Stalled.Status.GetCondition(salesv1alpha1.ConditionStalled)
	if stalled.Reason != "AuthenticationFailed" || !strings.Contains(stalled.Message, "Secret default/fabrikam-integration") {
		t.Errorf("fabrikam's Stalled message must say which Secret to fix: %s: %s", stalled.Reason, stalled.Message)
	}
	printed := out.String()
	for _, want := range []string{"NAME", "READY", "contoso", "True", "fabrikam", "AuthenticationFailed", "25.0.1.0", "svc-bc@contoso.com",
		"SolutionImported=True", "Tearing down"} {
		if !strings.Contains(printed, want) {
			t.Errorf("the demo output lacks %q:\n%s", want, printed)
		}
	}
	assertNothingLeft(t, d)
}

// TestDemoTearsDownWhenItFails: an operator that cannot start ends the demo with its
// error, and what was already running (control plane, simulator) is stopped.
func TestDemoTearsDownWhenItFails(t *testing.T) {
	_, simBin := buildDemoBinaries(t)
	broken := filepath.Join(t.TempDir(), "manager")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\necho 'cannot start' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := options{managerBin: broken, simBin: simBin, workDir: t.TempDir(), timeout: time.Minute, out: &out}
	d, err := run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "operator stopped") || !strings.Contains(err.Error(), "cannot start") {
		t.Fatalf("run with a broken operator = %v, want the operator's exit and log", err)
	}
	assertNothingLeft(t, d)
}

// assertNothingLeft checks that the demo's processes are gone and their ports free.
func assertNothingLeft(t *testing.T, d *demo) {
	t.Helper()
	for _, p := range []*proc.Process{d.manager, d.sim} {
		if p == nil {
			continue
		}
		if err := syscall.Kill(p.PID(), 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still runs after teardown", p.Name, p.PID())
		}
	}
	addrs := d.addresses()
	if len(addrs) < 3 {
		t.Errorf("the demo recorded %d addresses (%v), want kube-apiserver, etcd and the simulator at least", len(addrs), addrs)
	}
	for _, addr := range addrs {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s is still taken after teardown: %v", addr, err)
			continue
		}
		l.Close()
	}
}

func buildDemoBinaries(t *testing.T) (managerBin, simBin string) {
	t.Helper()
	bin := t.TempDir()
	root := testenv.RepoRoot()
	for target, pkg := range map[string]string{"manager": ".", "dataverse-sim": "./cmd/dataverse-sim"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, target), pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", target, err, out)
		}
	}
	return filepath.Join(bin, "manager"), filepath.Join(bin, "dataverse-sim")
}

// waitForOutput waits until the demo prints a line matching re and returns its first
// group, or fails when the demo ends first.
func waitForOutput[T any](t *testing.T, out *syncBuffer, done <-chan T, re *regexp.Regexp) string {
	t.Helper()
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case r := <-done:
			t.Fatalf("the demo ended (%+v) before printing %s:\n%s", r, re, out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// syncBuffer is the demo's output, written by run and read by the test meanwhile.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
