package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/watch"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/hack/internal/follow"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// readyWatch follows every SalesConnection through a watch and records, the moment the
// event arrives, when each first became Ready for its generation and how often it was
// written (every MODIFIED event is one write: status, finalizer or annotation).
type readyWatch struct {
	mu      sync.Mutex
	readyAt map[string]time.Time
	writes  map[string]int
	changed chan struct{}
}

func watchReady(ctx context.Context, cp *testenv.Env) (*readyWatch, error) {
	w := &readyWatch{readyAt: map[string]time.Time{}, writes: map[string]int{}, changed: make(chan struct{}, 1)}
	err := follow.SalesConnections(ctx, cp, func(t watch.EventType, sc *salesv1alpha1.SalesConnection) {
		w.record(t, sc, time.Now())
	})
	return w, err
}

func (w *readyWatch) record(t watch.EventType, sc *salesv1alpha1.SalesConnection, now time.Time) {
	key := sc.Namespace + "/" + sc.Name
	w.mu.Lock()
	defer w.mu.Unlock()
	if t == watch.Modified {
		w.writes[key]++
	}
	if _, seen := w.readyAt[key]; !seen && sc.Status.ObservedGeneration == sc.Generation &&
		meta.IsStatusConditionTrue(sc.Status.Conditions, string(salesv1alpha1.ConditionReady)) {
		w.readyAt[key] = now
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
}

// waitReady waits until n objects whose key has prefix are Ready and returns when the
// last of them became so.
func (w *readyWatch) waitReady(ctx context.Context, prefix string, n int, timeout time.Duration) (time.Time, error) {
	deadline := time.After(timeout)
	for {
		last, count := w.lastReady(prefix)
		if count >= n {
			return last, nil
		}
		select {
		case <-w.changed:
		case <-time.After(time.Second):
		case <-deadline:
			return time.Time{}, errNotReady{prefix: prefix, ready: count, want: n, timeout: timeout}
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

func (w *readyWatch) lastReady(prefix string) (last time.Time, count int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for k, t := range w.readyAt {
		if hasPrefix(k, prefix) {
			count++
			if t.After(last) {
				last = t
			}
		}
	}
	return last, count
}

// writeCount is how many writes the objects under prefix have had.
func (w *readyWatch) writeCount(prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for k, c := range w.writes {
		if hasPrefix(k, prefix) {
			n += c
		}
	}
	return n
}

func hasPrefix(key, prefix string) bool {
	return len(key) >= len(prefix) && key[:len(prefix)] == prefix
}

type errNotReady struct {
	prefix      string
	ready, want int
	timeout     time.Duration
}

func (e errNotReady) Error() string {
	return fmt.Sprintf("%d of %d SalesConnections in %s* Ready after %s", e.ready, e.want, e.prefix, e.timeout)
}
