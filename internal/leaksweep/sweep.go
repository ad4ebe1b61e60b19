// Package leaksweep is the secret-leak sweep of the test suites and the chaos run: every
// value a test hands the operator as a secret is registered, and afterwards the
// operator's logs, every event, every SalesConnection's status, every ConfigMap and the
// metrics are searched for each value and its base64. The report names where, never the
// value.
package leaksweep

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// SecretKeys are the Secret keys whose values are secret (a client id, a user name or a
// CA certificate is not).
var SecretKeys = map[string]bool{"clientSecret": true, "password": true, "tls.key": true, "accessKey": true}

// minLength: shorter values would be found by chance in unrelated text.
const minLength = 8

// Sweep collects secrets and the operator's output. Its zero value is ready; it is an
// io.Writer for an in-process operator's log.
type Sweep struct {
	mu       sync.Mutex
	values   map[string]bool
	log      bytes.Buffer
	logFiles []string
}

// Register adds the secret values of a Secret's data (keys in SecretKeys).
func (s *Sweep) Register(data map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]bool{}
	}
	for k, v := range data {
		if SecretKeys[k] && len(v) >= minLength {
			s.values[v] = true
		}
	}
}

// Write keeps log output of an operator running in this process.
func (s *Sweep) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(p)
}

// AddLogFile adds the log file of an operator process; it is read by Check.
func (s *Sweep) AddLogFile(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logFiles = append(s.logFiles, path)
}

// Check searches the logs, the cluster's SalesConnection statuses, events and
// ConfigMaps, the in-process metrics and the extra places for every registered value.
// It returns an error naming each place that holds one.
func (s *Sweep) Check(ctx context.Context, c client.Reader, extra map[string][]byte) error {
	places := map[string][]byte{}
	s.mu.Lock()
	places["the operator's log"] = bytes.Clone(s.log.Bytes())
	files := append([]string(nil), s.logFiles...)
	values := make([]string, 0, len(s.values))
	for v := range s.values {
		values = append(values, v)
	}
	s.mu.Unlock()
	sort.Strings(values)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("reading the operator log %s: %w", f, err)
		}
		places["the operator log "+f] = data
	}
	for k, v := range extra {
		places[k] = v
	}
	if err := clusterPlaces(ctx, c, places); err != nil {
		return err
	}
	families, err := metrics.Registry.Gather()
	if err != nil {
		return err
	}
	places["the metrics"] = []byte(fmt.Sprint(families))
	if found := Find(values, places); len(found) > 0 {
		return errors.New("secrets leaked:\n  " + strings.Join(found, "\n  "))
	}
	return nil
}

// clusterPlaces adds every SalesConnection's status, the events of both APIs and every
// ConfigMap's data.
func clusterPlaces(ctx context.Context, c client.Reader, places map[string][]byte) error {
	var scs salesv1alpha1.SalesConnectionList
	if err := c.List(ctx, &scs); err != nil {
		return err
	}
	for _, sc := range scs.Items {
		data, _ := json.Marshal(sc.Status)
		places["the status of SalesConnection "+sc.Namespace+"/"+sc.Name] = data
	}
	var events eventsv1.EventList
	if err := c.List(ctx, &events); err != nil {
		return err
	}
	var coreEvents corev1.EventList
	if err := c.List(ctx, &coreEvents); err != nil {
		return err
	}
	eventData, _ := json.Marshal([]any{events.Items, coreEvents.Items})
	places["the events"] = eventData
	var cms corev1.ConfigMapList
	if err := c.List(ctx, &cms); err != nil {
		return err
	}
	for _, cm := range cms.Items {
		data, _ := json.Marshal(cm.Data)
		places["ConfigMap "+cm.Namespace+"/"+cm.Name] = data
	}
	return nil
}

// Find names each place that holds one of the values, plainly or in base64.
func Find(values []string, places map[string][]byte) []string {
	var found []string
	for i, v := range values {
		forms := []struct{ suffix, needle string }{{"", v}, {" (base64)", base64.StdEncoding.EncodeToString([]byte(v))}}
		for where, data := range places {
			for _, form := range forms {
				if bytes.Contains(data, []byte(form.needle)) {
					found = append(found, fmt.Sprintf("registered secret #%d%s in %s", i+1, form.suffix, where))
				}
			}
		}
	}
	sort.Strings(found)
	return found
}
