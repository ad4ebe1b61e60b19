package leaksweep_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/bcconnect/salesconnection-operator/internal/leaksweep"
)

// TestTheSweepFindsSecrets: the sweep is not blind to the forms a leak takes.
func TestTheSweepFindsSecrets(t *testing.T) {
	places := map[string][]byte{
		"a log":   []byte(`level=error msg="sign-in failed" secret=s3cret-value-1`),
		"a event": []byte(`{"note":"` + base64.StdEncoding.EncodeToString([]byte("s3cret-value-2")) + `"}`),
		"clean":   []byte(`nothing here`),
	}
	found := leaksweep.Find([]string{"s3cret-value-1", "s3cret-value-2", "never-written"}, places)
	want := []string{"registered secret #1 in a log", "registered secret #2 (base64) in a event"}
	if strings.Join(found, "|") != strings.Join(want, "|") {
		t.Errorf("found %q, want %q", found, want)
	}
}
