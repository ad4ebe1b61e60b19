package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
)

// IntegrationSolutionName is the unique name of Business Central's integration solution.
const IntegrationSolutionName = "MicrosoftDynamicsNavIntegration"

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

// reconcileSolution imports the integration solution when it is missing or older than
// the package, one asynchronous import at a time, polled by requeueing.
func (r *Reconciler) reconcileSolution(ctx context.Context, s *scope) error {
	const cond = salesv1alpha1.ConditionSolutionImported
	if !s.obj.Spec.ImportsSolution() {
		return r.observeSolution(ctx, s)
	}
	manifest, err := r.packageManifest(ctx, s)
	if err != nil {
		return err
	}
	status := &salesv1alpha1.SolutionStatus{UniqueName: manifest.UniqueName}
	s.obj.Status.Solution = status

	installed, err := s.admin.GetSolution(ctx, manifest.UniqueName)
	if err != nil {
		return fromDataverse(cond, "reading the installed solutions", s.adminRef(), err)
	}
	if installed != nil {
		status.Version = installed.Version
	}

	rec, err := readImportRecord(s.obj)
	if err != nil {
		s.log.Info("ignoring an unreadable import-job annotation", "error", err.Error())
	}
	if rec != nil && !rec.Failed {
		return r.pollImport(ctx, s, rec)
	}
	if upToDate(installed, manifest.Version) {
		return r.solutionInstalled(ctx, s, installed, rec)
	}
	s.solutionInstalled = installed != nil
	if rec != nil && rec.Version == manifest.Version.String() && rec.RequestedAt == s.obj.Annotations[salesv1alpha1.AnnotationRequestedAt] {
		return stalled(cond, rec.Reason, "%s", rec.Message)
	}
	from := "not installed"
	if installed != nil {
		from = installed.Version
	}
	if s.observing() {
		s.pending = append(s.pending, fmt.Sprintf("import solution %s (%s -> %s)", manifest.UniqueName, from, manifest.Version))
		setFalse(s.obj, cond, ReasonPendingChanges, fmt.Sprintf("%s %s would be imported (installed: %s)", manifest.UniqueName, manifest.Version, from))
		return nil
	}
	return r.importUnlessRunning(ctx, s, manifest, rec)
}

// solutionInstalled reports the solution installed, clearing the import record (a
// finished import, or a failure recorded for an earlier attempt).
func (r *Reconciler) solutionInstalled(ctx context.Context, s *scope, installed *dataverse.Solution, rec *importRecord) error {
	if rec != nil {
		if err := r.setImportRecord(ctx, s, nil); err != nil {
			return err
		}
	}
	s.solutionInstalled = true
	s.obj.Status.Solution = &salesv1alpha1.SolutionStatus{UniqueName: installed.UniqueName, Version: installed.Version}
	setTrue(s.obj, salesv1alpha1.ConditionSolutionImported, ReasonImported, fmt.Sprintf("%s %s is installed", installed.UniqueName, installed.Version))
	return nil
}

// staleImportJob is the age past which an import job that never completed is taken for
// abandoned: ImportSolutionAsync, which refuses to run beside a live import, decides then.
const staleImportJob = 2 * time.Hour

// importUnlessRunning starts the import, unless an import runs: then it waits for that
// one. The running imports are read before the installed version, so an import that
// finishes between the two reads is seen installed and not imported a second time. The
// package itself is read only when the import is about to start.
func (r *Reconciler) importUnlessRunning(ctx context.Context, s *scope, manifest solution.Manifest, failed *importRecord) error {
	const cond = salesv1alpha1.ConditionSolutionImported
	jobs, err := s.admin.RunningImports(ctx)
	switch {
	case dataverse.ReasonOf(err) == dataverse.ReasonPrivilegeDenied:
		// A custom role may import without reading import jobs: ImportSolutionAsync's
		// refusal of a second import is then the only check.
		s.log.Info("the administrator cannot read import jobs; relying on Dataverse to refuse a second import")
	case err != nil:
		return fromDataverse(cond, "reading the running solution imports", s.adminRef(), err)
	}
	for _, job := range jobs {
		if time.Since(job.CreatedOn) < staleImportJob {
			s.log.Info("waiting for a running solution import", "importJob", job.ID, "solution", job.SolutionName, "createdOn", job.CreatedOn)
			r.waitForOthersImport(s)
			return nil
		}
	}
	installed, err := s.admin.GetSolution(ctx, manifest.UniqueName)
	if err != nil {
		return fromDataverse(cond, "reading the installed solutions", s.adminRef(), err)
	}
	if upToDate(installed, manifest.Version) {
		return r.solutionInstalled(ctx, s, installed, failed)
	}
	pkg, live, _, err := r.readPackage(ctx, s)
	if err != nil {
		return err
	}
	if live.UniqueName != manifest.UniqueName || live.Version.Compare(manifest.Version) != 0 {
		// Changed since this pass looked; the ConfigMap watch brings the next pass.
		return retrying(cond, ReasonRetrying, "the solution package changed while this pass ran; reading it again")
	}
	return r.startImport(ctx, s, pkg, manifest)
}

// waitForOthersImport waits for an import not recorded on this object, polled like its
// own rather than with a growing backoff. Its message is one, however the import was met,
// so waiting costs no status write per poll; the log names the job.
func (r *Reconciler) waitForOthersImport(s *scope) {
	r.importInProgress(s, "another solution import, not recorded on this object, is running in the environment; waiting for it to finish")
}

// observeSolution only reads whether the solution is installed, for the steps that need
// its roles and entities.
func (r *Reconciler) observeSolution(ctx context.Context, s *scope) error {
	removeCondition(s.obj, salesv1alpha1.ConditionSolutionImported)
	installed, err := s.integration.GetSolution(ctx, IntegrationSolutionName)
	if err != nil {
		return fromDataverse(salesv1alpha1.ConditionConnectionVerified, "reading the installed solutions", s.integrationRef(), err)
	}
	s.solutionInstalled = installed != nil
	s.obj.Status.Solution = nil
	if installed != nil {
		s.obj.Status.Solution = &salesv1alpha1.SolutionStatus{UniqueName: installed.UniqueName, Version: installed.Version}
	}
	return nil
}

func (r *Reconciler) startImport(ctx context.Context, s *scope, pkg []byte, manifest solution.Manifest) error {
	const cond = salesv1alpha1.ConditionSolutionImported
	// The pass read the object live, so no recorded import is missed. Should the record
	// below fail (the object changed meanwhile), the next pass finds this import running
	// and waits for it as for anyone's.
	handle, err := s.admin.ImportSolutionAsync(ctx, pkg)
	if dataverse.ReasonOf(err) == dataverse.ReasonImportInProgress {
		// Another import started since the running ones were read.
		r.waitForOthersImport(s)
		return nil
	}
	if err != nil {
		return fromDataverse(cond, "starting the solution import", s.adminRef(), err)
	}
	rec := &importRecord{
		AsyncOperationID: handle.AsyncOperationID,
		ImportJobKey:     handle.ImportJobKey,
		UniqueName:       manifest.UniqueName,
		Version:          manifest.Version.String(),
		StartedAt:        metav1.Now(),
	}
	// Recorded before the first poll: from here on a restart resumes this import.
	if err := r.setImportRecord(ctx, s, rec); err != nil {
		return err
	}
	s.normal("SolutionImportStarted", "ImportSolution",
		fmt.Sprintf("started importing %s %s (async operation %s)", rec.UniqueName, rec.Version, rec.AsyncOperationID))
	r.waitForImport(s, rec)
	return nil
}

// pollImport checks a recorded import and, when it has finished, records the outcome.
func (r *Reconciler) pollImport(ctx context.Context, s *scope, rec *importRecord) error {
	const cond = salesv1alpha1.ConditionSolutionImported
	op, err := s.admin.GetAsyncOperation(ctx, rec.AsyncOperationID)
	if dataverse.IsNotFound(err) {
		// Dataverse deletes finished async operations after a while: the installed
		// version tells the outcome.
		return r.finishImport(ctx, s, rec, importOutcomeUnknown, "")
	}
	if err != nil {
		return fromDataverse(cond, "checking the solution import", s.adminRef(), err)
	}
	if !op.Done() {
		r.waitForImport(s, rec)
		return nil
	}
	if op.Succeeded() {
		return r.finishImport(ctx, s, rec, importSucceeded, "")
	}
	message := op.FriendlyMessage
	if message == "" {
		message = op.Message
	}
	if result, err := s.admin.GetImportResult(ctx, rec.ImportJobKey); err == nil && len(result.ErrorMessages) > 0 {
		message = strings.Join(result.ErrorMessages, "; ")
	}
	return r.finishImport(ctx, s, rec, importFailed, message)
}

// importOutcome is what Dataverse says of a finished import.
type importOutcome int

const (
	importSucceeded importOutcome = iota
	importFailed
	// importOutcomeUnknown: the async operation is gone, so only the installed version
	// tells.
	importOutcomeUnknown
)

// finishImport clears or marks the import record and sets the condition.
func (r *Reconciler) finishImport(ctx context.Context, s *scope, rec *importRecord, outcome importOutcome, message string) error {
	const cond = salesv1alpha1.ConditionSolutionImported
	installed, err := s.admin.GetSolution(ctx, rec.UniqueName)
	if err != nil {
		return fromDataverse(cond, "reading the installed solutions", s.adminRef(), err)
	}
	version, _ := solution.ParseVersion(rec.Version)
	if outcome != importFailed && upToDate(installed, version) {
		return r.solutionInstalled(ctx, s, installed, rec)
	}
	var again string
	switch {
	case outcome == importOutcomeUnknown:
		// Nothing tells why the import left no solution behind.
		again = "left no record and the solution is not installed"
	case outcome == importFailed && dataverse.IsConcurrentImportMessage(message):
		// Dataverse took the import but ran it beside another solution operation,
		// which it refuses at run time: a wait, not a failure of the package.
		again = "was refused because another solution operation was running"
	}
	if again != "" {
		// Start it again in a later pass, which looks for running imports first.
		if err := r.setImportRecord(ctx, s, nil); err != nil {
			return err
		}
		r.importInProgress(s, fmt.Sprintf("the import of %s %s %s; importing it again", rec.UniqueName, rec.Version, again))
		return nil
	}
	if outcome == importSucceeded {
		have := "nothing"
		if installed != nil {
			have = installed.Version
		}
		message = fmt.Sprintf("Dataverse reported success, but %s is installed", have)
	}
	rec.Failed = true
	rec.Reason = ReasonImportFailed
	if strings.Contains(strings.ToLower(message), "dependenc") {
		rec.Reason = ReasonMissingDependencies
	}
	rec.Message = fmt.Sprintf("importing %s %s failed: %s", rec.UniqueName, rec.Version, stableMessage(message))
	if rec.Reason == ReasonMissingDependencies {
		rec.Message += ": import the solutions it depends on first"
	}
	rec.RequestedAt = s.obj.Annotations[salesv1alpha1.AnnotationRequestedAt]
	if err := r.setImportRecord(ctx, s, rec); err != nil {
		return err
	}
	s.solutionInstalled = installed != nil
	return stalled(cond, rec.Reason, "%s; fix the package or the environment, then set the %s annotation to retry", rec.Message, salesv1alpha1.AnnotationRequestedAt)
}

func (r *Reconciler) waitForImport(s *scope, rec *importRecord) {
	s.obj.Status.Solution.ImportJob = &salesv1alpha1.ImportJobStatus{
		AsyncOperationID: rec.AsyncOperationID, ImportJobKey: rec.ImportJobKey, Version: rec.Version, StartedAt: &rec.StartedAt,
	}
	r.importInProgress(s, fmt.Sprintf("importing %s %s", rec.UniqueName, rec.Version))
}

// importInProgress ends the pass waiting for an import: SolutionImported says why, and
// the next pass comes after the import poll interval, not a growing backoff.
func (r *Reconciler) importInProgress(s *scope, msg string) {
	const cond = salesv1alpha1.ConditionSolutionImported
	setFalse(s.obj, cond, ReasonImportInProgress, msg)
	s.inProgress = retrying(cond, ReasonImportInProgress, "%s", msg)
	s.requeueAfter = r.ImportPollInterval
}

// packageManifest returns the manifest of the solution package named by
// spec.integrationSolution, reading the package only when its ConfigMap changed since
// the last read.
func (r *Reconciler) packageManifest(ctx context.Context, s *scope) (solution.Manifest, error) {
	spec := s.obj.Spec.IntegrationSolution.PackageRef
	ref := packageRef{configMap: client.ObjectKey{Namespace: s.obj.Namespace, Name: spec.Name}, key: spec.Key}
	meta := &metav1.PartialObjectMetadata{}
	meta.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("ConfigMap"))
	if err := r.Get(ctx, ref.configMap, meta); err == nil {
		if m, ok := r.packages.get(ref, meta.ResourceVersion); ok {
			return m, nil
		}
	}
	_, manifest, resourceVersion, err := r.readPackage(ctx, s)
	if err != nil {
		return solution.Manifest{}, err
	}
	r.packages.put(ref, resourceVersion, manifest)
	return manifest, nil
}

// readPackage reads and parses the solution package named by spec.integrationSolution,
// live, and returns the ConfigMap's resource version with it.
func (r *Reconciler) readPackage(ctx context.Context, s *scope) ([]byte, solution.Manifest, string, error) {
	const cond = salesv1alpha1.ConditionSolutionImported
	ref := s.obj.Spec.IntegrationSolution.PackageRef
	cm := &corev1.ConfigMap{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: s.obj.Namespace, Name: ref.Name}, cm)
	if apierrors.IsNotFound(err) {
		return nil, solution.Manifest{}, "", stalled(cond, ReasonPackageNotFound,
			"ConfigMap %s/%s with the solution package not found: create it with the zip under binaryData key %q", s.obj.Namespace, ref.Name, ref.Key)
	}
	if err != nil {
		return nil, solution.Manifest{}, "", retrying(cond, ReasonRetrying, "reading ConfigMap %s/%s failed; retrying", s.obj.Namespace, ref.Name)
	}
	pkg, ok := cm.BinaryData[ref.Key]
	if !ok {
		return nil, solution.Manifest{}, "", stalled(cond, ReasonPackageNotFound,
			"ConfigMap %s/%s has no binaryData key %q: add the solution zip there (kubectl create configmap --from-file puts binary files in binaryData)", s.obj.Namespace, ref.Name, ref.Key)
	}
	manifest, err := solution.Read(pkg)
	if err != nil {
		return nil, solution.Manifest{}, "", stalled(cond, ReasonInvalidPackage,
			"ConfigMap %s/%s key %q is not a usable solution package: %v", s.obj.Namespace, ref.Name, ref.Key, err)
	}
	return pkg, manifest, cm.ResourceVersion, nil
}

// upToDate reports whether the installed solution is at least the package's version.
func upToDate(installed *dataverse.Solution, want solution.Version) bool {
	if installed == nil {
		return false
	}
	have, err := solution.ParseVersion(installed.Version)
	return err == nil && have.Compare(want) >= 0
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
