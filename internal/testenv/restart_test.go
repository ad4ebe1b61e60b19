package testenv_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// TestRestartAPIServerKeepsDataAndCertificates: after a restart the same client, with
// the same certificates, reads what was written before (etcd kept it), and writes again.
func TestRestartAPIServerKeepsDataAndCertificates(t *testing.T) {
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "before-restart"}, Data: map[string]string{"k": "v"}}
	if err := env.Client.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the second restart stops the process the first one started
		if _, err := env.RestartAPIServer(ctx); err != nil {
			t.Fatalf("restart %d: %v", i+1, err)
		}
		got := &corev1.ConfigMap{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cm), got); err != nil {
			t.Fatalf("after restart %d, reading with the same client: %v", i+1, err)
		}
		if got.Data["k"] != "v" {
			t.Fatalf("after restart %d the object reads %v", i+1, got.Data)
		}
	}
	if err := env.Client.Delete(ctx, cm); err != nil {
		t.Errorf("writing after the restarts: %v", err)
	}
}
