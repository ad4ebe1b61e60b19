// Package deploytest checks the deployment manifests against a real API server.
package deploytest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// renderDeploy renders config/default for image with hack/render-deploy.sh, the script
// `make deploy` pipes into `kubectl apply`, using the kubectl built with the control plane.
func renderDeploy(t *testing.T, image string) []byte {
	t.Helper()
	return renderDeployOf(t, image, "config/default")
}

// renderDeployOf renders base (a kustomization path from the repository root) with
// components added, as `make deploy DEPLOY_BASE=... DEPLOY_COMPONENTS=...` does.
func renderDeployOf(t *testing.T, image, base string, components ...string) []byte {
	t.Helper()
	assets, err := testenv.AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(testenv.RepoRoot(), "hack", "render-deploy.sh"), append([]string{image, base}, components...)...)
	cmd.Env = append(os.Environ(), "KUBECTL="+filepath.Join(assets, "kubectl"))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("hack/render-deploy.sh %s: %v\n%s", image, err, stderr)
	}
	return out
}

// managerImage is the image of the rendered manager Deployment.
func managerImage(t *testing.T, rendered []byte) string {
	t.Helper()
	d := parseDeployed(t, rendered).deployment
	if len(d.Spec.Template.Spec.Containers) == 0 {
		t.Fatal("no manager Deployment rendered")
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

func TestDeployUsesTheGivenImage(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	cases := map[string]string{
		"registry.example.com:5000/team/op:v1.2.3": "registry.example.com:5000/team/op:v1.2.3",
		"localhost:5000/op":                        "localhost:5000/op:latest",
		"ghcr.io/bcconnect/op@" + digest:           "ghcr.io/bcconnect/op@" + digest,
		"salesconnection-operator:dev":             "salesconnection-operator:dev",
		"registry.example.com/op:2":                "registry.example.com/op:2",
	}
	for img, want := range cases {
		t.Run(img, func(t *testing.T) {
			if got := managerImage(t, renderDeploy(t, img)); got != want {
				t.Errorf("make deploy IMG=%s runs image %q, want %q", img, got, want)
			}
		})
	}
}

func TestDefaultKustomizationAppliesWithServerSideDryRun(t *testing.T) {
	const image = "registry.example.com/salesconnection-operator:v1"
	rendered := renderDeploy(t, image)
	docs := strings.Split(string(rendered), "\n---\n")
	kinds := map[string]bool{}
	var deployment appsv1.Deployment
	for _, doc := range docs {
		var meta struct {
			Kind     string            `json:"kind"`
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		kinds[meta.Kind] = true
		if meta.Kind == "Deployment" {
			if err := yaml.Unmarshal([]byte(doc), &deployment); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, k := range []string{"Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service"} {
		if !kinds[k] {
			t.Errorf("config/default renders no %s", k)
		}
	}

	// The namespace is created for real, so namespaced objects can be dry-run in it;
	// every rendered object then goes through the API server's validation.
	ensureNamespace(t, "salesconnection-system")
	file := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(file, rendered, 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := env.Kubectl("apply", "--server-side", "--dry-run=server", "--field-manager=deploytest", "-f", file)
	if err != nil {
		t.Fatalf("server-side dry-run apply: %v\n%s", err, errOut)
	}
	if applied := strings.Count(out, "serverside-applied"); applied != len(docs) {
		t.Errorf("%d of %d objects applied:\n%s", applied, len(docs), out)
	}

	if got := deployment.Spec.Template.Spec.Containers[0].Image; got != image {
		t.Errorf("image %q, want %q", got, image)
	}
	checkRestrictedDeployment(t, &deployment)
}

// checkRestrictedDeployment asserts what the restricted Pod Security Standard and a
// production operator need.
func checkRestrictedDeployment(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot ||
		pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context = %+v", pod.SecurityContext)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("container security context = %+v", sc)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("probes = %+v / %+v", c.LivenessProbe, c.ReadinessProbe)
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Limits.Cpu().IsZero() {
		t.Errorf("resources = %+v", c.Resources)
	}
	if !contains(c.Args, "--leader-elect") {
		t.Errorf("args %v lack --leader-elect", c.Args)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ensureNamespace creates a namespace for real, so namespaced objects can be dry-run in it.
func ensureNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := env.Client.Create(context.Background(), ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}
