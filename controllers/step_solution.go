package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
)

// integrationSolutionName is the unique name of Business Central's integration solution.
const integrationSolutionName = "MicrosoftDynamicsNavIntegration"

// staleImportJob is the age past which an import job that never completed is taken for
// abandoned: ImportSolutionAsync, which refuses to run beside a live import, decides then.
const staleImportJob = 2 * time.Hour

// observeSolution finds the integration solution and, when it is missing or older than
// the package, plans its import: one asynchronous import at a time, polled by requeueing.
func (r *Reconciler) observeSolution(ctx context.Context, s *scope) (plan, outcome) {
	if !s.obj.Spec.ImportsSolution() {
		return r.findSolution(ctx, s)
	}
	manifest, err := r.packageManifest(ctx, s)
	if err != nil {
		return plan{}, failed(err)
	}
	status := &salesv1alpha1.SolutionStatus{UniqueName: manifest.UniqueName}
	s.obj.Status.Solution = status

	installed, err := s.admin.GetSolution(ctx, manifest.UniqueName)
	if err != nil {
		return plan{}, failed(fromDataverse("reading the installed solutions", s.adminRef(), err))
	}
	if installed != nil {
		status.Version = boundedText(installed.Version, maxVersionLength)
	}

	rec, err := readImportRecord(s.obj)
	if err != nil {
		s.log.Info("ignoring an import-job annotation the operator did not write", "error", err.Error())
	}
	if rec != nil && !strings.EqualFold(rec.UniqueName, manifest.UniqueName) {
		s.log.Info("ignoring an import-job annotation of another solution", "solution", rec.UniqueName)
		rec = nil
	}
	if rec != nil && !rec.Failed {
		return r.pollImport(ctx, s, rec)
	}
	if upToDate(installed, manifest.Version) {
		return r.solutionInstalled(ctx, s, installed)
	}
	s.solutionInstalled = installed != nil
	if rec != nil && rec.Version == manifest.Version.String() && rec.RequestedAt == s.obj.Annotations[salesv1alpha1.AnnotationRequestedAt] {
		// This package failed before, and nobody asked to try again.
		return plan{}, failed(stalledInDataverse(salesv1alpha1.Reason(rec.Reason), "%s", rec.Message))
	}
	from := "not installed"
	if installed != nil {
		from = status.Version
	}
	// Filled by the import when it finds the solution installed after all.
	then := &conditionState{}
	return plan{
		changes: []change{{
			what:   fmt.Sprintf("import solution %s (%s -> %s)", manifest.UniqueName, from, manifest.Version),
			action: "ImportSolution",
			repair: "solution " + manifest.UniqueName + " imported again",
			apply: func(ctx context.Context) outcome {
				return r.importUnlessRunning(ctx, s, manifest, then)
			},
		}},
		then: then,
	}, done()
}

// findSolution only reads whether the solution is installed, for the steps that need
// its roles and entities, when the spec does not ask for the import.
func (r *Reconciler) findSolution(ctx context.Context, s *scope) (plan, outcome) {
	installed, err := s.integration.GetSolution(ctx, integrationSolutionName)
	if err != nil {
		return plan{}, failed(fromDataverse("reading the installed solutions", s.integrationRef(), err))
	}
	s.solutionInstalled = installed != nil
	s.obj.Status.Solution = nil
	if installed != nil {
		s.obj.Status.Solution = solutionStatus(installed)
	}
	return plan{then: conditionAbsent()}, done()
}

// solutionInstalled reports the solution installed, clearing the import record (a
// finished import, or a failure recorded for an earlier attempt).
func (r *Reconciler) solutionInstalled(ctx context.Context, s *scope, installed *dataverse.Solution) (plan, outcome) {
	// Any record goes, also one the operator could not read.
	if err := r.setImportRecord(ctx, s, nil); err != nil {
		return plan{}, failed(err)
	}
	s.solutionInstalled = true
	s.obj.Status.Solution = solutionStatus(installed)
	return plan{then: conditionTrue(salesv1alpha1.ReasonImported, fmt.Sprintf("%s %s is installed", s.obj.Status.Solution.UniqueName, s.obj.Status.Solution.Version))}, done()
}

// solutionStatus is what status shows of an installed solution.
func solutionStatus(installed *dataverse.Solution) *salesv1alpha1.SolutionStatus {
	return &salesv1alpha1.SolutionStatus{
		UniqueName: boundedText(installed.UniqueName, maxNameLength),
		Version:    boundedText(installed.Version, maxVersionLength),
	}
}

// importUnlessRunning starts the import, unless an import runs: then it waits for that
// one. The running imports are read before the installed version, so an import that
// finishes between the two reads is seen installed and not imported a second time. The
// package itself is read only when the import is about to start. When the solution is
// found installed after all, installedNow is set to the step's condition.
func (r *Reconciler) importUnlessRunning(ctx context.Context, s *scope, manifest solution.Manifest, installedNow *conditionState) outcome {
	// One pass at a time per environment looks and starts; the others find the import
	// it started in the watch and wait for it without reading.
	if r.imports.watching(s.envURL) {
		return r.waitForOthersImport(s)
	}
	unlock, err := r.imports.lockStart(ctx, s.envURL)
	if err != nil {
		return failed(retrying(salesv1alpha1.ReasonRetrying, "waiting for another pass to check the environment's solution imports: %v", err))
	}
	defer unlock()
	if r.imports.watching(s.envURL) {
		return r.waitForOthersImport(s)
	}
	jobs, err := s.admin.RunningImports(ctx)
	switch {
	case dataverse.ReasonOf(err) == dataverse.ReasonPrivilegeDenied:
		// A custom role may import without reading import jobs: ImportSolutionAsync's
		// refusal of a second import is then the only check.
		s.log.Info("the administrator cannot read import jobs; relying on Dataverse to refuse a second import")
	case err != nil:
		return failed(fromDataverse("reading the running solution imports", s.adminRef(), err))
	}
	for _, job := range jobs {
		if time.Since(job.CreatedOn) < staleImportJob {
			s.log.Info("waiting for a running solution import", "importJob", job.ID, "solution", job.SolutionName, "createdOn", job.CreatedOn)
			return r.waitForOthersImport(s)
		}
	}
	installed, err := s.admin.GetSolution(ctx, manifest.UniqueName)
	if err != nil {
		return failed(fromDataverse("reading the installed solutions", s.adminRef(), err))
	}
	if upToDate(installed, manifest.Version) {
		p, o := r.solutionInstalled(ctx, s, installed)
		if p.then != nil {
			*installedNow = *p.then
		}
		return o
	}
	pkg, live, _, err := r.readPackage(ctx, s)
	if err != nil {
		return failed(err)
	}
	if live.UniqueName != manifest.UniqueName || live.Version.Compare(manifest.Version) != 0 {
		// Changed since this pass looked; the ConfigMap watch brings the next pass.
		return failed(retrying(salesv1alpha1.ReasonRetrying, "the solution package changed while this pass ran; reading it again"))
	}
	return r.startImport(ctx, s, pkg, manifest)
}

// waitForOthersImport waits for an import not recorded on this object, polled like its
// own rather than with a growing backoff. Its message is one, however the import was met,
// so waiting costs no status write per poll; the log names the job.
func (r *Reconciler) waitForOthersImport(s *scope) outcome {
	return r.importInProgress(s, "", "another solution import, not recorded on this object, is running in the environment; waiting for it to finish")
}

func (r *Reconciler) startImport(ctx context.Context, s *scope, pkg []byte, manifest solution.Manifest) outcome {
	// The pass read the object live, so no recorded import is missed. Should the record
	// below fail (the object changed meanwhile), the next pass finds this import running
	// and waits for it as for anyone's.
	handle, err := s.admin.ImportSolutionAsync(ctx, pkg)
	if dataverse.ReasonOf(err) == dataverse.ReasonImportInProgress {
		// Another import started since the running ones were read.
		return r.waitForOthersImport(s)
	}
	if err != nil {
		return failed(fromDataverse("starting the solution import", s.adminRef(), err))
	}
	rec := &importRecord{
		AsyncOperationID: handle.AsyncOperationID,
		ImportJobKey:     handle.ImportJobKey,
		UniqueName:       manifest.UniqueName,
		Version:          manifest.Version.String(),
		StartedAt:        metav1.Now(),
	}
	if err := rec.validate(); err != nil {
		// Not recordable, so not resumable: the next pass finds it running and waits for
		// it as for anyone's.
		return failed(retrying(salesv1alpha1.ReasonDataverseError, "Dataverse started the import with an answer the operator cannot record (%s); waiting for it to finish", err))
	}
	// Recorded before the first poll: from here on a restart resumes this import.
	if err := r.setImportRecord(ctx, s, rec); err != nil {
		return failed(err)
	}
	r.Recorder.Eventf(s.obj, nil, corev1.EventTypeNormal, "SolutionImportStarted", "ImportSolution",
		"started importing %s %s (async operation %s)", rec.UniqueName, rec.Version, rec.AsyncOperationID)
	return r.waitForImport(s, rec)
}

// pollImport checks a recorded import and, when it has finished, records the outcome.
func (r *Reconciler) pollImport(ctx context.Context, s *scope, rec *importRecord) (plan, outcome) {
	op, err := s.admin.GetAsyncOperation(ctx, rec.AsyncOperationID)
	if dataverse.IsNotFound(err) {
		// Dataverse deletes finished async operations after a while: the installed
		// version tells the outcome.
		return r.finishImport(ctx, s, rec, importOutcomeUnknown, "")
	}
	if err != nil {
		return plan{}, failed(fromDataverse("checking the solution import", s.adminRef(), err))
	}
	if !op.Done() {
		return plan{}, r.waitForImport(s, rec)
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

// finishImport clears or marks the import record and reports the solution.
func (r *Reconciler) finishImport(ctx context.Context, s *scope, rec *importRecord, result importOutcome, message string) (plan, outcome) {
	installed, err := s.admin.GetSolution(ctx, rec.UniqueName)
	if err != nil {
		return plan{}, failed(fromDataverse("reading the installed solutions", s.adminRef(), err))
	}
	version, _ := solution.ParseVersion(rec.Version)
	if result != importFailed && upToDate(installed, version) {
		recordImportEnd(rec.StartedAt.Time, true)
		return r.solutionInstalled(ctx, s, installed)
	}
	var again string
	switch {
	case result == importOutcomeUnknown:
		// Nothing tells why the import left no solution behind.
		again = "left no record and the solution is not installed"
	case result == importFailed && dataverse.IsConcurrentImportMessage(message):
		// Dataverse took the import but ran it beside another solution operation,
		// which it refuses at run time: a wait, not a failure of the package.
		again = "was refused because another solution operation was running"
	}
	if again != "" {
		// Start it again in a later pass, which looks for running imports first.
		if err := r.setImportRecord(ctx, s, nil); err != nil {
			return plan{}, failed(err)
		}
		return plan{}, r.importInProgress(s, "", fmt.Sprintf("the import of %s %s %s; importing it again", rec.UniqueName, rec.Version, again))
	}
	if result == importSucceeded {
		have := "nothing"
		if installed != nil {
			have = boundedText(installed.Version, maxVersionLength)
		}
		message = fmt.Sprintf("Dataverse reported success, but %s is installed", have)
	}
	recordImportEnd(rec.StartedAt.Time, false)
	rec.Failed = true
	rec.Reason = string(salesv1alpha1.ReasonImportFailed)
	if strings.Contains(strings.ToLower(message), "dependenc") {
		rec.Reason = string(salesv1alpha1.ReasonMissingDependencies)
	}
	rec.Message = fmt.Sprintf("importing %s %s failed: %s", rec.UniqueName, rec.Version, stableMessage(message))
	if rec.Reason == string(salesv1alpha1.ReasonMissingDependencies) {
		rec.Message += ": import the solutions it depends on first"
	}
	rec.RequestedAt = s.obj.Annotations[salesv1alpha1.AnnotationRequestedAt]
	if err := r.setImportRecord(ctx, s, rec); err != nil {
		return plan{}, failed(err)
	}
	s.solutionInstalled = installed != nil
	return plan{}, failed(stalledInDataverse(salesv1alpha1.Reason(rec.Reason),
		"%s; fix the package or the environment, then set the %s annotation to retry", rec.Message, salesv1alpha1.AnnotationRequestedAt))
}

func (r *Reconciler) waitForImport(s *scope, rec *importRecord) outcome {
	s.obj.Status.Solution.ImportJob = &salesv1alpha1.ImportJobStatus{
		AsyncOperationID: rec.AsyncOperationID, ImportJobKey: rec.ImportJobKey, Version: rec.Version, StartedAt: &rec.StartedAt,
	}
	return r.importInProgress(s, rec.ImportJobKey, fmt.Sprintf("importing %s %s", rec.UniqueName, rec.Version))
}

// importInProgress ends the pass waiting for an import: the environment's import watch
// requeues it the moment the import ends (jobKey names the import recorded on the
// object, "" for someone else's), and the resync is only a safety net. Without a
// watch, the pass comes back after the shortest poll interval.
func (r *Reconciler) importInProgress(s *scope, jobKey, msg string) outcome {
	after := r.MinImportPoll
	if r.imports != nil && s.admin != nil {
		r.imports.wait(s.envURL, s.admin, jobKey, s.obj)
		after = s.obj.Spec.Resync()
	}
	return waiting(salesv1alpha1.ReasonImportInProgress, after, msg)
}

// waitingForImport reports whether the last pass, for this generation, verified the
// connection and left the solution import running, and nobody asked for a new Test
// Connection since.
func waitingForImport(s *scope) bool {
	verified := s.before.GetCondition(salesv1alpha1.ConditionConnectionVerified)
	importing := s.before.GetCondition(salesv1alpha1.ConditionSolutionImported)
	return verified != nil && verified.Status == metav1.ConditionTrue && verified.ObservedGeneration == s.obj.Generation &&
		importing != nil && importing.Reason == string(salesv1alpha1.ReasonImportInProgress) && importing.ObservedGeneration == s.obj.Generation &&
		!s.requestedTestConnection()
}

// upToDate reports whether the installed solution is at least the package's version.
func upToDate(installed *dataverse.Solution, want solution.Version) bool {
	if installed == nil {
		return false
	}
	have, err := solution.ParseVersion(installed.Version)
	return err == nil && have.Compare(want) >= 0
}
