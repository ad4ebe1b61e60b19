package e2etest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// The secret-leak sweep: every value a test hands the operator as a secret is
// registered, and after the suite the operator's log, every event, every
// SalesConnection's status, every ConfigMap and the metrics are searched for each value
// and its base64. One hit fails the suite; the report names where, never the value.

// secretKeys are the Secret keys whose values are secret (a client id, a user name or a
// CA certificate is not).
var secretKeys = map[string]bool{"clientSecret": true, "password": true, "tls.key": true, "accessKey": true}

// minSweptLength: shorter values would be found by chance in unrelated text.
const minSweptLength = 8

var sweep struct {
	mu     sync.Mutex
	values map[string]bool
	log    bytes.Buffer
}

// registerSecrets adds a Secret's secret values to the sweep.
func registerSecrets(data map[string]string) {
	sweep.mu.Lock()
	defer sweep.mu.Unlock()
	if sweep.values == nil {
		sweep.values = map[string]bool{}
	}
	for k, v := range data {
		if secretKeys[k] && len(v) >= minSweptLength {
			sweep.values[v] = true
		}
	}
}

// capturedLog is where the manager's log goes, besides TEST_LOG's stderr.
type capturedLog struct{}

func (capturedLog) Write(p []byte) (int, error) {
	sweep.mu.Lock()
	defer sweep.mu.Unlock()
	return sweep.log.Write(p)
}

// sweepForSecrets returns where registered secrets were found.
func sweepForSecrets(ctx context.Context) ([]string, error) {
	places := map[string][]byte{}
	sweep.mu.Lock()
	places["the operator's log"] = bytes.Clone(sweep.log.Bytes())
	values := make([]string, 0, len(sweep.values))
	for v := range sweep.values {
		values = append(values, v)
	}
	sweep.mu.Unlock()
	sort.Strings(values)

	var scs salesv1alpha1.SalesConnectionList
	if err := k8s.List(ctx, &scs); err != nil {
		return nil, err
	}
	for _, sc := range scs.Items {
		data, _ := json.Marshal(sc.Status)
		places["the status of SalesConnection "+sc.Namespace+"/"+sc.Name] = data
	}
	var events eventsv1.EventList
	if err := k8s.List(ctx, &events); err != nil {
		return nil, err
	}
	var coreEvents corev1.EventList
	if err := k8s.List(ctx, &coreEvents); err != nil {
		return nil, err
	}
	eventData, _ := json.Marshal([]any{events.Items, coreEvents.Items})
	places["the events"] = eventData
	var cms corev1.ConfigMapList
	if err := k8s.List(ctx, &cms); err != nil {
		return nil, err
	}
	for _, cm := range cms.Items {
		data, _ := json.Marshal(cm.Data)
		places["ConfigMap "+cm.Namespace+"/"+cm.Name] = data
	}
	families, err := metrics.Registry.Gather()
	if err != nil {
		return nil, err
	}
	places["the metrics"] = []byte(fmt.Sprint(families))

	return findSecrets(values, places), nil
}

// findSecrets names each place that holds one of the values, plainly or in base64.
func findSecrets(values []string, places map[string][]byte) []string {
	var found []string
	for i, v := range values {
		forms := []struct{ suffix, needle string }{{"", v}, {" (base64)", base64.StdEncoding.EncodeToString([]byte(v))}}
		for where, data := range places {
			for _, form := range forms {
				if strings.Contains(string(data), form.needle) {
					found = append(found, fmt.Sprintf("registered secret #%d%s in %s", i+1, form.suffix, where))
				}
			}
		}
	}
	sort.Strings(found)
	return found
}

// TestTheSweepFindsSecrets: the sweep is not blind to the forms a leak takes.
func TestTheSweepFindsSecrets(t *testing.T) {
	places := map[string][]byte{
		"a log":   []byte(`level=error msg="sign-in failed" secret=s3cret-value-1`),
		"a event": []byte(`{"note":"` + base64.StdEncoding.EncodeToString([]byte("s3cret-value-2")) + `"}`),
		"clean":   []byte(`nothing here`),
	}
	found := findSecrets([]string{"s3cret-value-1", "s3cret-value-2", "never-written"}, places)
	want := []string{"registered secret #1 in a log", "registered secret #2 (base64) in a event"}
	if strings.Join(found, "|") != strings.Join(want, "|") {
		t.Errorf("found %q, want %q", found, want)
	}
}
