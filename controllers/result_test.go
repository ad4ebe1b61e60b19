package controllers

import (
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// TestRequeueSchedulesTheNextPass: when a pass comes back decides how soon drift is put
// back, how soon a fix in Dataverse is seen, and that nothing loops hot.
func TestRequeueSchedulesTheNextPass(t *testing.T) {
	r := &Reconciler{StalledRetryInterval: 30 * time.Minute, MinImportPoll: time.Second}
	resync := 5 * time.Minute
	throttled := &dataverse.Error{Reason: dataverse.ReasonThrottled, Kind: dataverse.Transient, RetryAfter: 7 * time.Second}
	cases := []struct {
		name string
		o    outcome
		// The next pass comes after [min, max]; wantErr: the workqueue's backoff decides.
		min, max time.Duration
		wantErr  bool
	}{
		{name: "ready: the periodic resync finds drift", o: done(), min: resync, max: resync + resync/10},
		{name: "import running: polled", o: waiting(salesv1alpha1.ReasonImportInProgress, r.MinImportPoll, "importing"), min: r.MinImportPoll, max: r.MinImportPoll},
		{name: "wrong secret: waits for the Secret watch", o: failed(stalledOnSpec(salesv1alpha1.ReasonAuthenticationFailed, "x")),
			min: r.StalledRetryInterval, max: r.StalledRetryInterval * 11 / 10},
		{name: "missing Secret: waits for the Secret watch", o: failed(stalledOnSpec(salesv1alpha1.ReasonSecretNotFound, "x")),
			min: r.StalledRetryInterval, max: r.StalledRetryInterval * 11 / 10},
		{name: "user disabled in Dataverse: re-checked at the resync", o: failed(stalledInDataverse(salesv1alpha1.ReasonUserDisabled, "x")),
			min: resync, max: resync + resync/10},
		{name: "submitted orders: re-checked at the resync", o: failed(stalledInDataverse(salesv1alpha1.ReasonSubmittedOrdersExist, "x")),
			min: resync, max: resync + resync/10},
		{name: "wrong password from Dataverse: slow, as for a Secret", o: failed(fromDataverse("signing in", credentialRef{},
			&dataverse.Error{Reason: dataverse.ReasonAuthenticationFailed, Kind: dataverse.Terminal})),
			min: r.StalledRetryInterval, max: r.StalledRetryInterval * 11 / 10},
		{name: "throttled: after Retry-After", o: failed(fromDataverse("reading", credentialRef{}, throttled)),
			min: 7 * time.Second, max: 7 * time.Second},
		{name: "transient: exponential backoff", o: failed(retrying(salesv1alpha1.ReasonUnreachable, "x")), wantErr: true},
		{name: "an error of another kind: backoff", o: failed(errors.New("boom")), wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := &salesv1alpha1.SalesConnection{Spec: salesv1alpha1.SalesConnectionSpec{ResyncInterval: &metav1.Duration{Duration: resync}}}
			res, err := r.requeue(&scope{obj: obj}, tc.o)
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
