package main

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataversesim"
)

// The run's verdicts must see what they look for.
func TestRetryAfterViolationsAreFound(t *testing.T) {
	t0 := time.Now()
	requests := []dataversesim.Request{
		{Time: t0.Add(-30 * time.Millisecond), Answered: t0, Environment: "env00", Operation: "WhoAmI", Status: 429, RetryAfter: 2 * time.Second},
		{Time: t0.Add(50 * time.Millisecond), Environment: "env00", Operation: "WhoAmI", Status: 200},   // in flight already
		{Time: t0.Add(time.Second), Environment: "env00", Operation: "ListSolutions", Status: 200},      // inside: a violation
		{Time: t0.Add(time.Second), Environment: "env01", Operation: "ListSolutions", Status: 200},      // another environment
		{Time: t0.Add(2500 * time.Millisecond), Environment: "env00", Operation: "WhoAmI", Status: 200}, // after the window
	}
	if got, inFlight := retryAfterViolations(requests); len(got) != 1 || inFlight != 1 {
		t.Errorf("violations %v and %d in flight, want the one request a second into the window, and one in flight", got, inFlight)
	}
}

func TestFalseReadyIsFound(t *testing.T) {
	sc := &salesv1alpha1.SalesConnection{}
	sc.Status.Conditions = []metav1.Condition{
		{Type: string(salesv1alpha1.ConditionReady), Status: metav1.ConditionTrue},
		{Type: string(salesv1alpha1.ConditionRolesAssigned), Status: metav1.ConditionFalse},
	}
	if step, bad := isFalseReady(sc); !bad || step != salesv1alpha1.ConditionRolesAssigned {
		t.Errorf("isFalseReady = %s, %v; want RolesAssigned", step, bad)
	}
	sc.Status.Conditions[1].Status = metav1.ConditionTrue
	if _, bad := isFalseReady(sc); bad {
		t.Error("a consistent Ready is reported false")
	}
}
