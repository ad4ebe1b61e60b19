package controllers

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

func TestReadyMetricsFollowEachObject(t *testing.T) {
	obj := &salesv1alpha1.SalesConnection{ObjectMeta: metav1.ObjectMeta{Namespace: "metrics-test", Name: "contoso"}}
	setCondition(obj, salesv1alpha1.ConditionReady, metav1.ConditionFalse, salesv1alpha1.ReasonImportInProgress, "importing")
	recordReady(obj)
	setCondition(obj, salesv1alpha1.ConditionReady, metav1.ConditionTrue, salesv1alpha1.ReasonReady, "connected")
	recordReady(obj)

	if v := testutil.ToFloat64(readyStatus.WithLabelValues("metrics-test", "contoso", "True")); v != 1 {
		t.Errorf("ready_status{condition=True} = %v, want 1", v)
	}
	if v := testutil.ToFloat64(readyStatus.WithLabelValues("metrics-test", "contoso", "False")); v != 0 {
		t.Errorf("ready_status{condition=False} = %v, want 0", v)
	}
	if v := testutil.ToFloat64(readyReason.WithLabelValues("metrics-test", "contoso", "Ready")); v != 1 {
		t.Errorf("ready_reason{reason=Ready} = %v, want 1", v)
	}
	// Only the current reason has a series.
	if n := testutil.CollectAndCount(readyReason); n != 1 {
		t.Errorf("%d ready_reason series, want 1", n)
	}
	forgetObject(types.NamespacedName{Namespace: "metrics-test", Name: "contoso"})
	if n := testutil.CollectAndCount(readyStatus) + testutil.CollectAndCount(readyReason); n != 0 {
		t.Errorf("%d series left for a deleted object", n)
	}
}
