package controllers

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// TestLinkURLIsBusinessCentrals: nav_dynamicsnavurl exactly as Business Central writes
// it, so the operator finds the row Business Central wrote, and Business Central the
// operator's (HttpUtility.UrlPathEncode; examples computed from .NET's HttpEncoder).
func TestLinkURLIsBusinessCentrals(t *testing.T) {
	const base = "https://businesscentral.dynamics.com/tenant/Production"
	cases := []struct{ company, want string }{
		{"CRONUS USA, Inc.", base + "?company=CRONUS%20USA,%20Inc."},
		{"Müller & Co", base + "?company=M%c3%bcller%20&%20Co"},
		{"A+B #1/2", base + "?company=A+B%20#1/2"},
		{"Tab\there", base + "?company=Tab%09here"},
		{"Q?x y", base + "?company=Q?x y"},
		{"日本", base + "?company=%e6%97%a5%e6%9c%ac"},
	}
	for _, tc := range cases {
		if got := linkURL(base, tc.company); got != tc.want {
			t.Errorf("linkURL(%q) = %q, want %q", tc.company, got, tc.want)
		}
	}
	// A URL that names a company already is used as it is.
	if got := linkURL(base+"?company=Own", "CRONUS"); got != base+"?company=Own" {
		t.Errorf("a URL with ?company= became %q", got)
	}
	if got := linkName(strings.Repeat("é", 120)); len([]rune(got)) != maxLinkNameLength {
		t.Errorf("nav_name has %d characters, want %d", len([]rune(got)), maxLinkNameLength)
	}
}

func TestOneLinkRowPerEnvironmentAndCompany(t *testing.T) {
	// older asks for the same environment and company, and was there first.
	older := func(w *stepWorld) *salesv1alpha1.SalesConnection {
		o := w.s.obj.DeepCopy()
		o.Namespace, o.Name, o.UID = "other-team", "first", "uid-first"
		o.CreationTimestamp = metav1.NewTime(time.Now().Add(-time.Hour))
		o.Status.Conditions = []metav1.Condition{{Type: string(salesv1alpha1.ConditionConnectionVerified), Status: metav1.ConditionTrue, Reason: "Verified"}}
		return o
	}
	t.Run("the second is refused, naming the first", func(t *testing.T) {
		w := newStepWorld(t)
		w.s.obj.UID, w.s.obj.CreationTimestamp = "uid-second", metav1.Now()
		w = withObjects(w, older(w))
		w.s.solutionInstalled = true
		f := w.run(stepNamed("link")).failure
		if f == nil || f.reason != salesv1alpha1.ReasonLinkConflict || !strings.Contains(f.message, "other-team/first") {
			t.Fatalf("failure %+v, want LinkConflict naming other-team/first", f)
		}
		if len(w.dv.calls) != 0 {
			t.Errorf("the second asked Dataverse %v", w.dv.calls)
		}
	})
	t.Run("disabling the second leaves the first's row", func(t *testing.T) {
		w := newStepWorld(t)
		w.s.obj.UID = "uid-second"
		w = withObjects(w, older(w))
		w.dv.links = []dataverse.NavConnection{{ID: "r", URL: linkURL(w.s.obj.Spec.BusinessCentral.WebClientURL, "CRONUS USA, Inc.")}}
		w.s.obj.Spec.Enabled = new(false)
		w.run(disconnectSteps...)
		if len(w.dv.writes) != 0 || len(w.dv.links) != 1 {
			t.Errorf("writes %v, links %v: the row the first uses was touched", w.dv.writes, w.dv.links)
		}
	})
	t.Run("a first that never signed in to the environment does not hold the link", func(t *testing.T) {
		w := newStepWorld(t)
		w.s.obj.UID = "uid-second"
		first := older(w)
		first.Status.Conditions = []metav1.Condition{{Type: string(salesv1alpha1.ConditionConnectionVerified), Status: metav1.ConditionFalse, Reason: "AuthenticationFailed"}}
		w = withObjects(w, first)
		w.s.solutionInstalled = true
		if res := w.run(stepNamed("link")); !res.isDone() || strings.Join(w.dv.writes, ",") != "CreateNavConnection" {
			t.Errorf("ended %+v with writes %v; want the link made", res.failure, w.dv.writes)
		}
	})
	t.Run("a disabled first does not hold the link", func(t *testing.T) {
		w := newStepWorld(t)
		w.s.obj.UID = "uid-second"
		first := older(w)
		first.Spec.Enabled = new(false)
		w = withObjects(w, first)
		w.s.solutionInstalled = true
		if res := w.run(stepNamed("link")); !res.isDone() || strings.Join(w.dv.writes, ",") != "CreateNavConnection" {
			t.Errorf("ended %+v with writes %v; want the link made", res.failure, w.dv.writes)
		}
	})
}

// withObjects puts objects in the world's Kubernetes.
func withObjects(w *stepWorld, objs ...client.Object) *stepWorld {
	for _, o := range objs {
		w.kube.objects[client.ObjectKeyFromObject(o)] = o
	}
	return w
}
