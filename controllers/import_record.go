package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
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

// maxImportRecord bounds the annotation at what the API server stores for all of an
// object's annotations together. The record carries the requested-at annotation's value,
// which is anyone's to write and any length, and JSON escapes ("<" is written \u003c) make
// a text up to six times longer: a lower bound would refuse records the operator wrote
// itself, and the failed import such a record holds would be started again every pass.
const maxImportRecord = apivalidation.TotalAnnotationSizeLimitB

// readImportRecord reads the import-job annotation. Anyone who may edit the object may
// write it, so it is validated like any input: a record that is not one the operator
// could have written is an error, and the caller goes on as if there were none (it looks
// for running imports before importing, so no second import starts).
func readImportRecord(obj *salesv1alpha1.SalesConnection) (*importRecord, error) {
	raw, ok := obj.Annotations[salesv1alpha1.AnnotationImportJob]
	if !ok || raw == "" {
		return nil, nil
	}
	if len(raw) > maxImportRecord {
		return nil, fmt.Errorf("annotation %s is %d bytes, more than the operator writes", salesv1alpha1.AnnotationImportJob, len(raw))
	}
	rec := &importRecord{}
	if err := json.Unmarshal([]byte(raw), rec); err != nil {
		return nil, fmt.Errorf("annotation %s: %w", salesv1alpha1.AnnotationImportJob, err)
	}
	if err := rec.validate(); err != nil {
		return nil, fmt.Errorf("annotation %s: %w", salesv1alpha1.AnnotationImportJob, err)
	}
	return rec, nil
}

// validate checks a record read from the object.
func (rec *importRecord) validate() error {
	switch {
	case !guidPattern.MatchString(rec.AsyncOperationID):
		return errors.New("asyncOperationID is not a GUID")
	case rec.ImportJobKey != "" && !guidPattern.MatchString(rec.ImportJobKey):
		return errors.New("importJobKey is not a GUID")
	case rec.UniqueName == "" || len(rec.UniqueName) > maxNameLength:
		return errors.New("uniqueName is not a solution name")
	case rec.StartedAt.UTC().Year() < 1 || rec.StartedAt.UTC().Year() > 9999:
		// RFC 3339 writes four-digit years only: such a time would not be read back.
		return errors.New("startedAt is not a time the operator writes")
	}
	if _, err := solution.ParseVersion(rec.Version); err != nil {
		return fmt.Errorf("version: %w", err)
	}
	if rec.Failed && rec.Reason != string(salesv1alpha1.ReasonImportFailed) && rec.Reason != string(salesv1alpha1.ReasonMissingDependencies) {
		return errors.New("reason is not one of a failed import")
	}
	rec.Message = boundedText(rec.Message, 2*maxMessageLength)
	return nil
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
