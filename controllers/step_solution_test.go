package controllers

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
)

const opID = "40000000-0000-0000-0000-000000000001"

// packageConfigMap holds the integration solution at version under the key the spec
// names.
func packageConfigMap(t *testing.T, version string) *corev1.ConfigMap {
	t.Helper()
	pkg, err := solution.Build(solution.Package{UniqueName: integrationSolutionName, Version: version, Managed: true})
	if err != nil {
		t.Fatal(err)
	}
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "erp", Name: "solution"},
		BinaryData: map[string][]byte{"solution.zip": pkg}}
}

// withRecord puts an import-job annotation on the object.
func (w *stepWorld) withRecord(rec importRecord) {
	raw, err := json.Marshal(rec)
	if err != nil {
		w.t.Fatal(err)
	}
	w.s.obj.Annotations = map[string]string{salesv1alpha1.AnnotationImportJob: string(raw)}
}

func (w *stepWorld) record() *importRecord {
	w.t.Helper()
	rec, err := readImportRecord(w.s.obj)
	if err != nil {
		w.t.Fatal(err)
	}
	return rec
}

func TestSolutionStepDecisions(t *testing.T) {
	running := importRecord{AsyncOperationID: opID, ImportJobKey: opID, UniqueName: integrationSolutionName, Version: "25.0.2.0"}
	cases := []struct {
		name  string
		setup func(w *stepWorld)
		// wantEnd is how the step ends: "" done, else the wait or failure reason.
		wantEnd        salesv1alpha1.Reason
		wantCondition  salesv1alpha1.Reason // "" when the condition must be absent
		wantWrites     []string
		wantRecord     bool
		wantInstalled  bool
		wantMessageHas string
	}{
		{name: "installed at the package's version", setup: func(w *stepWorld) {
			w.dv.solutions[integrationSolutionName].Version = "25.0.2.0"
		}, wantCondition: salesv1alpha1.ReasonImported, wantInstalled: true},
		{name: "older: imported, recorded, polled", setup: func(w *stepWorld) {
			w.dv.importStarted = dataverse.ImportHandle{AsyncOperationID: opID, ImportJobKey: opID}
		}, wantEnd: salesv1alpha1.ReasonImportInProgress, wantCondition: salesv1alpha1.ReasonImportInProgress,
			wantWrites: []string{"ImportSolutionAsync"}, wantRecord: true, wantInstalled: true, wantMessageHas: "importing MicrosoftDynamicsNavIntegration 25.0.2.0"},
		{name: "someone else's import runs: waited for, not repeated", setup: func(w *stepWorld) {
			w.dv.runningJobs = []dataverse.ImportJob{{ID: "j", SolutionName: "Other", CreatedOn: time.Now().Add(-time.Minute)}}
		}, wantEnd: salesv1alpha1.ReasonImportInProgress, wantCondition: salesv1alpha1.ReasonImportInProgress,
			wantInstalled: true, wantMessageHas: "not recorded on this object"},
		{name: "an import job hours old is abandoned: imported", setup: func(w *stepWorld) {
			w.dv.runningJobs = []dataverse.ImportJob{{ID: "j", SolutionName: "Other", CreatedOn: time.Now().Add(-3 * time.Hour)}}
			w.dv.importStarted = dataverse.ImportHandle{AsyncOperationID: opID, ImportJobKey: opID}
		}, wantEnd: salesv1alpha1.ReasonImportInProgress, wantCondition: salesv1alpha1.ReasonImportInProgress,
			wantWrites: []string{"ImportSolutionAsync"}, wantRecord: true, wantInstalled: true},
		{name: "Dataverse refuses a second import: waited for", setup: func(w *stepWorld) {
			w.dv.errs = map[string]error{"ImportSolutionAsync": &dataverse.Error{Reason: dataverse.ReasonImportInProgress, Kind: dataverse.Transient}}
		}, wantEnd: salesv1alpha1.ReasonImportInProgress, wantCondition: salesv1alpha1.ReasonImportInProgress, wantInstalled: true},
		{name: "the recorded import still runs", setup: func(w *stepWorld) {
			w.withRecord(running)
			w.dv.asyncOps[opID] = dataverse.AsyncOperation{ID: opID, StateCode: dataverse.AsyncStateLocked, StatusCode: dataverse.AsyncStatusInProgress}
		}, wantEnd: salesv1alpha1.ReasonImportInProgress, wantCondition: salesv1alpha1.ReasonImportInProgress, wantRecord: true},
		{name: "the recorded import succeeded", setup: func(w *stepWorld) {
			w.withRecord(running)
			w.dv.asyncOps[opID] = dataverse.AsyncOperation{ID: opID, StateCode: dataverse.AsyncStateCompleted, StatusCode: dataverse.AsyncStatusSucceeded}
			w.dv.solutions[integrationSolutionName].Version = "25.0.2.0"
		}, wantCondition: salesv1alpha1.ReasonImported, wantInstalled: true},
		{name: "the recorded import failed on a dependency", setup: func(w *stepWorld) {
			w.withRecord(running)
			w.dv.asyncOps[opID] = dataverse.AsyncOperation{ID: opID, StateCode: dataverse.AsyncStateCompleted, StatusCode: dataverse.AsyncStatusFailed}
			w.dv.importResult = dataverse.ImportResult{ErrorMessages: []string{"missing dependency bcbi_CdsBaseIntegration"}}
		}, wantEnd: salesv1alpha1.ReasonMissingDependencies, wantCondition: salesv1alpha1.ReasonMissingDependencies,
			wantRecord: true, wantInstalled: true, wantMessageHas: "bcbi_CdsBaseIntegration"},
		{name: "the recorded import was refused beside another: imported again", setup: func(w *stepWorld) {
			w.withRecord(running)
			w.dv.asyncOps[opID] = dataverse.AsyncOperation{ID: opID, StateCode: dataverse.AsyncStateCompleted, StatusCode: dataverse.AsyncStatusFailed,
				Message: "Cannot start another solution import while one is running"}
		}, wantEnd: salesv1alpha1.ReasonImportInProgress, wantCondition: salesv1alpha1.ReasonImportInProgress, wantMessageHas: "importing it again"},
		{name: "the recorded job is gone and nothing installed: imported again", setup: func(w *stepWorld) {
			w.withRecord(running)
			delete(w.dv.solutions, integrationSolutionName)
		}, wantEnd: salesv1alpha1.ReasonImportInProgress, wantCondition: salesv1alpha1.ReasonImportInProgress, wantMessageHas: "left no record"},
		{name: "a failure recorded for this package is not retried unasked", setup: func(w *stepWorld) {
			failedBefore := running
			failedBefore.Failed, failedBefore.Reason, failedBefore.Message = true, "ImportFailed", "importing failed: broken"
			w.withRecord(failedBefore)
		}, wantEnd: salesv1alpha1.ReasonImportFailed, wantCondition: salesv1alpha1.ReasonImportFailed, wantRecord: true, wantInstalled: true},
		{name: "a recorded failure is retried when a person asks", setup: func(w *stepWorld) {
			failedBefore := running
			failedBefore.Failed, failedBefore.Reason, failedBefore.Message = true, "ImportFailed", "importing failed: broken"
			w.withRecord(failedBefore)
			w.s.obj.Annotations[salesv1alpha1.AnnotationRequestedAt] = "retry"
			w.dv.importStarted = dataverse.ImportHandle{AsyncOperationID: opID, ImportJobKey: opID}
		}, wantEnd: salesv1alpha1.ReasonImportInProgress, wantCondition: salesv1alpha1.ReasonImportInProgress,
			wantWrites: []string{"ImportSolutionAsync"}, wantRecord: true, wantInstalled: true},
		{name: "no import asked: only read", setup: func(w *stepWorld) {
			w.s.obj.Spec.IntegrationSolution = nil
		}, wantInstalled: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The package is newer than what is installed, unless setup says otherwise.
			w := newStepWorld(t, packageConfigMap(t, "25.0.2.0"))
			if tc.setup != nil {
				tc.setup(w)
			}
			res := w.run(stepNamed("solution"))
			setSummary(w.s.obj, res)

			end, _ := res.summary()
			if res.isDone() {
				end = ""
			}
			if end != tc.wantEnd {
				t.Errorf("step ended with %q, want %q (%+v)", end, tc.wantEnd, res.failure)
			}
			c := w.condition(salesv1alpha1.ConditionSolutionImported)
			switch {
			case tc.wantCondition == "" && c != nil:
				t.Errorf("SolutionImported = %+v, want absent", c)
			case tc.wantCondition != "" && (c == nil || c.Reason != string(tc.wantCondition)):
				t.Errorf("SolutionImported = %+v, want reason %s", c, tc.wantCondition)
			case tc.wantMessageHas != "" && !strings.Contains(c.Message, tc.wantMessageHas):
				t.Errorf("message %q lacks %q", c.Message, tc.wantMessageHas)
			}
			if strings.Join(w.dv.writes, ",") != strings.Join(tc.wantWrites, ",") {
				t.Errorf("writes = %v, want %v", w.dv.writes, tc.wantWrites)
			}
			if got := w.record() != nil; got != tc.wantRecord {
				t.Errorf("import recorded = %v, want %v", got, tc.wantRecord)
			}
			if w.s.solutionInstalled != tc.wantInstalled {
				t.Errorf("solutionInstalled = %v, want %v", w.s.solutionInstalled, tc.wantInstalled)
			}
		})
	}
}

func TestImportIsAnnouncedAndRecordedBeforeItIsPolled(t *testing.T) {
	w := newStepWorld(t, packageConfigMap(t, "25.0.2.0"))
	w.dv.importStarted = dataverse.ImportHandle{AsyncOperationID: opID, ImportJobKey: opID}
	res := w.run(stepNamed("solution"))
	if res.wait == nil || res.wait.after != w.r.MinImportPoll {
		t.Fatalf("result %+v: want a wait of the shortest import poll interval (no import watch here)", res)
	}
	rec := w.record()
	if rec == nil || rec.AsyncOperationID != opID || rec.Version != "25.0.2.0" || w.kube.patches != 1 {
		t.Errorf("record %+v after %d patches", rec, w.kube.patches)
	}
	if job := w.s.obj.Status.Solution.ImportJob; job == nil || job.AsyncOperationID != opID {
		t.Errorf("status.solution.importJob = %+v", job)
	}
	if ev := strings.Join(w.emitted(), "\n"); !strings.Contains(ev, "SolutionImportStarted") {
		t.Errorf("events %q lack SolutionImportStarted", ev)
	}
}

func TestSolutionFoundInstalledBeforeImportingIsNotImported(t *testing.T) {
	w := newStepWorld(t, packageConfigMap(t, "25.0.2.0"))
	// The installed version is read twice: once to plan, once after the running imports.
	// An import that finishes in between is seen and not repeated.
	reads := 0
	wrapped := &countingSolutions{fakeDataverse: w.dv, onGet: func() {
		reads++
		if reads == 2 {
			w.dv.solutions[integrationSolutionName].Version = "25.0.2.0"
		}
	}}
	w.s.admin = wrapped
	res := w.run(stepNamed("solution"))
	if !res.isDone() || len(w.dv.writes) != 0 {
		t.Fatalf("result %+v, writes %v: want the solution reported installed, no import", res.failure, w.dv.writes)
	}
	if c := w.condition(salesv1alpha1.ConditionSolutionImported); c == nil || c.Reason != string(salesv1alpha1.ReasonImported) || !strings.Contains(c.Message, "25.0.2.0") {
		t.Errorf("SolutionImported = %+v", c)
	}
}

// countingSolutions calls onGet before each GetSolution.
type countingSolutions struct {
	*fakeDataverse
	onGet func()
}

func (c *countingSolutions) GetSolution(ctx context.Context, name string) (*dataverse.Solution, error) {
	c.onGet()
	return c.fakeDataverse.GetSolution(ctx, name)
}

func TestPackageProblemsNameTheConfigMap(t *testing.T) {
	cases := []struct {
		name string
		cm   *corev1.ConfigMap
		want salesv1alpha1.Reason
		says string
	}{
		{"no ConfigMap", nil, salesv1alpha1.ReasonPackageNotFound, "ConfigMap erp/solution"},
		{"no key", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "erp", Name: "solution"}}, salesv1alpha1.ReasonPackageNotFound, `"solution.zip"`},
		{"not a zip", &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "erp", Name: "solution"},
			BinaryData: map[string][]byte{"solution.zip": []byte("not a zip")}}, salesv1alpha1.ReasonInvalidPackage, "not a usable solution package"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newStepWorld(t)
			if tc.cm != nil {
				w = newStepWorld(t, tc.cm)
			}
			res := w.run(stepNamed("solution"))
			f := res.failure
			if f == nil || f.reason != tc.want || !f.watched || !strings.Contains(f.message, tc.says) {
				t.Fatalf("failure %+v, want %s, watched, saying %q", f, tc.want, tc.says)
			}
			if len(w.dv.calls) != 0 {
				t.Errorf("Dataverse was asked %v before the package was usable", w.dv.calls)
			}
		})
	}
}
