package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/hack/internal/proc"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// TestDemoEndToEnd runs `make demo`'s program with freshly built binaries and checks
// what a newcomer sees: one connection Ready, one Stalled with a message that says what
// to fix, the kubectl printout, and nothing left running.
func TestDemoEndToEnd(t *testing.T) {
	bin := t.TempDir()
	root := testenv.RepoRoot()
	for target, pkg := range map[string]string{"manager": ".", "dataverse-sim": "./cmd/dataverse-sim"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, target), pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", target, err, out)
		}
	}
	var out bytes.Buffer
	o := options{managerBin: filepath.Join(bin, "manager"), simBin: filepath.Join(bin, "dataverse-sim"),
		workDir: t.TempDir(), timeout: 2 * time.Minute, out: &out}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	d, err := start(ctx, o)
	if d != nil {
		defer d.teardown()
	}
	if err != nil {
		t.Fatalf("starting the demo: %v\n%s", err, out.String())
	}
	outcome, err := d.applyAndWatch(ctx)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if err := d.report(outcome); err != nil {
		t.Fatal(err)
	}
	if !meta.IsStatusConditionTrue(outcome.Ready.Status.Conditions, salesv1alpha1.ConditionReady) {
		t.Errorf("contoso is not Ready")
	}
	stalled := meta.FindStatusCondition(outcome.Stalled.Status.Conditions, salesv1alpha1.ConditionStalled)
	if stalled.Reason != "AuthenticationFailed" || !strings.Contains(stalled.Message, "Secret default/fabrikam-integration") {
		t.Errorf("fabrikam's Stalled message must say which Secret to fix: %s: %s", stalled.Reason, stalled.Message)
	}
	printed := out.String()
	for _, want := range []string{"NAME", "READY", "contoso", "True", "fabrikam", "AuthenticationFailed", "25.0.1.0", "svc-bc@contoso.com",
		"SolutionImported=True"} {
		if !strings.Contains(printed, want) {
			t.Errorf("the demo output lacks %q:\n%s", want, printed)
		}
	}

	// Teardown leaves no process behind.
	d.teardown()
	for _, p := range []*proc.Process{d.manager, d.sim} {
		if p.Exited() == nil {
			t.Errorf("%s still runs after teardown", p.Name)
		}
	}
	d.cp, d.manager, d.sim = nil, nil, nil
}
