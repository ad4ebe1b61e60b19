package controllers

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/solution"
)

// FuzzReadImportRecord checks the import-job annotation, which anyone who may edit the
// object may write: a record read from it holds what validate promises (GUIDs, a
// solution name and version, a failure reason, a message fit for status), and what the
// operator writes back from it (setImportRecord marshals the record) it reads again as
// the same record, so a record never turns into one the operator ignores as not its own.
func FuzzReadImportRecord(f *testing.F) {
	const id = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
	for _, seed := range []string{
		`{"asyncOperationID":"` + id + `","importJobKey":"` + id + `","uniqueName":"MicrosoftDynamicsNavIntegration","version":"25.0.2.0","startedAt":"2026-01-02T03:04:05Z"}`,
		`{"asyncOperationID":"` + id + `","uniqueName":"MicrosoftDynamicsNavIntegration","version":"25.0.2.0","startedAt":"2026-01-02T03:04:05Z","failed":true,` +
			`"reason":"ImportFailed","message":"importing MicrosoftDynamicsNavIntegration 25.0.2.0 failed: <html>Bad & sad</html>","requestedAt":"2026-01-02T10:00:00Z"}`,
		`{"asyncOperationID":"` + strings.ToUpper(id) + `","uniqueName":"x","version":"1.0","startedAt":"2026-01-02T03:04:05.123+02:00","failed":true,"reason":"MissingDependencies","message":"a\u0000b\r\nc"}`,
		`{"asyncOperationID":"` + id + `","uniqueName":"x","version":"1.0","startedAt":null}`,
		`{"asyncOperationID":"` + id + `","uniqueName":"x","version":"latest"}`,
		`{"asyncOperationID":"` + id + `","uniqueName":"x","version":"1.0","failed":true,"reason":"Ready"}`,
		`{}`, `null`, `[]`, `{"asyncOperationID":1}`, "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		rec, err := readImportRecord(objWithImportJob(raw))
		if err != nil || rec == nil {
			return
		}
		switch {
		case !guidPattern.MatchString(rec.AsyncOperationID), rec.ImportJobKey != "" && !guidPattern.MatchString(rec.ImportJobKey):
			t.Fatalf("%q: ids %q, %q are not GUIDs", raw, rec.AsyncOperationID, rec.ImportJobKey)
		case rec.UniqueName == "" || len(rec.UniqueName) > maxNameLength:
			t.Fatalf("%q: solution name %q", raw, rec.UniqueName)
		case rec.Failed && rec.Reason != string(salesv1alpha1.ReasonImportFailed) && rec.Reason != string(salesv1alpha1.ReasonMissingDependencies):
			t.Fatalf("%q: a failure with reason %q", raw, rec.Reason)
		case !utf8.ValidString(rec.Message) || strings.ContainsFunc(rec.Message, unicode.IsControl):
			t.Fatalf("%q: message %q is not fit for status", raw, rec.Message)
		case utf8.RuneCountInString(rec.Message) > 2*maxMessageLength+len("..."):
			t.Fatalf("%q: message of %d characters", raw, utf8.RuneCountInString(rec.Message))
		}
		if _, err := solution.ParseVersion(rec.Version); err != nil {
			t.Fatalf("%q: version %q: %v", raw, rec.Version, err)
		}
		written, err := json.Marshal(rec)
		if err != nil {
			t.Fatalf("%q: the record does not marshal: %v", raw, err)
		}
		if len(written) > apivalidation.TotalAnnotationSizeLimitB {
			return // the API server refuses to store it: setImportRecord fails, nothing is lost
		}
		back, err := readImportRecord(objWithImportJob(string(written)))
		if err != nil || back == nil {
			t.Fatalf("the operator does not read back the record it writes, %s: %v", written, err)
		}
		again, err := json.Marshal(back)
		if err != nil || string(again) != string(written) {
			t.Fatalf("the record changes when read back:\n%s\n%s", written, again)
		}
	})
}

func objWithImportJob(raw string) *salesv1alpha1.SalesConnection {
	return &salesv1alpha1.SalesConnection{ObjectMeta: metav1.ObjectMeta{
		Annotations: map[string]string{salesv1alpha1.AnnotationImportJob: raw},
	}}
}
