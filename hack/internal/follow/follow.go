// Package follow watches every SalesConnection of a cluster for the benchmark and the
// chaos run, resuming the watch where the server ended it.
package follow

import (
	"context"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// SalesConnections lists the SalesConnections, then calls on for every change after
// that list (bookmarks aside) in a goroutine of its own until ctx ends. When the server
// can no longer resume the watch (410 Gone, after a kube-apiserver restart) it lists
// again and calls on for every object listed: states in between are not seen.
func SalesConnections(ctx context.Context, cp *testenv.Env, on func(watch.EventType, *salesv1alpha1.SalesConnection)) error {
	c, err := client.NewWithWatch(cp.Config, client.Options{Scheme: cp.Scheme})
	if err != nil {
		return err
	}
	list := &salesv1alpha1.SalesConnectionList{}
	if err := c.List(ctx, list); err != nil {
		return err
	}
	go func() {
		rv := list.ResourceVersion
		for ctx.Err() == nil {
			wi, err := c.Watch(ctx, &salesv1alpha1.SalesConnectionList{},
				&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				rv = relist(ctx, c, rv, on)
				continue
			}
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			for ev := range wi.ResultChan() {
				if ev.Type == watch.Error {
					if status, ok := ev.Object.(*metav1.Status); ok && status.Code == http.StatusGone {
						rv = relist(ctx, c, rv, on)
					}
					break
				}
				sc, ok := ev.Object.(*salesv1alpha1.SalesConnection)
				if !ok {
					continue
				}
				rv = sc.ResourceVersion
				if ev.Type != watch.Bookmark {
					on(ev.Type, sc)
				}
			}
			wi.Stop()
		}
	}()
	return nil
}

// relist lists every SalesConnection, calls on for each, and returns the list's resource
// version (rv again when the list fails).
func relist(ctx context.Context, c client.WithWatch, rv string, on func(watch.EventType, *salesv1alpha1.SalesConnection)) string {
	list := &salesv1alpha1.SalesConnectionList{}
	if err := c.List(ctx, list); err != nil {
		time.Sleep(100 * time.Millisecond)
		return rv
	}
	for i := range list.Items {
		on(watch.Modified, &list.Items[i])
	}
	return list.ResourceVersion
}
