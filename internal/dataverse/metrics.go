package dataverse

import (
	"net/url"
	"strconv"
	"strings"
	"time"

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

	// The throttling metrics are labeled by the environment's host (with its port, if
	// any; never its path): one series per environment that answered 429.
	throttledTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "salesconnection_dataverse_throttled_total",
		Help: "Times a call met an environment's service protection limits: it waited for a 429's Retry-After, or it returned Throttled (the wait outlasted its budget, or no retry was allowed) and its SalesConnection is requeued.",
	}, []string{"environment"})

	throttleWaitSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "salesconnection_dataverse_throttle_wait_seconds",
		Help:    "How long a call waited for an environment's 429 Retry-After before sending again.",
		Buckets: []float64{0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300},
	}, []string{"environment"})
)

func init() {
	metrics.Registry.MustRegister(requestsTotal, requestDuration, tokenRequestsTotal, throttledTotal, throttleWaitSeconds)
}

// environmentLabel is the environment label of the throttling metrics: the host of the
// (normalized) environment URL, lower-cased.
func environmentLabel(envURL string) string {
	u, err := url.Parse(envURL)
	if err != nil || u.Host == "" {
		return "unknown"
	}
	return strings.ToLower(u.Host)
}

// recordThrottleWait counts a wait of d for the environment's Retry-After.
func recordThrottleWait(envURL string, d time.Duration) {
	env := environmentLabel(envURL)
	throttledTotal.WithLabelValues(env).Inc()
	throttleWaitSeconds.WithLabelValues(env).Observe(d.Seconds())
}

// recordThrottled counts a call that returned Throttled.
func recordThrottled(envURL string) {
	throttledTotal.WithLabelValues(environmentLabel(envURL)).Inc()
}

// statusLabel is the code label of requestsTotal.
func statusLabel(status int) string {
	if status == 0 {
		return "error"
	}
	return strconv.Itoa(status)
}
