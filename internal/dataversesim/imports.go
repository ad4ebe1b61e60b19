package dataversesim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/bcconnect/salesconnection-operator/internal/solution"
)

// importSolution starts an asynchronous import. Only System Administrators may import,
// and only one solution operation runs at a time per environment.
func (s *Server) importSolution(c *call) *apiError {
	if err := c.requireAdmin("prvImportCustomizations"); err != nil {
		return err
	}
	// The non-nullable parameters of the action (Web API reference, ImportSolutionAsync
	// Action) must be there; the package too, or there is nothing to import.
	var body struct {
		CustomizationFile                string
		OverwriteUnmanagedCustomizations *bool
		PublishWorkflows                 *bool
		ComponentParameters              *[]json.RawMessage
	}
	if err := c.readBody(&body); err != nil {
		return err
	}
	if body.CustomizationFile == "" || body.OverwriteUnmanagedCustomizations == nil || body.PublishWorkflows == nil || body.ComponentParameters == nil {
		return errf(http.StatusBadRequest, codeBadRequest,
			"ImportSolutionAsync requires CustomizationFile, OverwriteUnmanagedCustomizations, PublishWorkflows and ComponentParameters.")
	}
	pkg, err := base64.StdEncoding.DecodeString(body.CustomizationFile)
	if err != nil {
		return errf(http.StatusBadRequest, codeBadRequest, "CustomizationFile is not valid Edm.Binary (base64).")
	}
	manifest, err := solution.Read(pkg)
	if err != nil {
		return errf(http.StatusBadRequest, "0x8004801a", "The import file is invalid: %v", err)
	}
	env := c.env
	if env.importRunningLocked() {
		return errf(http.StatusBadRequest, codeImportInProgress,
			"Cannot start another solution import because there is a previous solution import or uninstall running at this moment. Please try again later.")
	}
	op := &asyncOperation{id: newID(), importJobKey: newID(), stateCode: 0, statusCode: 0}
	env.asyncOps[op.id] = op
	job := &importJob{id: op.importJobKey, solutionName: manifest.UniqueName, createdOn: time.Now().UTC()}
	env.importJobs[job.id] = job
	// The job is picked up at once and runs for the import duration.
	op.stateCode, op.statusCode = 2, 20
	time.AfterFunc(env.importDuration, func() { env.completeImport(op, job, manifest) })
	writeJSON(c.w, http.StatusOK, map[string]any{
		"@odata.context":   c.base + "$metadata#Microsoft.Dynamics.CRM.ImportSolutionAsyncResponse",
		"AsyncOperationId": op.id, "ImportJobKey": op.importJobKey,
	})
	return nil
}

// progressLocked is an import's percentage done, as importjob.progress reports it: the
// share of the import duration elapsed, 100 once completed. A held import stays short
// of 100.
func (e *Environment) progressLocked(j *importJob) float64 {
	switch {
	case !j.completedOn.IsZero():
		return 100
	case j.abandoned || e.importDuration <= 0:
		return 0
	}
	return min(99, math.Floor(float64(time.Since(j.createdOn))/float64(e.importDuration)*100))
}

// importRunningLocked reports whether an import job has not completed: Dataverse runs
// one solution operation at a time.
func (e *Environment) importRunningLocked() bool {
	for _, j := range e.importJobs {
		if j.completedOn.IsZero() && !j.abandoned {
			return true
		}
	}
	return false
}

// completeImport finishes an import the way Dataverse would judge it.
func (e *Environment) completeImport(op *asyncOperation, job *importJob, m solution.Manifest) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.holdImports {
		e.heldImports = append(e.heldImports, func() { e.completeImport(op, job, m) })
		return
	}
	op.completedOn = time.Now().UTC()
	job.completedOn = op.completedOn
	op.stateCode = 3
	switch r := e.jobRetention; {
	case r == nil:
	case *r == 0:
		// Gone in the same instant it completes: no reader sees the finished job.
		delete(e.asyncOps, op.id)
	default:
		time.AfterFunc(*r, func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			delete(e.asyncOps, op.id)
		})
	}
	fail := func(msg string) {
		op.statusCode = 31
		op.message = msg
		op.errors = []string{msg}
	}
	if e.failImports != "" {
		fail(e.failImports)
		return
	}
	var missing []string
	for _, d := range m.Dependencies {
		installed, ok := e.solutions[strings.ToLower(d.SolutionUniqueName)]
		if !ok || (d.Version != "" && olderThan(installed.Version, d.Version)) {
			missing = append(missing, strings.TrimSpace(d.SolutionUniqueName+" "+d.Version))
		}
	}
	if len(missing) > 0 {
		fail(fmt.Sprintf("The import of solution: %s failed. Dependencies are missing: %s. Import the solutions these components depend on first.",
			m.UniqueName, strings.Join(missing, ", ")))
		return
	}
	if installed, ok := e.solutions[strings.ToLower(m.UniqueName)]; ok && olderThan(m.Version.String(), installed.Version) {
		fail(fmt.Sprintf("The solution %s is already installed at version %s, which is higher than the version %s being imported.",
			m.UniqueName, installed.Version, m.Version))
		return
	}
	if err := e.install(m.UniqueName, m.FriendlyName, m.Version.String(), m.Managed); err != nil {
		fail(err.Error())
		return
	}
	op.statusCode = 30
}

func olderThan(a, b string) bool {
	va, errA := solution.ParseVersion(a)
	vb, errB := solution.ParseVersion(b)
	return errA == nil && errB == nil && va.Compare(vb) < 0
}

func (c *call) getAsyncOperation(id string) *apiError {
	op, ok := c.env.asyncOps[id]
	if !ok {
		return errf(http.StatusNotFound, codeNotFound, "asyncoperation With Id = %s Does Not Exist", id)
	}
	var completed any
	if !op.completedOn.IsZero() {
		completed = op.completedOn.Format(time.RFC3339)
	}
	writeJSON(c.w, http.StatusOK, map[string]any{
		"asyncoperationid": op.id, "statecode": op.stateCode, "statuscode": op.statusCode,
		"message": op.message, "friendlymessage": op.message, "completedon": completed,
	})
	return nil
}

// getImportResult answers RetrieveSolutionImportResult(ImportJobId=<key>).
func (c *call) getImportResult(path string) *apiError {
	_, arg, _ := strings.Cut(path, "ImportJobId=")
	key := strings.ToLower(strings.Trim(strings.TrimSuffix(arg, ")"), "'"))
	for _, op := range c.env.asyncOps {
		if op.importJobKey != key {
			continue
		}
		status := "Passed"
		if op.statusCode == 31 {
			status = "Failed"
		}
		writeJSON(c.w, http.StatusOK, map[string]any{"SolutionOperationResult": map[string]any{
			"Status": status, "ErrorMessages": append([]string{}, op.errors...), "WarningMessages": []string{},
		}})
		return nil
	}
	return errf(http.StatusNotFound, codeNotFound, "importjob With Id = %s Does Not Exist", key)
}

// importJobRows lists the importjob records.
func (c *call) importJobRows() []row {
	rows := []row{}
	for _, j := range c.env.importJobs {
		var completed any
		if !j.completedOn.IsZero() {
			completed = j.completedOn.Format(time.RFC3339)
		}
		rows = append(rows, row{"importjobid": j.id, "solutionname": j.solutionName,
			"createdon": j.createdOn.Format(time.RFC3339), "completedon": completed, "progress": c.env.progressLocked(j)})
	}
	return rows
}
