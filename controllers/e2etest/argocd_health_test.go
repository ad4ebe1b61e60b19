package e2etest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// argoHealth runs config/argocd/health.lua on a live object with gopher-lua, the
// interpreter Argo CD uses, passing the object as Argo CD does: a global table `obj`.
func argoHealth(t *testing.T, sc *salesv1alpha1.SalesConnection) (status, message string) {
	t.Helper()
	script, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "config", "argocd", "health.lua"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(sc)
	if err != nil {
		t.Fatal(err)
	}
	ls := lua.NewState(lua.Options{SkipOpenLibs: false})
	defer ls.Close()
	ls.SetGlobal("obj", toLua(ls, raw))
	if err := ls.DoString(string(script)); err != nil {
		t.Fatalf("health.lua: %v", err)
	}
	hs, ok := ls.Get(-1).(*lua.LTable)
	if !ok {
		t.Fatalf("health.lua returned %v, want a table", ls.Get(-1))
	}
	return hs.RawGetString("status").String(), hs.RawGetString("message").String()
}

// toLua converts JSON-like Go values into Lua values: objects become tables, arrays
// 1-indexed tables.
func toLua(ls *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := ls.NewTable()
		for k, e := range v {
			t.RawSetString(k, toLua(ls, e))
		}
		return t
	case []any:
		t := ls.NewTable()
		for _, e := range v {
			t.Append(toLua(ls, e))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case nil:
		return lua.LNil
	}
	t := ls.NewTable()
	return t
}

func TestArgoCDHealthOnLiveObjects(t *testing.T) {
	f := newFixture(t)
	f.standardSecrets()
	f.sim.env.HoldImports()

	f.create("contoso", f.fullSpec())
	sc := waitForCondition(t, f.ns, "contoso", salesv1alpha1.ConditionReconciling, metav1.ConditionTrue, salesv1alpha1.ReasonImportInProgress)
	if status, msg := argoHealth(t, sc); status != "Progressing" || !strings.Contains(msg, "ImportInProgress") {
		t.Errorf("during an import: %s %q, want Progressing", status, msg)
	}
	f.sim.env.ReleaseImports()
	sc = waitReady(t, f.ns, "contoso")
	if status, msg := argoHealth(t, sc); status != "Healthy" || !strings.Contains(msg, "connected to") {
		t.Errorf("when Ready: %s %q, want Healthy", status, msg)
	}

	f.secret("wrong", map[string]string{"clientID": integrationAppID, "clientSecret": "nope"})
	spec := f.connectionOnlySpec()
	spec.Authentication.SecretRef.Name = "wrong"
	f.create("wrong-secret", spec)
	sc = waitForCondition(t, f.ns, "wrong-secret", salesv1alpha1.ConditionStalled, metav1.ConditionTrue, salesv1alpha1.ReasonAuthenticationFailed)
	if status, msg := argoHealth(t, sc); status != "Degraded" || !strings.Contains(msg, "AuthenticationFailed") {
		t.Errorf("with a wrong secret: %s %q, want Degraded", status, msg)
	}

	// A spec change the operator has not observed yet is Progressing, whatever the
	// conditions of the previous generation say: the object as the API server stored it
	// by the update, before the operator saw it.
	sc.Spec.ResyncInterval = &metav1.Duration{Duration: 5 * time.Minute}
	if err := k8s.Update(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	if sc.Status.ObservedGeneration >= sc.Generation {
		t.Fatalf("the update did not raise the generation: %d / %d", sc.Status.ObservedGeneration, sc.Generation)
	}
	if status, _ := argoHealth(t, sc); status != "Progressing" {
		t.Errorf("with an unobserved generation: %s, want Progressing", status)
	}

	// A Ready connection that was suspended: its last conditions stay in place, and the
	// health check says Suspended all the same.
	f.update("contoso", func(spec *salesv1alpha1.SalesConnectionSpec) { spec.Suspend = true })
	sc = get(t, f.ns, "contoso")
	if !sc.Spec.Suspend || condition(sc, salesv1alpha1.ConditionReady) == nil {
		t.Fatalf("suspended object = %+v", sc)
	}
	if status, _ := argoHealth(t, sc); status != "Suspended" {
		t.Errorf("suspended: %s, want Suspended", status)
	}
}
