package deploytest

import (
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// deployedObjects is what a rendering installs, keyed by kind and the role an object plays
// (the last part of its name), since kustomize and Helm name objects differently.
type deployedObjects struct {
	deployment appsv1.Deployment
	service    corev1.Service
	rules      map[string][]rbacv1.PolicyRule
}

// roleOf maps an object name to the role it plays: "salesconnection-leader-election-role"
// and "salesconnection-leader-election" both play "leader-election".
func roleOf(name string) string {
	name = strings.TrimPrefix(name, "salesconnection-")
	name = strings.TrimSuffix(name, "-role")
	return name
}

func parseDeployed(t *testing.T, rendered []byte) deployedObjects {
	t.Helper()
	objs := deployedObjects{rules: map[string][]rbacv1.PolicyRule{}}
	for _, doc := range strings.Split(string(rendered), "\n---\n") {
		var head struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		must(t, yaml.Unmarshal([]byte(doc), &head))
		switch head.Kind {
		case "Deployment":
			must(t, yaml.Unmarshal([]byte(doc), &objs.deployment))
		case "Service":
			must(t, yaml.Unmarshal([]byte(doc), &objs.service))
		case "Role", "ClusterRole":
			var role rbacv1.ClusterRole // a Role's rules read the same way
			must(t, yaml.Unmarshal([]byte(doc), &role))
			objs.rules[head.Kind+"/"+roleOf(head.Metadata.Name)] = role.Rules
		}
	}
	return objs
}

// podWithoutNames is the manager's pod spec without what differs by naming alone.
func podWithoutNames(d appsv1.Deployment) corev1.PodSpec {
	pod := *d.Spec.Template.Spec.DeepCopy()
	pod.ServiceAccountName = ""
	for i := range pod.Containers {
		pod.Containers[i].ImagePullPolicy = ""
	}
	return pod
}

// TestHelmChartKeepsInStepWithConfig: a team that installs with Helm gets the same
// operator as `make deploy`: the same pod (flags, probes, ports, resources, security),
// the same permissions and the same metrics Service.
func TestHelmChartKeepsInStepWithConfig(t *testing.T) {
	fromKustomize := parseDeployed(t, renderDeploy(t, "controller:latest"))
	fromHelm := parseDeployed(t, helmTemplate(t))

	if got, want := podWithoutNames(fromHelm.deployment), podWithoutNames(fromKustomize.deployment); !reflect.DeepEqual(got, want) {
		gotYAML, _ := yaml.Marshal(got)
		wantYAML, _ := yaml.Marshal(want)
		t.Errorf("the chart's manager pod differs from config/manager:\nchart:\n%s\nconfig:\n%s", gotYAML, wantYAML)
	}
	if got, want := *fromHelm.deployment.Spec.Replicas, *fromKustomize.deployment.Spec.Replicas; got != want {
		t.Errorf("chart replicas %d, config %d", got, want)
	}
	if got, want := fromHelm.service.Spec.Ports, fromKustomize.service.Spec.Ports; !reflect.DeepEqual(got, want) {
		t.Errorf("metrics Service ports: chart %+v, config %+v", got, want)
	}
	if len(fromKustomize.rules) < 4 {
		t.Fatalf("config/default renders %d roles, want the manager, leader-election and metrics roles", len(fromKustomize.rules))
	}
	if !reflect.DeepEqual(fromHelm.rules, fromKustomize.rules) {
		t.Errorf("roles differ:\nchart:  %+v\nconfig: %+v", fromHelm.rules, fromKustomize.rules)
	}
}
