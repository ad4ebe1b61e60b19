package deploytest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// The Prometheus Operator's kinds are only rendered and read here: the test API server
// has no monitoring.coreos.com CRDs to dry-run them against. hack/prometheus-rules checks
// the rules themselves with Prometheus' parser.

type serviceMonitor struct {
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     struct {
		Endpoints []struct {
			Path            string         `json:"path"`
			Port            string         `json:"port"`
			Scheme          string         `json:"scheme"`
			BearerTokenFile string         `json:"bearerTokenFile"`
			Authorization   map[string]any `json:"authorization"`
			HonorLabels     bool           `json:"honorLabels"`
			TLSConfig       map[string]any `json:"tlsConfig"`
		} `json:"endpoints"`
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector map[string]any       `json:"namespaceSelector"`
	} `json:"spec"`
}

type prometheusRule struct {
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     any               `json:"spec"`
}

type monitoring struct {
	services []corev1.Service
	monitors []serviceMonitor
	rules    []prometheusRule
}

func parseMonitoring(t *testing.T, data []byte) monitoring {
	t.Helper()
	var m monitoring
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		must(t, yaml.Unmarshal([]byte(doc), &head))
		switch head.Kind {
		case "Service":
			var o corev1.Service
			must(t, yaml.Unmarshal([]byte(doc), &o))
			m.services = append(m.services, o)
		case "ServiceMonitor", "PrometheusRule":
			if head.APIVersion != "monitoring.coreos.com/v1" {
				t.Errorf("%s has apiVersion %q, want monitoring.coreos.com/v1", head.Kind, head.APIVersion)
			}
			if head.Kind == "ServiceMonitor" {
				var o serviceMonitor
				must(t, yaml.Unmarshal([]byte(doc), &o))
				m.monitors = append(m.monitors, o)
			} else {
				var o prometheusRule
				must(t, yaml.Unmarshal([]byte(doc), &o))
				m.rules = append(m.rules, o)
			}
		}
	}
	return m
}

// chartRules is the spec every rendered PrometheusRule must carry: the chart's
// files/prometheus-rules.yaml, the one copy of the rules.
func chartRules(t *testing.T) any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "charts", "salesconnection-operator", "files", "prometheus-rules.yaml"))
	must(t, err)
	var spec any
	must(t, yaml.Unmarshal(data, &spec))
	return spec
}

// checkMonitoring asserts one ServiceMonitor scrapes the metrics Service as the manager
// serves it (https, a bearer token, the Service's port name) and one PrometheusRule
// carries the chart's rules, both with wantLabels.
func checkMonitoring(t *testing.T, m monitoring, wantLabels map[string]string) {
	t.Helper()
	if len(m.monitors) != 1 || len(m.rules) != 1 {
		t.Fatalf("%d ServiceMonitors and %d PrometheusRules, want one of each", len(m.monitors), len(m.rules))
	}
	rule := m.rules[0]
	if !reflect.DeepEqual(rule.Spec, chartRules(t)) {
		t.Errorf("the PrometheusRule's spec differs from the chart's files/prometheus-rules.yaml (run make manifests)")
	}
	if !labels.SelectorFromSet(wantLabels).Matches(labels.Set(rule.Metadata.Labels)) {
		t.Errorf("PrometheusRule labels %v lack %v", rule.Metadata.Labels, wantLabels)
	}

	sm := m.monitors[0]
	if !labels.SelectorFromSet(wantLabels).Matches(labels.Set(sm.Metadata.Labels)) {
		t.Errorf("ServiceMonitor labels %v lack %v", sm.Metadata.Labels, wantLabels)
	}
	if sm.Spec.NamespaceSelector != nil {
		t.Errorf("the ServiceMonitor selects namespaces %v: it must look only in its own, the operator's", sm.Spec.NamespaceSelector)
	}
	selector, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	must(t, err)
	if selector.Empty() {
		t.Fatal("the ServiceMonitor selects every Service")
	}
	var selected []corev1.Service
	for _, s := range m.services {
		if s.Namespace == sm.Metadata.Namespace && selector.Matches(labels.Set(s.Labels)) {
			selected = append(selected, s)
		}
	}
	if len(selected) != 1 {
		t.Fatalf("the ServiceMonitor (namespace %q, selector %s) selects %d Services, want the metrics Service", sm.Metadata.Namespace, selector, len(selected))
	}
	svc := selected[0]
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("%d endpoints, want 1", len(sm.Spec.Endpoints))
	}
	ep := sm.Spec.Endpoints[0]
	var port *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if svc.Spec.Ports[i].Name == ep.Port {
			port = &svc.Spec.Ports[i]
		}
	}
	if port == nil || port.TargetPort.StrVal != "metrics" {
		t.Errorf("endpoint port %q is not the metrics port of Service %s (%+v)", ep.Port, svc.Name, svc.Spec.Ports)
	}
	// The manager serves /metrics over https and lets in only authenticated, authorized
	// callers.
	if ep.Scheme != "https" || ep.Path != "/metrics" {
		t.Errorf("endpoint scrapes %s://…%s, want https://…/metrics", ep.Scheme, ep.Path)
	}
	if (ep.BearerTokenFile == "") == (ep.Authorization == nil) {
		t.Errorf("endpoint must send a token with exactly one of bearerTokenFile (%q) and authorization (%v)", ep.BearerTokenFile, ep.Authorization)
	}
	if ep.TLSConfig == nil {
		t.Error("endpoint has no tlsConfig: Prometheus cannot verify the manager's self-signed certificate")
	}
	// The alerts read the SalesConnection's namespace from the namespace label.
	if !ep.HonorLabels {
		t.Error("endpoint does not honor the operator's labels: the namespace label of the alerts would be the operator's")
	}
}

func TestMonitoringIsOffByDefault(t *testing.T) {
	for name, data := range map[string][]byte{
		"chart":          helmTemplate(t),
		"config/default": renderDeploy(t, "controller:latest"),
	} {
		if m := parseMonitoring(t, data); len(m.monitors)+len(m.rules) != 0 {
			t.Errorf("%s renders %d ServiceMonitors and %d PrometheusRules by default, want none (they need the Prometheus Operator's CRDs)",
				name, len(m.monitors), len(m.rules))
		}
	}
}

func TestHelmChartRendersMonitoring(t *testing.T) {
	t.Run("enabled", func(t *testing.T) {
		data := helmTemplate(t, "--set", "serviceMonitor.enabled=true,prometheusRule.enabled=true",
			"--set", "serviceMonitor.labels.release=kps,prometheusRule.labels.release=kps")
		checkMonitoring(t, parseMonitoring(t, data), map[string]string{"app.kubernetes.io/instance": "salesconnection", "release": "kps"})
		sm := parseMonitoring(t, data).monitors[0]
		if ep := sm.Spec.Endpoints[0]; ep.BearerTokenFile != "/var/run/secrets/kubernetes.io/serviceaccount/token" || ep.TLSConfig["insecureSkipVerify"] != true {
			t.Errorf("default endpoint: bearerTokenFile %q, tlsConfig %v", ep.BearerTokenFile, ep.TLSConfig)
		}
	})
	t.Run("authorization", func(t *testing.T) {
		data := helmTemplate(t, "--set", "serviceMonitor.enabled=true,prometheusRule.enabled=true",
			"--set", "serviceMonitor.authorization.type=Bearer,serviceMonitor.authorization.credentials.name=prom-token,serviceMonitor.authorization.credentials.key=token")
		m := parseMonitoring(t, data)
		checkMonitoring(t, m, nil)
		if ep := m.monitors[0].Spec.Endpoints[0]; ep.Authorization["type"] != "Bearer" {
			t.Errorf("authorization = %v", ep.Authorization)
		}
	})
	t.Run("without the metrics Service", func(t *testing.T) {
		chart := filepath.Join(testenv.RepoRoot(), "charts", "salesconnection-operator")
		cmd := exec.Command(helmBinary(t), "template", "salesconnection", chart, "--namespace", "salesconnection-system",
			"--set", "serviceMonitor.enabled=true,metrics.enabled=false")
		cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
		_, err := cmd.Output()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || !strings.Contains(string(ee.Stderr), "serviceMonitor.enabled needs metrics.enabled") {
			t.Errorf("helm template with a ServiceMonitor and no metrics Service: err = %v, want the chart to refuse", err)
		}
	})
}

func TestPrometheusComponent(t *testing.T) {
	for _, base := range []string{"config/default", "config/namespaced"} {
		t.Run(base, func(t *testing.T) {
			data := renderDeployOf(t, "controller:latest", base, "config/prometheus")
			checkMonitoring(t, parseMonitoring(t, data), map[string]string{"app.kubernetes.io/name": "salesconnection-operator"})
		})
	}
}
