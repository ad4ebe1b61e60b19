package deploytest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// helmBinary is the helm built from the Go module proxy (make helm); the test builds it
// when it is missing, so it needs no set-up of its own.
func helmBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HELM"); p != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	script := filepath.Join(testenv.RepoRoot(), "hack", "build-helm.sh")
	if out, err := exec.Command(script).CombinedOutput(); err != nil {
		t.Fatalf("building helm: %v\n%s", err, out)
	}
	out, err := exec.Command(script, "--print-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func helmTemplate(t *testing.T, args ...string) []byte {
	t.Helper()
	chart := filepath.Join(testenv.RepoRoot(), "charts", "salesconnection-operator")
	cmd := exec.Command(helmBinary(t), append([]string{"template", "salesconnection", chart,
		"--namespace", "salesconnection-system", "--include-crds"}, args...)...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("helm template: %v\n%s", err, stderr)
	}
	return out
}

func TestHelmChartMatchesConfigAndApplies(t *testing.T) {
	cases := map[string][]string{
		"defaults":  nil,
		"overrides": {"--set", "replicaCount=1,leaderElection.enabled=false,image.repository=registry.example.com/op,image.tag=v1", "--set", "extraArgs={--zap-log-level=debug}"},
	}
	wantRules := generatedRules(t)
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			rendered := helmTemplate(t, args...)
			var deployment appsv1.Deployment
			var managerRole rbacv1.ClusterRole
			for _, doc := range strings.Split(string(rendered), "\n---\n") {
				var head struct {
					Kind     string `json:"kind"`
					Metadata struct {
						Name string `json:"name"`
					} `json:"metadata"`
				}
				if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
					t.Fatal(err)
				}
				switch {
				case head.Kind == "Deployment":
					must(t, yaml.Unmarshal([]byte(doc), &deployment))
				case head.Kind == "ClusterRole" && strings.HasSuffix(head.Metadata.Name, "-manager"):
					must(t, yaml.Unmarshal([]byte(doc), &managerRole))
				}
			}
			if !reflect.DeepEqual(managerRole.Rules, wantRules) {
				t.Errorf("the chart's manager rules differ from config/rbac/role.yaml:\n%+v\n%+v", managerRole.Rules, wantRules)
			}
			c := deployment.Spec.Template.Spec.Containers[0]
			if name == "overrides" {
				if *deployment.Spec.Replicas != 1 || contains(c.Args, "--leader-elect") || !contains(c.Args, "--zap-log-level=debug") ||
					c.Image != "registry.example.com/op:v1" {
					t.Errorf("values not applied: replicas %d, args %v, image %s", *deployment.Spec.Replicas, c.Args, c.Image)
				}
			} else {
				checkRestrictedDeployment(t, &deployment)
			}

			ensureNamespace(t, "salesconnection-system")
			file := filepath.Join(t.TempDir(), "chart.yaml")
			must(t, os.WriteFile(file, rendered, 0o600))
			if out, errOut, err := env.Kubectl("apply", "--server-side", "--dry-run=server", "--field-manager=helmtest", "-f", file); err != nil {
				t.Fatalf("server-side dry-run apply of the chart: %v\n%s%s", err, out, errOut)
			}
		})
	}
}

func generatedRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "rbac", "role.yaml"))
	must(t, err)
	var role rbacv1.ClusterRole
	must(t, yaml.Unmarshal(data, &role))
	return role.Rules
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
