package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// stepWatch samples every state of every SalesConnection from a watch.
type stepWatch struct {
	mu  sync.Mutex
	bad []string
}

func watchSteps(ctx context.Context, cp *testenv.Env) (*stepWatch, error) {
	c, err := client.NewWithWatch(cp.Config, client.Options{Scheme: cp.Scheme})
	if err != nil {
		return nil, err
	}
	list := &salesv1alpha1.SalesConnectionList{}
	if err := c.List(ctx, list); err != nil {
		return nil, err
	}
	w := &stepWatch{}
	go w.follow(ctx, c, list.ResourceVersion)
	return w, nil
}

func (w *stepWatch) follow(ctx context.Context, c client.WithWatch, rv string) {
	for ctx.Err() == nil {
		wi, err := c.Watch(ctx, &salesv1alpha1.SalesConnectionList{}, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv}})
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for ev := range wi.ResultChan() {
			sc, ok := ev.Object.(*salesv1alpha1.SalesConnection)
			if !ok {
				continue
			}
			rv = sc.ResourceVersion
			if step, bad := isFalseReady(sc); bad {
				w.mu.Lock()
				w.bad = append(w.bad, fmt.Sprintf("%s/%s (resourceVersion %s, %s False)", sc.Namespace, sc.Name, sc.ResourceVersion, step))
				w.mu.Unlock()
			}
		}
		wi.Stop()
	}
}

func (w *stepWatch) falseReady() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.bad...)
}
