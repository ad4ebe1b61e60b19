// Package rules checks the operator's alerting rules (the chart's
// files/prometheus-rules.yaml, copied into config/prometheus) with Prometheus' own rule
// parser, and checks that every metric and label they read is one the operator
// registers. Run by `make test` (make prometheus-rules).
package rules

import (
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	promparser "github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/yaml"
)

// repoRoot is the operator's repository: this module lives in hack/prometheus-rules.
var repoRoot = filepath.Join("..", "..")

// rulesFile is the one copy of the rules that is edited.
var rulesFile = filepath.Join(repoRoot, "charts", "salesconnection-operator", "files", "prometheus-rules.yaml")

// targetLabels are the labels Prometheus adds to every series of a ServiceMonitor's
// targets; rules may read them although the operator does not export them.
var targetLabels = []string{"job", "instance", "namespace", "pod", "service", "container", "endpoint", "exported_namespace"}

// descRE reads a descriptor's String(), e.g. Desc{fqName: "…", help: "…", unit: "…",
// constLabels: {…}, variableLabels: {…}}: client_golang has no accessors for them.
var descRE = regexp.MustCompile(`^Desc\{fqName: ("(?:[^"\\]|\\.)*"), .*constLabels: \{([^}]*)\}, variableLabels: \{([^}]*)\}\}$`)

// registeredMetrics is every metric on the manager's registry (controller-runtime's and
// the operator's) with its label names.
func registeredMetrics(t *testing.T) map[string][]string {
	t.Helper()
	collector, ok := metrics.Registry.(prometheus.Collector)
	if !ok {
		t.Fatalf("controller-runtime's registry %T cannot describe its metrics", metrics.Registry)
	}
	ch := make(chan *prometheus.Desc)
	go func() {
		collector.Describe(ch)
		close(ch)
	}()
	out := map[string][]string{}
	for d := range ch {
		m := descRE.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read the descriptor %s (did client_golang change Desc.String?)", d)
		}
		name, err := strconv.Unquote(m[1])
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, kv := range strings.Split(m[2], ",") {
			if k, _, ok := strings.Cut(kv, "="); ok {
				names = append(names, strings.TrimSpace(k))
			}
		}
		for _, l := range strings.Split(m[3], ",") {
			if l = strings.TrimSpace(l); l != "" {
				names = append(names, l)
			}
		}
		out[name] = names
	}
	if len(out) == 0 {
		t.Fatal("no metric is registered")
	}
	return out
}

// conditionReasons are the string values of the Reason* constants of the SalesConnection
// API (api/v1alpha1/conditions.go), which the reason label of the Ready metrics carries.
func conditionReasons(t *testing.T) map[string]bool {
	t.Helper()
	file := filepath.Join(repoRoot, "api", "v1alpha1", "conditions.go")
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		spec, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range spec.Names {
			if !strings.HasPrefix(name.Name, "Reason") || i >= len(spec.Values) {
				continue
			}
			if lit, ok := spec.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if v, err := strconv.Unquote(lit.Value); err == nil {
					reasons[v] = true
				}
			}
		}
		return true
	})
	if len(reasons) < 10 {
		t.Fatalf("found %d Reason constants in %s; the parser misses them", len(reasons), file)
	}
	return reasons
}

// labelValues are the values of the metrics' labels that rules may match on, by label.
func labelValues(t *testing.T) map[string]map[string]bool {
	t.Helper()
	return map[string]map[string]bool{
		"condition": {"True": true, "False": true, "Unknown": true},
		"reason":    conditionReasons(t),
		// salesconnection_solution_import_duration_seconds and
		// salesconnection_dataverse_token_requests_total.
		"result": {"succeeded": true, "failed": true, "success": true, "error": true},
	}
}

func loadRules(t *testing.T) *rulefmt.RuleGroups {
	t.Helper()
	data, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	// rulefmt.Parse parses every expression with the PromQL parser and every label and
	// annotation template with Prometheus' template engine, as Prometheus does on load;
	// unknown fields are errors, and names must be valid for Prometheus 2 as well as 3.
	groups, errs := rulefmt.Parse(data, false, model.LegacyValidation, promparser.NewParser(promparser.Options{}), slog.Default())
	for _, err := range errs {
		t.Errorf("%s: %v", rulesFile, err)
	}
	if groups == nil || len(groups.Groups) == 0 {
		t.Fatalf("%s has no rule groups", rulesFile)
	}
	return groups
}

func TestRulesParseAndReadRegisteredMetrics(t *testing.T) {
	registered := registeredMetrics(t)
	values := labelValues(t)
	groups := loadRules(t)
	alerts := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			name := r.Alert
			if name == "" {
				name = r.Record
			}
			t.Run(name, func(t *testing.T) {
				checkRule(t, r, registered, values)
			})
			if r.Alert != "" {
				alerts++
			}
		}
	}
	if alerts == 0 {
		t.Error("no alert")
	}
}

func checkRule(t *testing.T, r rulefmt.Rule, registered map[string][]string, values map[string]map[string]bool) {
	expr, err := promparser.NewParser(promparser.Options{}).ParseExpr(r.Expr)
	if err != nil {
		t.Fatalf("expr %q: %v", r.Expr, err)
	}
	if r.Alert != "" {
		if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("an alert needs a severity label and summary and description annotations")
		}
	}
	selectors := 0
	promparser.Inspect(expr, func(node promparser.Node, _ []promparser.Node) error {
		vs, ok := node.(*promparser.VectorSelector)
		if !ok {
			return nil
		}
		selectors++
		metric := vs.Name
		if metric == "" {
			t.Errorf("selector %s names no metric", vs)
			return nil
		}
		known, base, ok := lookup(registered, metric)
		if !ok {
			var own []string
			for _, name := range sortedKeys(registered) {
				if strings.HasPrefix(name, "salesconnection_") {
					own = append(own, name)
				}
			}
			t.Errorf("metric %s is not registered by the operator (its metrics: %s)", metric, strings.Join(own, ", "))
			return nil
		}
		if !strings.HasPrefix(base, "salesconnection_") {
			t.Errorf("metric %s is not one of the operator's own", metric)
		}
		if strings.HasSuffix(metric, "_bucket") {
			known = append(known, "le")
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel {
				continue
			}
			if !slices.Contains(known, m.Name) && !slices.Contains(targetLabels, m.Name) {
				t.Errorf("%s has no label %q (its labels: %v)", metric, m.Name, known)
				continue
			}
			checkMatcherValues(t, metric, m, values[m.Name])
		}
		return nil
	})
	if selectors == 0 {
		t.Errorf("expr %q reads no metric", r.Expr)
	}
}

// lookup finds metric among the registered ones; a histogram's _bucket, _sum and _count
// series are found by the histogram's name.
func lookup(registered map[string][]string, metric string) (labelNames []string, base string, ok bool) {
	if l, ok := registered[metric]; ok {
		return slices.Clone(l), metric, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if b, found := strings.CutSuffix(metric, suffix); found {
			if l, ok := registered[b]; ok {
				return slices.Clone(l), b, true
			}
		}
	}
	return nil, "", false
}

// checkMatcherValues checks that an equality matcher, or each alternative of a regexp
// matcher made only of alternatives, names a value the label can take.
func checkMatcherValues(t *testing.T, metric string, m *labels.Matcher, allowed map[string]bool) {
	t.Helper()
	if allowed == nil {
		return
	}
	var want []string
	switch m.Type {
	case labels.MatchEqual, labels.MatchNotEqual:
		want = []string{m.Value}
	case labels.MatchRegexp, labels.MatchNotRegexp:
		if !regexp.MustCompile(`^[A-Za-z0-9_|]+$`).MatchString(m.Value) {
			return
		}
		want = strings.Split(m.Value, "|")
	}
	for _, v := range want {
		if !allowed[v] {
			t.Errorf("%s{%s}: %q is not a value of %s (values: %s)", metric, m, v, m.Name, strings.Join(sortedKeys(allowed), ", "))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TestConfigCopyMatchesTheChart: config/prometheus/prometheus_rule.yaml carries the same
// groups as the chart's file (make manifests copies them).
func TestConfigCopyMatchesTheChart(t *testing.T) {
	want, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var wantSpec any
	if err := yaml.Unmarshal(want, &wantSpec); err != nil {
		t.Fatal(err)
	}
	copyFile := filepath.Join(repoRoot, "config", "prometheus", "prometheus_rule.yaml")
	data, err := os.ReadFile(copyFile)
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Kind string `json:"kind"`
		Spec any    `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &rule); err != nil {
		t.Fatal(err)
	}
	if rule.Kind != "PrometheusRule" {
		t.Fatalf("%s is a %q, want a PrometheusRule", copyFile, rule.Kind)
	}
	if !equalJSON(t, rule.Spec, wantSpec) {
		t.Errorf("%s differs from %s: run make manifests", copyFile, rulesFile)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := yaml.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := yaml.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

// TestDocsListEveryMetricAndAlert: docs/deploy.md's Monitoring section names every
// metric the operator registers and every alert.
func TestDocsListEveryMetricAndAlert(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	if i := strings.Index(doc, "## Monitoring"); i >= 0 {
		doc = doc[i:]
		if j := strings.Index(doc[1:], "\n## "); j >= 0 {
			doc = doc[:j+1]
		}
	} else {
		t.Fatal("docs/deploy.md has no Monitoring section")
	}
	for name := range registeredMetrics(t) {
		if strings.HasPrefix(name, "salesconnection_") && !strings.Contains(doc, "`"+name) {
			t.Errorf("docs/deploy.md's Monitoring section does not list metric %s", name)
		}
	}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert != "" && !strings.Contains(doc, "`"+r.Alert+"`") {
				t.Errorf("docs/deploy.md's Monitoring section does not list alert %s", r.Alert)
			}
		}
	}
}
