package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/testenv"
)

// floorReconciler only writes Ready=True: the least any controller must do to bring an
// object to Ready on this API server.
type floorReconciler struct{ client.Client }

func (r *floorReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	sc := &salesv1alpha1.SalesConnection{}
	if err := r.Get(ctx, req.NamespacedName, sc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	base := sc.DeepCopy()
	sc.Status.ObservedGeneration = sc.Generation
	meta.SetStatusCondition(&sc.Status.Conditions, metav1.Condition{Type: string(salesv1alpha1.ConditionReady),
		Status: metav1.ConditionTrue, Reason: "Ready", Message: "floor", ObservedGeneration: sc.Generation})
	return ctrl.Result{}, r.Status().Patch(ctx, sc, client.MergeFrom(base))
}

func startFloorController(ctx context.Context, cp *testenv.Env, concurrency int) (stop func(), err error) {
	mgr, err := ctrl.NewManager(cp.Config, ctrl.Options{Scheme: cp.Scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		return nil, err
	}
	onlyFloor := predicate.NewPredicateFuncs(func(o client.Object) bool { return strings.HasPrefix(o.GetNamespace(), "floor-") })
	if err := ctrl.NewControllerManagedBy(mgr).Named(fmt.Sprintf("floor-%d", time.Now().UnixNano())).
		For(&salesv1alpha1.SalesConnection{}, builder.WithPredicates(onlyFloor, predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: concurrency}).
		Complete(&floorReconciler{mgr.GetClient()}); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = mgr.Start(ctx)
	}()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		cancel()
		return nil, ctx.Err()
	}
	return func() { cancel(); <-done }, nil
}
