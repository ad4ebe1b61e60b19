package controllers

import (
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// TestResultSchedulesTheNextPass: when a pass comes back decides how soon drift is put
// back, how soon a fix in Dataverse is seen, and that nothing loops hot.
func TestResultSchedulesTheNextPass(t *testing.T) {
	r := &Reconciler{StalledRetryInterval: 30 * time.Minute, ImportPollInterval: 10 * time.Second}
	resync := 5 * time.Minute
	cases := []struct {
		name       string
		inProgress bool
		err        error
		// The next pass comes after [min, max]; wantErr: the workqueue's backoff decides.
		min, max time.Duration
		wantErr  bool
	}{
		{name: "ready: the periodic resync finds drift", min: resync, max: resync + resync/10},
		{name: "import running: polled", inProgress: true, min: r.ImportPollInterval, max: r.ImportPollInterval},
		{name: "wrong secret: waits for the Secret watch", err: stalled(salesv1alpha1.ConditionConnectionVerified, ReasonAuthenticationFailed, "x"),
			min: r.StalledRetryInterval, max: r.StalledRetryInterval * 11 / 10},
		{name: "missing Secret: waits for the Secret watch", err: stalled(salesv1alpha1.ConditionConnectionVerified, ReasonSecretNotFound, "x"),
			min: r.StalledRetryInterval, max: r.StalledRetryInterval * 11 / 10},
		{name: "user disabled in Dataverse: re-checked at the resync", err: stalled(salesv1alpha1.ConditionConnectionVerified, ReasonUserDisabled, "x"),
			min: resync, max: resync + resync/10},
		{name: "submitted orders: re-checked at the resync", err: stalled(salesv1alpha1.ConditionSalesOrderIntegrationConfigured, ReasonSubmittedOrdersExist, "x"),
			min: resync, max: resync + resync/10},
		{name: "transient: exponential backoff", err: retrying(salesv1alpha1.ConditionConnectionVerified, ReasonUnreachable, "x"), wantErr: true},
		{name: "an error of another kind: backoff", err: errors.New("boom"), wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := &salesv1alpha1.SalesConnection{Spec: salesv1alpha1.SalesConnectionSpec{ResyncInterval: &metav1.Duration{Duration: resync}}}
			s := &scope{obj: obj}
			if tc.inProgress {
				s.inProgress = retrying(salesv1alpha1.ConditionSolutionImported, ReasonImportInProgress, "importing")
				s.requeueAfter = r.ImportPollInterval
			}
			res, err := r.result(s, tc.err)
			if tc.wantErr {
				if err == nil || res.RequeueAfter != 0 {
					t.Errorf("result = %+v, %v; want the error back for the workqueue's backoff", res, err)
				}
				return
			}
			if err != nil || res.RequeueAfter < tc.min || res.RequeueAfter > tc.max {
				t.Errorf("result = %+v, %v; want a requeue after %s..%s", res, err, tc.min, tc.max)
			}
		})
	}
}
