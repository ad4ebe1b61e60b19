package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

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
	if !needsCleanup(obj) {
		return ctrl.Result{}, r.releaseFinalizer(ctx, obj)
	}

	s := r.newScope(ctx, obj)
	res := r.runPass(ctx, s)
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
// assigned. Status says which roles it assigned, but status can be written by others, so
// only roles the spec requires, found again in the integration user's business unit, are
// taken back, and the user is the one the integration credentials sign in as now.
func (r *Reconciler) observeRoleRemoval(ctx context.Context, s *scope) (plan, outcome) {
	if s.obj.Spec.DeletionPolicy != salesv1alpha1.DeletionPolicyDeprovision || s.admin == nil {
		return plan{}, done()
	}
	assigned := map[string]bool{}
	for _, role := range s.obj.Status.AssignedRoles {
		if role.Managed {
			assigned[strings.ToLower(role.ID)] = true
		}
	}
	if len(assigned) == 0 {
		return plan{}, done()
	}
	who, err := s.integration.WhoAmI(ctx)
	if err != nil {
		return plan{}, failed(fromDataverse("finding the integration user", s.integrationRef(), err))
	}
	var p plan
	for _, ref := range requiredRoles(&s.obj.Spec) {
		role, err := findRole(ctx, s.admin, ref, who.BusinessUnitID)
		if dataverse.IsNotFound(err) {
			continue
		}
		if err != nil {
			return plan{}, failed(fromDataverse("looking up security role "+ref.label, s.adminRef(), err))
		}
		if !assigned[strings.ToLower(role.ID)] {
			continue
		}
		name := boundedText(role.Name, maxNameLength)
		p.changes = append(p.changes, change{
			what:   "remove security role " + name + " from the integration user",
			action: "RemoveRole",
			repair: "security role " + name + " removed",
			apply: func(ctx context.Context) outcome {
				err := s.admin.DisassociateRole(ctx, who.UserID, role.ID)
				if err != nil && !dataverse.IsNotFound(err) {
					return failed(fromDataverse("removing security role "+name, s.adminRef(), err))
				}
				return done()
			},
		})
	}
	return p, done()
}

// needsCleanup reports whether deleting the object has anything to clean in Dataverse.
// When it has not, the finalizer is released without reading a Secret, so a namespace
// whose Secrets went first is not held in Terminating: Orphan touches nothing, Observe
// mode never writes, and an object whose status shows it never got to a step that writes
// has nothing of its own there. An object without status (restored from a backup) is
// cleaned up, to be safe.
func needsCleanup(obj *salesv1alpha1.SalesConnection) bool {
	spec := &obj.Spec
	if spec.DeletionPolicy == salesv1alpha1.DeletionPolicyOrphan || spec.Observing() {
		return false
	}
	deprovision := spec.DeletionPolicy == salesv1alpha1.DeletionPolicyDeprovision
	if !deprovision && (spec.BusinessCentral == nil || spec.BusinessCentral.Company == "") {
		return false
	}
	if obj.Status.ObservedGeneration == 0 {
		return true
	}
	writing := []salesv1alpha1.ConditionType{salesv1alpha1.ConditionBusinessCentralLinked}
	if deprovision {
		writing = append(writing, salesv1alpha1.ConditionRolesAssigned, salesv1alpha1.ConditionSalesOrderIntegrationConfigured)
	}
	return slices.ContainsFunc(writing, func(t salesv1alpha1.ConditionType) bool { return obj.Status.GetCondition(t) != nil })
}

func (r *Reconciler) releaseFinalizer(ctx context.Context, obj *salesv1alpha1.SalesConnection) error {
	base := obj.DeepCopy()
	controllerutil.RemoveFinalizer(obj, salesv1alpha1.Finalizer)
	if err := client.IgnoreNotFound(r.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))); err != nil {
		return fmt.Errorf("releasing the finalizer: %w", err)
	}
	return nil
}
