package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

func TestAPassEndsAtItsDeadline(t *testing.T) {
	w := newStepWorld(t)
	w.dv.hang = true
	w.r.PassTimeout = 50 * time.Millisecond
	// Preparation needs Secrets and a pool; this pass starts where it would leave off.
	res := w.r.runSteps(func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), w.r.PassTimeout)
		t.Cleanup(cancel)
		return ctx
	}(), w.s, connectSteps)
	f := res.failure
	if f == nil || f.terminal || f.reason != salesv1alpha1.ReasonUnreachable || !strings.Contains(f.message, "deadline") {
		t.Fatalf("failure %+v, want a retried Unreachable that names the deadline", f)
	}
}

func TestRunPassAppliesThePassTimeout(t *testing.T) {
	w := newStepWorld(t)
	w.r.PassTimeout = 50 * time.Millisecond
	var deadline time.Time
	var ok bool
	probe := step{name: "probe", observe: func(_ *Reconciler, ctx context.Context, _ *scope) (plan, outcome) {
		deadline, ok = ctx.Deadline()
		return plan{}, done()
	}}
	saved := prepareSteps
	prepareSteps = []step{probe}
	t.Cleanup(func() { prepareSteps = saved })
	w.s.obj.Spec.Enabled = new(false)
	w.s.obj.Spec.BusinessCentral = nil
	w.r.runPass(context.Background(), w.s)
	if !ok || time.Until(deadline) > w.r.PassTimeout {
		t.Errorf("the steps ran without the pass deadline (deadline %v, set %v)", deadline, ok)
	}
}

func TestOneEnvironmentGetsItsShareOfTheWorkers(t *testing.T) {
	share := envShare{limit: 2}
	openA, _ := share.tryAcquire("https://a")
	openA() // a has had its first pass
	releaseA1, ok1 := share.tryAcquire("https://a")
	_, ok2 := share.tryAcquire("https://a")
	_, ok3 := share.tryAcquire("https://a")
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("acquired %v %v %v for a; want two, the third refused", ok1, ok2, ok3)
	}
	releaseA1()
	if _, ok := share.tryAcquire("https://a"); !ok {
		t.Error("a released slot is not given again")
	}
}

// TestTheFirstPassAgainstAnEnvironmentRunsAlone: after a start (a restart reconciles
// every object at once) one pass meets the environment before the others follow.
func TestTheFirstPassAgainstAnEnvironmentRunsAlone(t *testing.T) {
	share := envShare{limit: 16}
	first, ok := share.tryAcquire("https://a")
	if !ok {
		t.Fatal("the first pass was refused")
	}
	if _, ok := share.tryAcquire("https://a"); ok {
		t.Error("a second pass ran beside the first pass against a new environment")
	}
	if _, ok := share.tryAcquire("https://b"); !ok {
		t.Error("another environment's first pass waited for a's")
	}
	first()
	for i := range 16 {
		if _, ok := share.tryAcquire("https://a"); !ok {
			t.Fatalf("after the first pass ended, pass %d of the share of 16 was refused", i+1)
		}
	}
}

func TestDeletionNeedsNoSecretWhenNothingWasWritten(t *testing.T) {
	linked := []metav1.Condition{{Type: string(salesv1alpha1.ConditionBusinessCentralLinked), Status: "True"}}
	roles := []metav1.Condition{{Type: string(salesv1alpha1.ConditionRolesAssigned), Status: "True"}}
	cases := []struct {
		name       string
		policy     salesv1alpha1.DeletionPolicy
		observe    bool
		noBC       bool
		generation int64
		conditions []metav1.Condition
		want       bool
	}{
		{name: "Orphan", policy: salesv1alpha1.DeletionPolicyOrphan, generation: 1, conditions: linked},
		{name: "Observe", observe: true, generation: 1, conditions: linked},
		{name: "Disconnect without businessCentral", noBC: true, generation: 1, conditions: linked},
		{name: "Disconnect, never linked", generation: 1, conditions: roles},
		{name: "Disconnect, linked", generation: 1, conditions: linked, want: true},
		{name: "Deprovision, roles given", policy: salesv1alpha1.DeletionPolicyDeprovision, noBC: true, generation: 1, conditions: roles, want: true},
		{name: "Deprovision, never got that far", policy: salesv1alpha1.DeletionPolicyDeprovision, generation: 1},
		{name: "no status (restored from a backup): cleaned up to be safe", generation: 0, want: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newStepWorld(t)
			obj := w.s.obj
			obj.Spec.DeletionPolicy = tc.policy
			if tc.observe {
				obj.Spec.ManagementPolicy = salesv1alpha1.ManagementPolicyObserve
			}
			if tc.noBC {
				obj.Spec.BusinessCentral = nil
			}
			obj.Status.ObservedGeneration = tc.generation
			obj.Status.Conditions = tc.conditions
			if got := needsCleanup(obj); got != tc.want {
				t.Errorf("needsCleanup = %v, want %v", got, tc.want)
			}
		})
	}
}
