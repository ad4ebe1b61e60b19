package main

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/watch"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/hack/internal/follow"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// stepWatch samples every state of every SalesConnection from a watch.
type stepWatch struct {
	mu  sync.Mutex
	bad []string
}

func watchSteps(ctx context.Context, cp *testenv.Env) (*stepWatch, error) {
	w := &stepWatch{}
	err := follow.SalesConnections(ctx, cp, func(_ watch.EventType, sc *salesv1alpha1.SalesConnection) {
		if step, bad := isFalseReady(sc); bad {
			w.mu.Lock()
			w.bad = append(w.bad, fmt.Sprintf("%s/%s (resourceVersion %s, %s False)", sc.Namespace, sc.Name, sc.ResourceVersion, step))
			w.mu.Unlock()
		}
	})
	return w, err
}

func (w *stepWatch) falseReady() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.bad...)
}
