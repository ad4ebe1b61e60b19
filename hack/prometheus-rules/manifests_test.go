package rules

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

// The test API server of internal/deploytest has no monitoring.coreos.com CRDs, so the
// ServiceMonitors and PrometheusRules are checked here instead: decoded strictly into the
// Prometheus Operator's own types, an unknown or misspelled field fails.

// decodeStrict decodes one ServiceMonitor or PrometheusRule document.
func decodeStrict(t *testing.T, source, doc string) (kind string) {
	t.Helper()
	var head struct {
		Kind string `json:"kind"`
	}
	if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
		t.Fatalf("%s: %v", source, err)
	}
	var obj any
	switch head.Kind {
	case monitoringv1.ServiceMonitorsKind:
		obj = &monitoringv1.ServiceMonitor{}
	case monitoringv1.PrometheusRuleKind:
		obj = &monitoringv1.PrometheusRule{}
	default:
		return head.Kind
	}
	if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
		t.Errorf("%s: %s: %v", source, head.Kind, err)
	}
	return head.Kind
}

func TestConfigObjectsDecodeStrictly(t *testing.T) {
	for _, name := range []string{"monitor.yaml", "prometheus_rule.yaml"} {
		file := filepath.Join(repoRoot, "config", "prometheus", name)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if kind := decodeStrict(t, file, string(data)); kind != monitoringv1.ServiceMonitorsKind && kind != monitoringv1.PrometheusRuleKind {
			t.Errorf("%s is a %q", file, kind)
		}
	}
}

// TestChartObjectsDecodeStrictly renders the chart with both enabled, with the helm
// `make helm` builds (make prometheus-rules depends on it).
func TestChartObjectsDecodeStrictly(t *testing.T) {
	out, err := exec.Command(filepath.Join(repoRoot, "hack", "build-helm.sh"), "--print-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	helm := strings.TrimSpace(string(out))
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("no helm at %s: run make helm", helm)
	}
	for name, set := range map[string]string{
		"defaults":      "serviceMonitor.enabled=true,prometheusRule.enabled=true",
		"authorization": "serviceMonitor.enabled=true,prometheusRule.enabled=true,serviceMonitor.interval=30s,serviceMonitor.scrapeTimeout=10s,serviceMonitor.authorization.type=Bearer,serviceMonitor.authorization.credentials.name=prometheus-token,serviceMonitor.authorization.credentials.key=token",
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(helm, "template", "salesconnection", filepath.Join(repoRoot, "charts", "salesconnection-operator"),
				"--namespace", "salesconnection-system", "--set", set)
			cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
			rendered, err := cmd.Output()
			if err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					t.Fatalf("helm template: %v\n%s", err, ee.Stderr)
				}
				t.Fatal(err)
			}
			found := map[string]int{}
			for _, doc := range strings.Split(string(rendered), "\n---\n") {
				found[decodeStrict(t, "helm template --set "+set, doc)]++
			}
			if found[monitoringv1.ServiceMonitorsKind] != 1 || found[monitoringv1.PrometheusRuleKind] != 1 {
				t.Errorf("rendered %d ServiceMonitors and %d PrometheusRules, want one of each",
					found[monitoringv1.ServiceMonitorsKind], found[monitoringv1.PrometheusRuleKind])
			}
		})
	}
}
