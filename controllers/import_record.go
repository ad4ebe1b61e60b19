package controllers

import (
	"context"
	"encoding/json"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
)

// importRecord is a solution import the operator started. It lives in the
// sales.bcconnect.io/import-job annotation, written before the first poll, so a restarted
// operator (or an object restored without status) resumes it instead of starting a second
// import; a failed import stays recorded so the same package is not imported again until
// the package changes or a person asks with the requested-at annotation.
type importRecord struct {
	AsyncOperationID string      `json:"asyncOperationID"`
	ImportJobKey     string      `json:"importJobKey,omitempty"`
	UniqueName       string      `json:"uniqueName"`
	Version          string      `json:"version"`
	StartedAt        metav1.Time `json:"startedAt"`
	Failed           bool        `json:"failed,omitempty"`
	Reason           string      `json:"reason,omitempty"`
	Message          string      `json:"message,omitempty"`
	RequestedAt      string      `json:"requestedAt,omitempty"`
}

func readImportRecord(obj *salesv1alpha1.SalesConnection) (*importRecord, error) {
	raw, ok := obj.Annotations[salesv1alpha1.AnnotationImportJob]
	if !ok || raw == "" {
		return nil, nil
	}
	rec := &importRecord{}
	if err := json.Unmarshal([]byte(raw), rec); err != nil {
		return nil, fmt.Errorf("annotation %s: %w", salesv1alpha1.AnnotationImportJob, err)
	}
	return rec, nil
}

// setImportRecord writes (or, with nil, removes) the import-job annotation. It patches a
// copy, so the status this pass has computed so far is not replaced by the server's.
func (r *Reconciler) setImportRecord(ctx context.Context, s *scope, rec *importRecord) error {
	cp := s.obj.DeepCopy()
	base := cp.DeepCopy()
	if rec == nil {
		if _, ok := cp.Annotations[salesv1alpha1.AnnotationImportJob]; !ok {
			return nil
		}
		delete(cp.Annotations, salesv1alpha1.AnnotationImportJob)
	} else {
		raw, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if cp.Annotations == nil {
			cp.Annotations = map[string]string{}
		}
		cp.Annotations[salesv1alpha1.AnnotationImportJob] = string(raw)
	}
	if err := r.Patch(ctx, cp, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("recording the solution import on the object: %w", err)
	}
	s.obj.Annotations = cp.Annotations
	s.obj.ResourceVersion = cp.ResourceVersion
	return nil
}
