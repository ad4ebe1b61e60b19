package dataverse

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// Solution is an installed solution.
type Solution struct {
	ID, UniqueName, FriendlyName, Version string
	IsManaged                             bool
	InstalledOn                           time.Time
}

// GetSolution returns the installed solution with that unique name, or nil, nil when it
// is not installed.
func (c *Client) GetSolution(ctx context.Context, uniqueName string) (*Solution, error) {
	const op = "GetSolution"
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: "solutions",
		query: query{}.add("$select", "solutionid,uniquename,friendlyname,version,ismanaged,installedon").
			add("$filter", "uniquename eq "+stringLiteral(uniqueName))})
	if err != nil {
		return nil, err
	}
	var page struct {
		Value []struct {
			ID           string    `json:"solutionid"`
			UniqueName   string    `json:"uniquename"`
			FriendlyName string    `json:"friendlyname"`
			Version      string    `json:"version"`
			IsManaged    bool      `json:"ismanaged"`
			InstalledOn  odataTime `json:"installedon"`
		} `json:"value"`
	}
	if err := decode(op, resp, &page); err != nil {
		return nil, err
	}
	for _, s := range page.Value {
		// Unique names compare case-insensitively in Dataverse, as the filter did.
		if strings.EqualFold(s.UniqueName, uniqueName) {
			return &Solution{ID: s.ID, UniqueName: s.UniqueName, FriendlyName: s.FriendlyName,
				Version: s.Version, IsManaged: s.IsManaged, InstalledOn: s.InstalledOn.Time}, nil
		}
	}
	return nil, nil
}

// ImportHandle identifies a running import: poll AsyncOperationID, read the result with
// ImportJobKey.
type ImportHandle struct {
	AsyncOperationID string
	ImportJobKey     string
}

// ImportSolutionAsync starts importing a solution package (a zip). It is never retried:
// a lost answer may still have started an import, and only one runs at a time, so the
// caller records the handle and decides after reading the environment. A second import
// while one runs fails with a transient ImportInProgress error.
func (c *Client) ImportSolutionAsync(ctx context.Context, pkg []byte) (ImportHandle, error) {
	const op = "ImportSolutionAsync"
	if len(pkg) == 0 {
		return ImportHandle{}, newError(op, ReasonInvalidArgument, 0, "", "the solution package is empty", nil)
	}
	// OverwriteUnmanagedCustomizations, PublishWorkflows and ComponentParameters are the
	// action's non-nullable parameters (Web API reference, ImportSolutionAsync Action);
	// the values are those of Microsoft's sample (Power Platform ALM, "Staging,
	// deployment, and async solution import").
	body := struct {
		CustomizationFile                []byte // base64 in JSON, as Edm.Binary wants
		OverwriteUnmanagedCustomizations bool
		PublishWorkflows                 bool
		ComponentParameters              []any
	}{CustomizationFile: pkg, OverwriteUnmanagedCustomizations: false, PublishWorkflows: true, ComponentParameters: []any{}}
	resp, err := c.do(ctx, &request{op: op, method: http.MethodPost, path: "ImportSolutionAsync", body: body, retry: retryNever})
	if err != nil {
		return ImportHandle{}, err
	}
	var h struct {
		AsyncOperationID string `json:"AsyncOperationId"`
		ImportJobKey     string `json:"ImportJobKey"`
	}
	if err := decode(op, resp, &h); err != nil {
		return ImportHandle{}, err
	}
	if h.AsyncOperationID == "" {
		return ImportHandle{}, newError(op, ReasonInvalidResponse, resp.status, "", "the answer has no AsyncOperationId", nil)
	}
	return ImportHandle{AsyncOperationID: strings.ToLower(h.AsyncOperationID), ImportJobKey: h.ImportJobKey}, nil
}

// System job states and statuses (asyncoperation statecode and statuscode).
const (
	AsyncStateReady     = 0
	AsyncStateSuspended = 1
	AsyncStateLocked    = 2
	AsyncStateCompleted = 3

	AsyncStatusWaitingForResources = 0
	AsyncStatusWaiting             = 10
	AsyncStatusInProgress          = 20
	AsyncStatusPausing             = 21
	AsyncStatusCanceling           = 22
	AsyncStatusSucceeded           = 30
	AsyncStatusFailed              = 31
	AsyncStatusCanceled            = 32
)

// AsyncOperation is a system job, such as a solution import.
type AsyncOperation struct {
	ID              string
	StateCode       int
	StatusCode      int
	Message         string
	FriendlyMessage string
	CompletedOn     time.Time
}

// Done reports a completed job, whatever its outcome.
func (a AsyncOperation) Done() bool { return a.StateCode == AsyncStateCompleted }

// Succeeded reports a job that completed successfully.
func (a AsyncOperation) Succeeded() bool {
	return a.Done() && a.StatusCode == AsyncStatusSucceeded
}

// GetAsyncOperation reads a system job. Dataverse deletes finished jobs after a while:
// then the error is NotFound.
func (c *Client) GetAsyncOperation(ctx context.Context, id string) (AsyncOperation, error) {
	const op = "GetAsyncOperation"
	id, err := normalizeID(op, "the async operation id", id)
	if err != nil {
		return AsyncOperation{}, err
	}
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: "asyncoperations(" + id + ")",
		query: query{}.add("$select", "asyncoperationid,statecode,statuscode,message,friendlymessage,completedon")})
	if err != nil {
		return AsyncOperation{}, err
	}
	var a struct {
		ID              string    `json:"asyncoperationid"`
		StateCode       int       `json:"statecode"`
		StatusCode      int       `json:"statuscode"`
		Message         string    `json:"message"`
		FriendlyMessage string    `json:"friendlymessage"`
		CompletedOn     odataTime `json:"completedon"`
	}
	if err := decode(op, resp, &a); err != nil {
		return AsyncOperation{}, err
	}
	return AsyncOperation{ID: a.ID, StateCode: a.StateCode, StatusCode: a.StatusCode, Message: a.Message,
		FriendlyMessage: a.FriendlyMessage, CompletedOn: a.CompletedOn.Time}, nil
}

// ImportJob is an importjob record: one solution import, whoever started it.
type ImportJob struct {
	ID, SolutionName string
	CreatedOn        time.Time
	// Progress is the import's percentage done (importjob.progress, Edm.Double, "Import
	// Progress Percentage" in the Web API reference of importjob, Dynamics 365 8.x and
	// Dataverse alike).
	Progress float64
}

// RunningImports lists the import jobs that have not completed. Dataverse runs one
// solution import at a time, so a running one, anyone's, means a new import is refused.
func (c *Client) RunningImports(ctx context.Context) ([]ImportJob, error) {
	const op = "ListImportJobs"
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: "importjobs",
		query: query{}.add("$select", "importjobid,solutionname,createdon,progress").add("$filter", "completedon eq null")})
	if err != nil {
		return nil, err
	}
	var page struct {
		Value []struct {
			ID           string    `json:"importjobid"`
			SolutionName string    `json:"solutionname"`
			CreatedOn    odataTime `json:"createdon"`
			Progress     *float64  `json:"progress"`
		} `json:"value"`
	}
	if err := decode(op, resp, &page); err != nil {
		return nil, err
	}
	jobs := make([]ImportJob, 0, len(page.Value))
	for _, j := range page.Value {
		job := ImportJob{ID: j.ID, SolutionName: j.SolutionName, CreatedOn: j.CreatedOn.Time}
		if j.Progress != nil {
			job.Progress = *j.Progress
		}
		jobs = append(jobs, job)
	}
	return jobs, nil
}

// ImportResult is the outcome of a finished import.
type ImportResult struct {
	Succeeded bool
	// Status is "Passed" on success.
	Status          string
	ErrorMessages   []string
	WarningMessages []string
}

// GetImportResult reads the result of the import job with that key.
func (c *Client) GetImportResult(ctx context.Context, importJobKey string) (ImportResult, error) {
	const op = "GetImportResult"
	key, err := normalizeID(op, "the import job key", importJobKey)
	if err != nil {
		return ImportResult{}, err
	}
	resp, err := c.do(ctx, &request{op: op, method: http.MethodGet, path: "RetrieveSolutionImportResult(ImportJobId=" + key + ")"})
	if err != nil {
		return ImportResult{}, err
	}
	var r struct {
		Result struct {
			Status          string   `json:"Status"`
			ErrorMessages   []string `json:"ErrorMessages"`
			WarningMessages []string `json:"WarningMessages"`
		} `json:"SolutionOperationResult"`
	}
	if err := decode(op, resp, &r); err != nil {
		return ImportResult{}, err
	}
	return ImportResult{
		Succeeded:       strings.EqualFold(r.Result.Status, "Passed"),
		Status:          r.Result.Status,
		ErrorMessages:   r.Result.ErrorMessages,
		WarningMessages: r.Result.WarningMessages,
	}, nil
}

// odataTime reads Edm.DateTimeOffset values; null or "" is the zero time.
type odataTime struct{ time.Time }

func (t *odataTime) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	// An unreadable date is not worth failing a whole answer for.
	return nil
}
