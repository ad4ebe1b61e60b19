package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// writeStatus sets the summary conditions and writes status once, only when it changed,
// then emits the events of the transitions.
func (r *Reconciler) writeStatus(ctx context.Context, s *scope, res passResult) error {
	setSummary(s.obj, res)
	if requested := s.obj.Annotations[salesv1alpha1.AnnotationRequestedAt]; requested != "" {
		s.obj.Status.LastHandledRequestedAt = requested
	}
	err := r.patchStatus(ctx, s)
	if err == nil {
		// Transitions of a pass whose status write failed are left to the pass that
		// retries it.
		r.emitTransitions(s, res)
		recordReady(s.obj)
	}
	return err
}

// patchStatus writes status when it differs from what the pass started from. The
// resourceVersion precondition refuses a write computed from a stale copy, which would
// otherwise overwrite a newer pass's status.
func (r *Reconciler) patchStatus(ctx context.Context, s *scope) error {
	if equality.Semantic.DeepEqual(s.before, s.obj.Status) {
		return nil
	}
	patchBase := s.obj.DeepCopy()
	patchBase.Status = s.before
	err := r.Status().Patch(ctx, s.obj, client.MergeFromWithOptions(patchBase, client.MergeFromWithOptimisticLock{}))
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		return err
	default:
		return fmt.Errorf("writing status: %w", err)
	}
}
