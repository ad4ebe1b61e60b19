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

// reconcileDelete cleans Dataverse up per spec.deletionPolicy and then releases the
// finalizer. When cleanup cannot run (credentials gone, submitted orders), the reason is
// reported on the object and the finalizer kept; the force-delete annotation releases it.
func (r *Reconciler) reconcileDelete(ctx context.Context, obj *salesv1alpha1.SalesConnection) (_ ctrl.Result, retErr error) {
	if !controllerutil.ContainsFinalizer(obj, salesv1alpha1.Finalizer) {
		return ctrl.Result{}, nil
	}
	if obj.Annotations[salesv1alpha1.AnnotationForceDelete] == "true" {
		ctrl.LoggerFrom(ctx).Info("force-delete annotation set: releasing the finalizer without cleanup")
		return ctrl.Result{}, r.releaseFinalizer(ctx, obj)
	}
	if obj.Spec.DeletionPolicy == salesv1alpha1.DeletionPolicyOrphan {
		return ctrl.Result{}, r.releaseFinalizer(ctx, obj)
	}

	s := &scope{
		obj:     obj,
		log:     ctrl.LoggerFrom(ctx),
		before:  *obj.Status.DeepCopy(),
		secrets: &secretReader{reader: r.APIReader, namespace: obj.Namespace},
	}
	err := r.cleanup(ctx, s)
	if err == nil {
		// The API server raised the generation when it set deletionTimestamp, so the
		// cleanup's writes are never taken for drift repairs.
		r.emitEvents(s, true)
		return ctrl.Result{}, r.releaseFinalizer(ctx, obj)
	}
	// Report why the object is kept, with what the person can do.
	pe := asPhaseError(err)
	blocked := *pe
	blocked.message = fmt.Sprintf("deletion is waiting: %s (or set the annotation %s: \"true\" to delete without cleaning up Dataverse)",
		pe.message, salesv1alpha1.AnnotationForceDelete)
	s.failure = &blocked
	if werr := r.writeStatus(ctx, s); werr != nil {
		retErr = werr
	}
	return r.result(s, err)
}

// cleanup carries out the deletion policy in Dataverse.
func (r *Reconciler) cleanup(ctx context.Context, s *scope) error {
	if err := r.reconcileURL(ctx, s); err != nil {
		return err
	}
	if err := r.reconcileClients(ctx, s); err != nil {
		return err
	}
	if s.observing() { // Observe mode never writes to Dataverse, on deletion neither
		return nil
	}
	if removed, err := r.unlink(ctx, s); err != nil {
		return err
	} else if removed {
		s.normal("Disconnected", "Disconnect", "removed the Business Central link")
	}
	if s.obj.Spec.DeletionPolicy != salesv1alpha1.DeletionPolicyDeprovision {
		return nil
	}
	return r.deprovision(ctx, s)
}

// deprovision removes the roles this operator assigned and turns the sales order flag off
// when that is allowed. The solution is never uninstalled.
func (r *Reconciler) deprovision(ctx context.Context, s *scope) error {
	if s.admin == nil {
		return nil
	}
	user := s.obj.Status.IntegrationUser
	for _, role := range s.obj.Status.AssignedRoles {
		if !role.Managed || user == nil {
			continue
		}
		err := s.admin.DisassociateRole(ctx, user.ID, role.ID)
		if err != nil && !dataverse.IsNotFound(err) {
			return fromDataverse(salesv1alpha1.ConditionRolesAssigned, "removing security role "+role.Name, s.adminRef(), err)
		}
	}
	if soi := s.obj.Spec.SalesOrderIntegration; soi != nil && soi.Enabled {
		org, err := s.admin.GetOrganization(ctx)
		if err != nil {
			return fromDataverse(salesv1alpha1.ConditionSalesOrderIntegrationConfigured, "reading the organization settings", s.adminRef(), err)
		}
		if org.SOPIntegrationEnabled {
			if err := r.setSalesOrderFlag(ctx, s, org.ID, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *Reconciler) releaseFinalizer(ctx context.Context, obj *salesv1alpha1.SalesConnection) error {
	base := obj.DeepCopy()
	controllerutil.RemoveFinalizer(obj, salesv1alpha1.Finalizer)
	if err := client.IgnoreNotFound(r.Patch(ctx, obj, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))); err != nil {
		return fmt.Errorf("releasing the finalizer: %w", err)
	}
	return nil
}
