package dataverse

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

func registryForTest() prometheus.Gatherer { return metrics.Registry }

// histogramCount is how many durations were observed for an operation.
func histogramCount(t *testing.T, operation string) uint64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != "salesconnection_dataverse_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "operation" && l.GetValue() == operation {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}
