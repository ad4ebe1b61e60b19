package deploytest

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// rendered is every object of a rendering, by kind.
type rendered struct {
	deployment      appsv1.Deployment
	roles           []rbacv1.Role
	clusterRoles    []rbacv1.ClusterRole
	bindings        []rbacv1.RoleBinding
	clusterBindings []rbacv1.ClusterRoleBinding
	policies        []networkingv1.NetworkPolicy
}

func parseRendered(t *testing.T, data []byte) rendered {
	t.Helper()
	var r rendered
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var head struct {
			Kind string `json:"kind"`
		}
		must(t, yaml.Unmarshal([]byte(doc), &head))
		switch head.Kind {
		case "Deployment":
			must(t, yaml.Unmarshal([]byte(doc), &r.deployment))
		case "Role":
			var o rbacv1.Role
			must(t, yaml.Unmarshal([]byte(doc), &o))
			r.roles = append(r.roles, o)
		case "ClusterRole":
			var o rbacv1.ClusterRole
			must(t, yaml.Unmarshal([]byte(doc), &o))
			r.clusterRoles = append(r.clusterRoles, o)
		case "RoleBinding":
			var o rbacv1.RoleBinding
			must(t, yaml.Unmarshal([]byte(doc), &o))
			r.bindings = append(r.bindings, o)
		case "ClusterRoleBinding":
			var o rbacv1.ClusterRoleBinding
			must(t, yaml.Unmarshal([]byte(doc), &o))
			r.clusterBindings = append(r.clusterBindings, o)
		case "NetworkPolicy":
			var o networkingv1.NetworkPolicy
			must(t, yaml.Unmarshal([]byte(doc), &o))
			r.policies = append(r.policies, o)
		}
	}
	return r
}

// grantsOperatorData reports a rule on what the operator's own permissions cover:
// Secrets, ConfigMaps or SalesConnections.
func grantsOperatorData(rules []rbacv1.PolicyRule) bool {
	for _, rule := range rules {
		for _, res := range rule.Resources {
			if res == "*" || res == "secrets" || res == "configmaps" || strings.HasPrefix(res, "salesconnections") {
				return true
			}
		}
	}
	return false
}

// checkNamespaced asserts the operator's permissions are Roles in exactly the namespaces
// wantNS, bound to its service account, and nothing cluster-wide covers its data.
func checkNamespaced(t *testing.T, r rendered, wantNS []string) {
	t.Helper()
	for _, cr := range r.clusterRoles {
		if grantsOperatorData(cr.Rules) {
			t.Errorf("ClusterRole %s grants the operator's permissions cluster-wide", cr.Name)
		}
	}
	for _, b := range r.clusterBindings {
		for _, cr := range r.clusterRoles {
			if b.RoleRef.Name == cr.Name && grantsOperatorData(cr.Rules) {
				t.Errorf("ClusterRoleBinding %s binds %s", b.Name, cr.Name)
			}
		}
	}
	want := generatedRules(t)
	var got []string
	for _, role := range r.roles {
		if !reflect.DeepEqual(role.Rules, want) {
			continue
		}
		got = append(got, role.Namespace)
		bound := false
		for _, b := range r.bindings {
			if b.Namespace == role.Namespace && b.RoleRef.Kind == "Role" && b.RoleRef.Name == role.Name &&
				len(b.Subjects) == 1 && b.Subjects[0].Name == r.deployment.Spec.Template.Spec.ServiceAccountName &&
				b.Subjects[0].Namespace == r.deployment.Namespace {
				bound = true
			}
		}
		if !bound {
			t.Errorf("the manager Role in %s is not bound to the operator's service account", role.Namespace)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, wantNS) {
		t.Errorf("manager Roles in namespaces %v, want %v", got, wantNS)
	}
}

func argValue(args []string, flag string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+flag+"="); ok {
			return v, true
		}
	}
	return "", false
}

// checkAllowlists asserts the manifests spell out the operator's default allowlists, so
// a deployment shows where credentials may go.
func checkAllowlists(t *testing.T, d appsv1.Deployment) {
	t.Helper()
	args := d.Spec.Template.Spec.Containers[0].Args
	for flag, want := range map[string][]string{
		dataverse.FlagAllowedAuthorityHosts:     dataverse.DefaultAuthorityHosts,
		dataverse.FlagAllowedEnvironmentDomains: dataverse.DefaultEnvironmentDomains,
	} {
		if got, ok := argValue(args, flag); !ok || got != strings.Join(want, ",") {
			t.Errorf("--%s=%q, want the operator's default %q", flag, got, strings.Join(want, ","))
		}
	}
}

// checkEgressPolicy asserts one NetworkPolicy selects the operator's pods and lets out
// only TCP 443 (and the extra ports) and DNS.
func checkEgressPolicy(t *testing.T, r rendered, extraTCP ...int32) {
	t.Helper()
	if len(r.policies) != 1 {
		t.Fatalf("%d NetworkPolicies, want 1", len(r.policies))
	}
	np := r.policies[0]
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	must(t, err)
	if !sel.Matches(labels.Set(r.deployment.Spec.Template.Labels)) || np.Namespace != r.deployment.Namespace {
		t.Errorf("the NetworkPolicy (%s, %v) does not select the operator's pods (%s, %v)", np.Namespace, np.Spec.PodSelector, r.deployment.Namespace, r.deployment.Spec.Template.Labels)
	}
	if !reflect.DeepEqual(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}) {
		t.Errorf("policy types %v, want Egress only", np.Spec.PolicyTypes)
	}
	var got []string
	for _, rule := range np.Spec.Egress {
		if len(rule.To) != 0 {
			t.Errorf("an egress rule names peers: %+v", rule.To)
		}
		if len(rule.Ports) == 0 {
			t.Errorf("an egress rule allows every port")
		}
		for _, p := range rule.Ports {
			got = append(got, string(*p.Protocol)+"/"+p.Port.String())
		}
	}
	want := []string{"TCP/443", "TCP/53", "UDP/53"}
	for _, p := range extraTCP {
		want = append(want, "TCP/"+strconv.Itoa(int(p)))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("egress ports %v, want %v", got, want)
	}
}

func applyDryRun(t *testing.T, data []byte, manager string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "rendered.yaml")
	must(t, os.WriteFile(file, data, 0o600))
	if out, errOut, err := env.Kubectl("apply", "--server-side", "--dry-run=server", "--field-manager="+manager, "-f", file); err != nil {
		t.Fatalf("server-side dry-run apply: %v\n%s%s", err, out, errOut)
	}
}

func TestDefaultDeploymentShowsTheAllowlists(t *testing.T) {
	for name, data := range map[string][]byte{
		"kustomize": renderDeploy(t, "controller:latest"),
		"helm":      helmTemplate(t),
	} {
		t.Run(name, func(t *testing.T) {
			r := parseRendered(t, data)
			checkAllowlists(t, r.deployment)
			checkMemoryLimit(t, r.deployment)
			if len(r.policies) != 0 {
				t.Errorf("a NetworkPolicy is rendered by default")
			}
			if _, ok := argValue(r.deployment.Spec.Template.Spec.Containers[0].Args, "watch-namespaces"); ok {
				t.Errorf("the default deployment limits the watched namespaces")
			}
		})
	}
}

// TestNamespacedKustomization: config/namespaced gives the operator a Role in its own
// namespace, no ClusterRole for its permissions, and makes it watch that namespace.
func TestNamespacedKustomization(t *testing.T) {
	data := renderDeployOf(t, "controller:latest", "config/namespaced")
	r := parseRendered(t, data)
	checkNamespaced(t, r, []string{"salesconnection-system"})
	checkAllowlists(t, r.deployment)
	checkMemoryLimit(t, r.deployment)
	c := r.deployment.Spec.Template.Spec.Containers[0]
	if v, _ := argValue(c.Args, "watch-namespaces"); v != "$(POD_NAMESPACE)" {
		t.Errorf("--watch-namespaces=%q, want $(POD_NAMESPACE)", v)
	}
	podNS := false
	for _, e := range c.Env {
		if e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace" {
			podNS = true
		}
	}
	if !podNS {
		t.Errorf("POD_NAMESPACE does not come from the pod's namespace: %+v", c.Env)
	}
	ensureNamespace(t, "salesconnection-system")
	applyDryRun(t, data, "deploytest-namespaced")
}

func TestEgressNetworkPolicyComponent(t *testing.T) {
	for _, base := range []string{"config/default", "config/namespaced"} {
		t.Run(base, func(t *testing.T) {
			data := renderDeployOf(t, "controller:latest", base, "config/components/egress-network-policy")
			checkEgressPolicy(t, parseRendered(t, data), 6443)
			ensureNamespace(t, "salesconnection-system")
			applyDryRun(t, data, "deploytest-netpol")
		})
	}
}

func TestHelmNamespacedAndNetworkPolicy(t *testing.T) {
	for _, ns := range []string{"salesconnection-system", "team-a", "team-b"} {
		ensureNamespace(t, ns)
	}
	t.Run("watchNamespaces", func(t *testing.T) {
		data := helmTemplate(t, "--set", "watchNamespaces={team-b,team-a}")
		r := parseRendered(t, data)
		checkNamespaced(t, r, []string{"team-a", "team-b"})
		if v, _ := argValue(r.deployment.Spec.Template.Spec.Containers[0].Args, "watch-namespaces"); v != "team-b,team-a" {
			t.Errorf("--watch-namespaces=%q", v)
		}
		applyDryRun(t, data, "helmtest-namespaced")
	})
	t.Run("networkPolicy", func(t *testing.T) {
		data := helmTemplate(t, "--set", "networkPolicy.enabled=true,networkPolicy.extraEgressPorts={6443,5555}")
		checkEgressPolicy(t, parseRendered(t, data), 6443, 5555)
		applyDryRun(t, data, "helmtest-netpol")
	})
	t.Run("allowlists", func(t *testing.T) {
		data := helmTemplate(t, "--set", "allowedEnvironmentDomains={*.dynamics.com,crm.contoso.local:5555}")
		args := parseRendered(t, data).deployment.Spec.Template.Spec.Containers[0].Args
		if v, _ := argValue(args, dataverse.FlagAllowedEnvironmentDomains); v != "*.dynamics.com,crm.contoso.local:5555" {
			t.Errorf("--%s=%q", dataverse.FlagAllowedEnvironmentDomains, v)
		}
	})
}

// deployedGOGC is the collector setting the Deployment ships, chosen by make bench.
const deployedGOGC = "50"

// checkMemoryLimit: the Go runtime's soft memory limit (GOMEMLIMIT) is the manager
// container's memory limit, so the collector works harder before the kernel kills it;
// GOGC is the measured default, the same in every way of deploying.
func checkMemoryLimit(t *testing.T, d appsv1.Deployment) {
	t.Helper()
	c := d.Spec.Template.Spec.Containers[0]
	if i := slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "GOGC" }); i < 0 || c.Env[i].Value != deployedGOGC {
		t.Errorf("the manager container does not set GOGC=%s: %+v", deployedGOGC, c.Env)
	}
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			if ref := e.ValueFrom; ref == nil || ref.ResourceFieldRef == nil || ref.ResourceFieldRef.Resource != "limits.memory" || ref.ResourceFieldRef.ContainerName != c.Name {
				t.Errorf("GOMEMLIMIT = %+v, want the container's limits.memory", e)
			}
			if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
				t.Error("the manager container has no memory limit for GOMEMLIMIT to follow")
			}
			return
		}
	}
	t.Errorf("the manager container sets no GOMEMLIMIT: %+v", c.Env)
}
