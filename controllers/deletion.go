package controllers

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// reconcileDelete cleans Dataverse up per spec.deletionPolicy (cleanupSteps) and then
// releases the finalizer. When cleanup cannot run (credentials gone, submitted orders),
// the reason is reported on the object and the finalizer kept; the force-delete
// annotation releases it.
func (r *Reconciler) reconcileDelete(ctx context.Context, obj *salesv1alpha1.SalesConnection) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(obj, salesv1alpha1.Finalizer) {
		return ctrl.Result{}, nil
	}
	if obj.Annotations[salesv1alpha1.AnnotationForceDelete] == "true" {
		ctrl.LoggerFrom(ctx).Info("force-delete annotation set: releasing the finalizer without cleanup")
		return ctrl.Result{}, r.releaseFinalizer(ctx, obj)
	}
	if obj.Spec.DeletionPolicy == salesv1alpha1.DeletionPolicyOrphan || obj.Spec.Observing() {
		// Orphan touches nothing in Dataverse, and Observe mode never writes to it, on
		// deletion neither.
		return ctrl.Result{}, r.releaseFinalizer(ctx, obj)
	}

	s := r.newScope(ctx, obj)
	res := r.runSteps(ctx, s, stepsFor(s))
	if res.isDone() {
		return ctrl.Result{}, r.releaseFinalizer(ctx, obj)
	}
	// Report why the object is kept, with what the person can do.
	if f := res.failure; f != nil {
		blocked := *f
		blocked.message = fmt.Sprintf("deletion is waiting: %s (or set the annotation %s: \"true\" to delete without cleaning up Dataverse)",
			f.message, salesv1alpha1.AnnotationForceDelete)
		res.failure = &blocked
	}
	return r.finish(ctx, s, res)
}

// observeRoleRemoval plans, for Deprovision, to take back the roles this operator
// assigned, as status.assignedRoles records them.
func (r *Reconciler) observeRoleRemoval(_ context.Context, s *scope) (plan, outcome) {
	user := s.obj.Status.IntegrationUser
	if s.obj.Spec.DeletionPolicy != salesv1alpha1.DeletionPolicyDeprovision || s.admin == nil || user == nil {
		return plan{}, done()
	}
	var p plan
	for _, role := range s.obj.Status.AssignedRoles {
		if !role.Managed {
			continue
		}
		p.changes = append(p.changes, change{
			what:   fmt.Sprintf("remove security role %s from %s", role.Name, user.Name),
			action: "RemoveRole",
			repair: "security role " + role.Name + " removed",
			apply: func(ctx context.Context) outcome {
				err := s.admin.DisassociateRole(ctx, user.ID, role.ID)
				if err != nil && !dataverse.IsNotFound(err) {
					return failed(fromDataverse("removing security role "+role.Name, s.adminRef(), err))
				}
				return done()
			},
		})
	}
	return p, done()
}

func (r *Reconciler) releaseFinalizer(ctx context.Context, obj *salesv1alpha1.SalesConnection) error {
	base := obj.DeepCopy()
	controllerutil.RemoveFinalizer(obj, salesv1alpha1.Finalizer)
	if err := client.IgnoreNotFound(r.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))); err != nil {
		return fmt.Errorf("releasing the finalizer: %w", err)
	}
	return nil
}
