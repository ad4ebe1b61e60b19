package controllers

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// Metrics on the manager's /metrics endpoint, beside controller-runtime's own. Labels
// name objects and reasons, never a URL, a user or anything from a Secret.
var (
	reconcilePanics = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "salesconnection_reconcile_panics_total",
		Help: "Passes that ended in a panic, recovered and reported as InternalError (a bug: see the log).",
	})

	// readyStatus follows cert-manager's certmanager_certificate_ready_status: one series
	// per possible status, 1 for the current one.
	readyStatus = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "salesconnection_ready_status",
		Help: "The Ready condition of each SalesConnection: 1 for its current status (True, False or Unknown), 0 for the others.",
	}, []string{"namespace", "name", "condition"})

	readyReason = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "salesconnection_ready_reason",
		Help: "The reason of each SalesConnection's Ready condition: one series with value 1, for the current reason.",
	}, []string{"namespace", "name", "reason"})

	importDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "salesconnection_solution_import_duration_seconds",
		Help:    "Duration of the solution imports the operator started, from ImportSolutionAsync to the pass that saw them end, by result (succeeded or failed).",
		Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600},
	}, []string{"result"})
)

func init() {
	metrics.Registry.MustRegister(reconcilePanics, readyStatus, readyReason, importDuration)
}

var conditionStatuses = []metav1.ConditionStatus{metav1.ConditionTrue, metav1.ConditionFalse, metav1.ConditionUnknown}

// recordReady publishes the object's Ready condition as it was just written.
func recordReady(obj *salesv1alpha1.SalesConnection) {
	ready := obj.Status.GetCondition(salesv1alpha1.ConditionReady)
	current, reason := metav1.ConditionUnknown, ""
	if ready != nil {
		current, reason = ready.Status, ready.Reason
	}
	for _, st := range conditionStatuses {
		v := 0.0
		if st == current {
			v = 1
		}
		readyStatus.WithLabelValues(obj.Namespace, obj.Name, string(st)).Set(v)
	}
	readyReason.DeletePartialMatch(prometheus.Labels{"namespace": obj.Namespace, "name": obj.Name})
	if reason != "" {
		readyReason.WithLabelValues(obj.Namespace, obj.Name, reason).Set(1)
	}
}

// forgetObject drops the series of an object that is gone.
func forgetObject(key types.NamespacedName) {
	labels := prometheus.Labels{"namespace": key.Namespace, "name": key.Name}
	readyStatus.DeletePartialMatch(labels)
	readyReason.DeletePartialMatch(labels)
}

// recordImportEnd observes how long an import the operator started took.
func recordImportEnd(startedAt time.Time, succeeded bool) {
	if startedAt.IsZero() {
		return
	}
	result := "failed"
	if succeeded {
		result = "succeeded"
	}
	importDuration.WithLabelValues(result).Observe(time.Since(startedAt).Seconds())
}
