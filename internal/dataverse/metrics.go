package dataverse

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics on the manager's /metrics endpoint. Labels are operation names, status codes
// and results: never a URL, a user or anything from a Secret.
var (
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "salesconnection_dataverse_requests_total",
		Help: "Requests sent to Dataverse, by client operation and HTTP status (\"error\" when no answer arrived).",
	}, []string{"operation", "code"})

	requestDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "salesconnection_dataverse_request_duration_seconds",
		Help:    "Duration of one Dataverse request (one attempt), by client operation.",
		Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"operation"})

	tokenRequestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "salesconnection_dataverse_token_requests_total",
		Help: "Access token acquisitions (the client's token cache missed or expired), by result (success or error).",
	}, []string{"result"})
)

func init() {
	metrics.Registry.MustRegister(requestsTotal, requestDuration, tokenRequestsTotal)
}

// statusLabel is the code label of requestsTotal.
func statusLabel(status int) string {
	if status == 0 {
		return "error"
	}
	return strconv.Itoa(status)
}
