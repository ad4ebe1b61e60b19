package main

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/controllers"
)

// capturingManager is a manager that keeps what is added to it instead of running it.
type capturingManager struct {
	ctrl.Manager
	added []manager.Runnable
}

func (m *capturingManager) Add(r manager.Runnable) error {
	m.added = append(m.added, r)
	return nil
}

// setUpReconciler runs setupControllers, as main does, against a manager that talks to no
// API server, and returns the reconciler it registered.
func setUpReconciler(t *testing.T, o controllerOptions) *controllers.Reconciler {
	t.Helper()
	// A fixed REST mapper: the informers are made, never started, and nothing asks an API
	// server which resources exist.
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(salesv1alpha1.GroupVersion.WithKind("SalesConnection"), meta.RESTScopeNamespace)
	mapper.Add(corev1.SchemeGroupVersion.WithKind("Secret"), meta.RESTScopeNamespace)
	mapper.Add(corev1.SchemeGroupVersion.WithKind("ConfigMap"), meta.RESTScopeNamespace)
	mgr, err := ctrl.NewManager(&rest.Config{Host: "https://127.0.0.1:1"}, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		MapperProvider:         func(*rest.Config, *http.Client) (meta.RESTMapper, error) { return mapper, nil },
		Controller:             config.Controller{SkipNameValidation: new(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	capture := &capturingManager{Manager: mgr}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := setupControllers(ctx, capture, o, "", nil); err != nil {
		t.Fatalf("setupControllers: %v", err)
	}
	// The controller keeps its reconciler in its Do field.
	for _, r := range capture.added {
		v := reflect.Indirect(reflect.ValueOf(r))
		if v.Kind() != reflect.Struct {
			continue
		}
		if do := v.FieldByName("Do"); do.IsValid() && do.CanInterface() {
			if rec, ok := do.Interface().(*controllers.Reconciler); ok {
				return rec
			}
		}
	}
	t.Fatalf("no controller with a *controllers.Reconciler among %d runnables", len(capture.added))
	return nil
}

// environmentShare is the reconciler's cap on the passes per environment (the
// unexported envShare.limit, read by reflection).
func environmentShare(t *testing.T, r *controllers.Reconciler) int {
	t.Helper()
	share := reflect.ValueOf(r).Elem().FieldByName("envShare")
	if !share.IsValid() || !share.FieldByName("limit").IsValid() {
		t.Fatal("controllers.Reconciler has no envShare.limit any more: update this test")
	}
	return int(share.FieldByName("limit").Int())
}

// TestPassTimeoutAndEnvironmentShareFlags: --pass-timeout and
// --max-concurrent-reconciles-per-environment are parsed and reach the reconciler
// setupControllers registers; a value that is not a duration or a number is refused
// with an error naming the flag.
func TestPassTimeoutAndEnvironmentShareFlags(t *testing.T) {
	o, err := quietly(t)
	if err != nil {
		t.Fatal(err)
	}
	if o.controllers.passTimeout != controllers.DefaultPassTimeout || o.controllers.maxReconcilesPerEnv != 0 {
		t.Errorf("defaults: pass timeout %v, per-environment share %d; want %v and 0 (half the workers)",
			o.controllers.passTimeout, o.controllers.maxReconcilesPerEnv, controllers.DefaultPassTimeout)
	}
	r := setUpReconciler(t, o.controllers)
	if r.PassTimeout != controllers.DefaultPassTimeout {
		t.Errorf("default: the reconciler's pass timeout is %v, want %v", r.PassTimeout, controllers.DefaultPassTimeout)
	}
	if got := environmentShare(t, r); got != 16 {
		t.Errorf("default: the reconciler's per-environment share is %d, want 16 (half of 32 workers)", got)
	}

	o, err = quietly(t, "--pass-timeout=45s", "--max-concurrent-reconciles-per-environment=3")
	if err != nil {
		t.Fatal(err)
	}
	if o.controllers.passTimeout != 45*time.Second || o.controllers.maxReconcilesPerEnv != 3 {
		t.Errorf("parsed: pass timeout %v, per-environment share %d; want 45s and 3",
			o.controllers.passTimeout, o.controllers.maxReconcilesPerEnv)
	}
	r = setUpReconciler(t, o.controllers)
	if r.PassTimeout != 45*time.Second {
		t.Errorf("the reconciler's pass timeout is %v, want the flag's 45s", r.PassTimeout)
	}
	if got := environmentShare(t, r); got != 3 {
		t.Errorf("the reconciler's per-environment share is %d, want the flag's 3", got)
	}

	for _, tc := range []struct{ arg, flag string }{
		{"--pass-timeout=soon", "pass-timeout"},
		{"--pass-timeout=180", "pass-timeout"},
		{"--pass-timeout=-1s", "pass-timeout"},
		{"--max-concurrent-reconciles-per-environment=two", "max-concurrent-reconciles-per-environment"},
		{"--max-concurrent-reconciles-per-environment=1.5", "max-concurrent-reconciles-per-environment"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			if _, err := quietly(t, tc.arg); err == nil || !strings.Contains(err.Error(), tc.flag) {
				t.Errorf("parseFlags(%s) = %v, want an error naming -%s", tc.arg, err, tc.flag)
			}
		})
	}
}
