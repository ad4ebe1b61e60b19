package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics on the manager's /metrics endpoint, beside controller-runtime's own.
var reconcilePanics = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "salesconnection_reconcile_panics_total",
	Help: "Passes that ended in a panic, recovered and reported as InternalError (a bug: see the log).",
})

func init() {
	metrics.Registry.MustRegister(reconcilePanics)
}
