package controllers

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

func TestSetSummaryKeepsReadyReconcilingStalledConsistent(t *testing.T) {
	enabled, disabled := true, false
	cond := salesv1alpha1.ConditionConnectionVerified
	cases := []struct {
		name    string
		enabled *bool
		res     passResult
		// want is the status of Ready, Reconciling and Stalled; "" means absent.
		wantReady, wantReconciling, wantStalled metav1.ConditionStatus
		wantReason                              salesv1alpha1.Reason
	}{
		{name: "all good", enabled: &enabled, wantReady: "True", wantReason: salesv1alpha1.ReasonReady},
		{name: "disabled", enabled: &disabled, wantReady: "True", wantReason: salesv1alpha1.ReasonDisabled},
		{name: "terminal failure", enabled: &enabled,
			res:       passResult{outcome: failed(stalledOnSpec(salesv1alpha1.ReasonAuthenticationFailed, "bad secret")), condition: cond},
			wantReady: "False", wantStalled: "True", wantReason: salesv1alpha1.ReasonAuthenticationFailed},
		{name: "transient failure", enabled: &enabled,
			res:       passResult{outcome: failed(retrying(salesv1alpha1.ReasonUnreachable, "down")), condition: cond},
			wantReady: "False", wantReconciling: "True", wantReason: salesv1alpha1.ReasonUnreachable},
		{name: "import running", enabled: &enabled,
			res:       passResult{outcome: waiting(salesv1alpha1.ReasonImportInProgress, time.Second, "importing"), condition: salesv1alpha1.ConditionSolutionImported},
			wantReady: "False", wantReconciling: "True", wantReason: salesv1alpha1.ReasonImportInProgress},
		{name: "observe mode with pending changes", enabled: &enabled, res: passResult{pending: []string{"assign role X"}},
			wantReady: "False", wantStalled: "True", wantReason: salesv1alpha1.ReasonPendingChanges},
		{name: "an error that is not a step's", enabled: &enabled, res: passResult{outcome: failed(errors.New("conflict"))},
			wantReady: "False", wantReconciling: "True", wantReason: salesv1alpha1.ReasonRetrying},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := &salesv1alpha1.SalesConnection{}
			obj.Generation = 3
			obj.Spec.Enabled = tc.enabled
			// Start from the opposite state, so stale summary conditions must be removed.
			setCondition(obj, salesv1alpha1.ConditionReconciling, metav1.ConditionTrue, "Old", "old")
			setCondition(obj, salesv1alpha1.ConditionStalled, metav1.ConditionTrue, "Old", "old")
			setSummary(obj, tc.res)

			check := func(condType salesv1alpha1.ConditionType, want metav1.ConditionStatus) {
				c := obj.Status.GetCondition(condType)
				switch {
				case want == "" && c != nil:
					t.Errorf("%s must be absent, got %s/%s", condType, c.Status, c.Reason)
				case want != "" && c == nil:
					t.Errorf("%s missing, want %s", condType, want)
				case want != "" && c.Status != want:
					t.Errorf("%s = %s, want %s", condType, c.Status, want)
				case c != nil && c.ObservedGeneration != 3:
					t.Errorf("%s observedGeneration = %d, want 3", condType, c.ObservedGeneration)
				}
			}
			check(salesv1alpha1.ConditionReady, tc.wantReady)
			check(salesv1alpha1.ConditionReconciling, tc.wantReconciling)
			check(salesv1alpha1.ConditionStalled, tc.wantStalled)
			if r := obj.Status.GetCondition(salesv1alpha1.ConditionReady); r.Reason != string(tc.wantReason) {
				t.Errorf("Ready reason = %s, want %s", r.Reason, tc.wantReason)
			}
			if tc.res.condition != "" {
				if c := obj.Status.GetCondition(tc.res.condition); c == nil || c.Status != "False" || c.Reason != string(tc.wantReason) {
					t.Errorf("the step that ended the pass reports %+v, want False with reason %s", c, tc.wantReason)
				}
			}
			if obj.Status.ObservedGeneration != 3 {
				t.Errorf("status.observedGeneration = %d, want 3", obj.Status.ObservedGeneration)
			}
		})
	}
}

func TestStalledStepMarksLaterStepsUnknown(t *testing.T) {
	obj := &salesv1alpha1.SalesConnection{}
	setCondition(obj, salesv1alpha1.ConditionConnectionVerified, metav1.ConditionTrue, salesv1alpha1.ReasonVerified, "ok")
	setCondition(obj, salesv1alpha1.ConditionSolutionImported, metav1.ConditionTrue, salesv1alpha1.ReasonImported, "ok")
	setCondition(obj, salesv1alpha1.ConditionRolesAssigned, metav1.ConditionTrue, salesv1alpha1.ReasonAssigned, "ok")
	setStepEnded(obj, passResult{outcome: failed(stalledInDataverse(salesv1alpha1.ReasonImportFailed, "broken")), condition: salesv1alpha1.ConditionSolutionImported})

	want := map[salesv1alpha1.ConditionType]metav1.ConditionStatus{
		salesv1alpha1.ConditionConnectionVerified: "True",
		salesv1alpha1.ConditionSolutionImported:   "False",
		salesv1alpha1.ConditionRolesAssigned:      "Unknown",
	}
	for condType, status := range want {
		if c := obj.Status.GetCondition(condType); c == nil || c.Status != status {
			t.Errorf("%s = %v, want %s", condType, c, status)
		}
	}
	if obj.Status.GetCondition(salesv1alpha1.ConditionBusinessCentralLinked) != nil {
		t.Error("a condition that was never set must not appear")
	}
	if c := obj.Status.GetCondition(salesv1alpha1.ConditionRolesAssigned); c.Reason != string(salesv1alpha1.ReasonBlocked) {
		t.Errorf("a step that did not run has reason %s, want %s", c.Reason, salesv1alpha1.ReasonBlocked)
	}
}

func TestTransientFaultLeavesLaterStepsAlone(t *testing.T) {
	obj := &salesv1alpha1.SalesConnection{}
	setCondition(obj, salesv1alpha1.ConditionConnectionVerified, metav1.ConditionTrue, salesv1alpha1.ReasonVerified, "ok")
	setCondition(obj, salesv1alpha1.ConditionSolutionImported, metav1.ConditionTrue, salesv1alpha1.ReasonImported, "ok")
	setStepEnded(obj, passResult{outcome: failed(retrying(salesv1alpha1.ReasonUnreachable, "down")), condition: salesv1alpha1.ConditionConnectionVerified})

	if c := obj.Status.GetCondition(salesv1alpha1.ConditionConnectionVerified); c.Status != "False" || c.Reason != string(salesv1alpha1.ReasonUnreachable) {
		t.Errorf("the failed step = %+v", c)
	}
	if c := obj.Status.GetCondition(salesv1alpha1.ConditionSolutionImported); c.Status != "True" {
		t.Errorf("a later step after a network blip = %+v, want it left True", c)
	}
}

func TestCheckVersion(t *testing.T) {
	cases := []struct {
		sdk, server string
		online      bool
		wantErr     string
	}{
		{"", "9.2.24101.140", false, ""},
		{"9.2", "9.2.24101.140", false, ""},
		{"10.0", "9.2.24101.140", false, ""},
		{"9.1", "9.2.24101.140", false, "older than the on-premises server's 9.2"},
		{"8.2", "9.0.1.1", false, "older than the on-premises server's 9.0"},
		// Business Central's proxy version ids.
		{"91", "9.1.0.5", false, ""},
		{"9", "9.1.0.5", false, "older than the on-premises server's 9.1"},
		{"100", "9.2.24101.140", false, ""},
		// Online, the SDK version is informational, as in Business Central.
		{"9.1", "9.2.24101.140", true, ""},
		{"9", "9.2.24101.140", true, ""},
		// The server itself must be supported, online or not.
		{"", "7.1.0.1", false, "not supported"},
		{"", "6.0.0.1", true, "not supported"},
		{"", "garbage", false, "cannot be read"},
	}
	for _, tc := range cases {
		err := checkVersion(tc.sdk, tc.server, tc.online)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("checkVersion(%q, %q, online %v) = %v, want nil", tc.sdk, tc.server, tc.online, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("checkVersion(%q, %q, online %v) = %v, want %q", tc.sdk, tc.server, tc.online, err, tc.wantErr)
		}
	}
}

func TestReferencedObjectsCoverEverySecretAndConfigMap(t *testing.T) {
	sc := &salesv1alpha1.SalesConnection{Spec: salesv1alpha1.SalesConnectionSpec{
		Authentication: salesv1alpha1.Authentication{SecretRef: &salesv1alpha1.LocalObjectReference{Name: "integration"}},
		Administrator:  &salesv1alpha1.Authentication{SecretRef: &salesv1alpha1.LocalObjectReference{Name: "admin"}},
		TLS:            &salesv1alpha1.TLSConfig{CASecretRef: &salesv1alpha1.KeyReference{Name: "ca", Key: "ca.crt"}},
		BusinessCentral: &salesv1alpha1.BusinessCentral{ItemAvailability: &salesv1alpha1.ItemAvailability{
			AccessKeySecretRef: &salesv1alpha1.KeyReference{Name: "odata", Key: "accessKey"}}},
		IntegrationSolution:      &salesv1alpha1.IntegrationSolution{PackageRef: &salesv1alpha1.KeyReference{Name: "package", Key: "solution.zip"}},
		WriteConnectionProfileTo: &salesv1alpha1.LocalObjectReference{Name: "profile"},
	}}
	if got := strings.Join(referencedSecrets(sc), ","); got != "integration,admin,ca,odata" {
		t.Errorf("referencedSecrets = %s", got)
	}
	if got := strings.Join(referencedConfigMaps(sc), ","); got != "package,profile" {
		t.Errorf("referencedConfigMaps = %s", got)
	}
}

func TestConnectionStringHasPlaceholdersOnly(t *testing.T) {
	obj := &salesv1alpha1.SalesConnection{}
	obj.Status.URL = "https://contoso.crm4.dynamics.com"
	obj.Spec.SDKVersion = "9.2"
	cases := map[salesv1alpha1.AuthenticationType]string{
		salesv1alpha1.AuthenticationClientSecret: "AuthType=ClientSecret; Url=https://contoso.crm4.dynamics.com; ClientId={CLIENTID}; ClientSecret={CLIENTSECRET}; ProxyVersion=9.2",
		salesv1alpha1.AuthenticationOAuth:        "AuthType=OAuth; Url=https://contoso.crm4.dynamics.com; UserName={USERNAME}; Password={PASSWORD}; ProxyVersion=9.2",
	}
	for authType, want := range cases {
		obj.Spec.Authentication.Type = authType
		if got := connectionString(obj); got != want {
			t.Errorf("%s: got %q, want %q", authType, got, want)
		}
	}
}

func TestTableMappingsAddSalesOrdersOnlyWhenEnabled(t *testing.T) {
	without, with := tableMappings(false), tableMappings(true)
	if strings.Contains(without, "salesorder") || !strings.Contains(with, "Sales Header (Order)\tsalesorder\tToIntegrationTable") {
		t.Errorf("sales order mapping must follow the sales order integration:\n%s", with)
	}
	if !strings.Contains(without, "Customer\taccount\tBidirectional") {
		t.Errorf("default mappings missing:\n%s", without)
	}
}

func TestWaitingForImportSkipsTestConnectionOnlyWhenSafe(t *testing.T) {
	verified := func(gen int64) metav1.Condition {
		return metav1.Condition{Type: string(salesv1alpha1.ConditionConnectionVerified), Status: "True", Reason: string(salesv1alpha1.ReasonVerified), ObservedGeneration: gen}
	}
	importing := func(gen int64) metav1.Condition {
		return metav1.Condition{Type: string(salesv1alpha1.ConditionSolutionImported), Status: "False", Reason: string(salesv1alpha1.ReasonImportInProgress), ObservedGeneration: gen}
	}
	cases := []struct {
		name       string
		conditions []metav1.Condition
		requested  string
		want       bool
	}{
		{"polling an import", []metav1.Condition{verified(2), importing(2)}, "", true},
		{"spec changed since", []metav1.Condition{verified(1), importing(1)}, "", false},
		{"connection not verified", []metav1.Condition{importing(2)}, "", false},
		{"no import running", []metav1.Condition{verified(2)}, "", false},
		{"Test Connection requested", []metav1.Condition{verified(2), importing(2)}, "now", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := &salesv1alpha1.SalesConnection{}
			obj.Generation = 2
			if tc.requested != "" {
				obj.Annotations = map[string]string{salesv1alpha1.AnnotationRequestedAt: tc.requested}
			}
			s := &scope{obj: obj, before: salesv1alpha1.SalesConnectionStatus{Conditions: tc.conditions}}
			if got := waitingForImport(s); got != tc.want {
				t.Errorf("waitingForImport = %v, want %v", got, tc.want)
			}
		})
	}
}
