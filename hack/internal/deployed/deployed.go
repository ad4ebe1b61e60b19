// Package deployed reads how `make deploy` runs the operator, so the benchmark and the
// chaos run start it the same way.
package deployed

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/bcconnect/salesconnection-operator/hack/internal/proc"
)

// Operator is the operator as `make deploy` runs it: the manager container's args and
// environment from config/manager/manager.yaml of the tree the binary was built from.
type Operator struct {
	Label  string // what the report calls it: "after", "before"
	Bin    string
	Args   []string
	Env    []string
	Commit string
}

// Read reads the manager container of dir's config/manager/manager.yaml. The
// only changes are those a process beside others on one machine needs, each listed in
// the report: free loopback ports for the probes and the (authenticated) metrics
// listener, the simulator's
// loopback host on the allowlists, the leader election namespace (outside a cluster the
// pod's own namespace is not known).
func Read(dir, label, leaseNamespace string, healthPort int) (Operator, error) {
	run := Operator{Label: label, Bin: filepath.Join(dir, "bin", "manager")}
	if _, err := os.Stat(run.Bin); err != nil {
		return run, fmt.Errorf("%s: build it with `make build` in %s", run.Bin, dir)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config", "manager", "manager.yaml"))
	if err != nil {
		return run, err
	}
	c, err := managerContainer(data)
	if err != nil {
		return run, err
	}
	help, _ := exec.Command(run.Bin, "--help").CombinedOutput() //nolint:noctx // a local binary's help text
	for _, a := range c.Args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch name {
		case "health-probe-bind-address", "metrics-bind-address", "leader-election-namespace",
			"allowed-authority-hosts", "allowed-environment-domains":
			continue // set below
		}
		run.Args = append(run.Args, a)
	}
	metricsPort, err := proc.FreePort()
	if err != nil {
		return run, err
	}
	run.Args = append(run.Args, "--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(healthPort),
		"--metrics-bind-address=127.0.0.1:"+strconv.Itoa(metricsPort), "--leader-election-namespace="+leaseNamespace)
	// An operator built before the allowlists existed has no such flags (and no limit).
	for _, flag := range []string{"allowed-authority-hosts", "allowed-environment-domains"} {
		if bytes.Contains(help, []byte("-"+flag)) {
			run.Args = append(run.Args, "--"+flag+"=127.0.0.1")
		}
	}
	for _, e := range c.Env {
		v, ok, err := envValue(c, e, leaseNamespace)
		if err != nil {
			return run, err
		}
		if ok {
			run.Env = append(run.Env, e.Name+"="+v)
		}
	}
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--short", "HEAD").Output() //nolint:noctx // a local command
	if err == nil {
		run.Commit = strings.TrimSpace(string(out))
	}
	if dirty, _ := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output(); len(dirty) > 0 { //nolint:noctx // a local command
		run.Commit += " with uncommitted changes"
	}
	return run, nil
}

// managerContainer finds the container "manager" of the Deployment in a multi-document
// manifest.
func managerContainer(manifest []byte) (corev1.Container, error) {
	for _, doc := range bytes.Split(manifest, []byte("\n---")) {
		var d appsv1.Deployment
		if err := yaml.Unmarshal(doc, &d); err != nil || d.Kind != "Deployment" {
			continue
		}
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name == "manager" {
				return c, nil
			}
		}
	}
	return corev1.Container{}, fmt.Errorf("config/manager/manager.yaml has no Deployment with a container named manager")
}

// envValue resolves an environment variable as the kubelet would for this container.
func envValue(c corev1.Container, e corev1.EnvVar, namespace string) (string, bool, error) {
	switch {
	case e.ValueFrom == nil:
		return e.Value, true, nil
	case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
		return namespace, true, nil
	case e.ValueFrom.ResourceFieldRef != nil:
		ref := e.ValueFrom.ResourceFieldRef
		var q, ok = c.Resources.Limits[corev1.ResourceName(strings.TrimPrefix(ref.Resource, "limits."))]
		if strings.HasPrefix(ref.Resource, "requests.") {
			q, ok = c.Resources.Requests[corev1.ResourceName(strings.TrimPrefix(ref.Resource, "requests."))]
		}
		if !ok {
			return "", false, fmt.Errorf("env %s: the container has no %s", e.Name, ref.Resource)
		}
		divisor := int64(1)
		if !ref.Divisor.IsZero() {
			divisor = ref.Divisor.Value()
		}
		return strconv.FormatInt((q.Value()+divisor-1)/divisor, 10), true, nil
	}
	return "", false, fmt.Errorf("env %s: a value source the benchmark does not resolve", e.Name)
}
