package dataverse

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// FuzzODataTime checks Edm.DateTimeOffset values as they come in a JSON answer: reading
// one never fails the answer, a value is in UTC, it is the instant the text names (as
// time.Parse reads it with the first layout that fits), and it survives being written
// in RFC 3339 and read again.
func FuzzODataTime(f *testing.F) {
	for _, seed := range []string{
		"2026-01-02T03:04:05Z", "2026-01-02T03:04:05.1234567Z", "2026-01-02T03:04:05+05:30",
		"2026-01-02T03:04:05", "2026-01-02", "", "null", "0001-01-01T00:00:00Z",
		"0000-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "2026-13-01", "\"\"",
		"2026-01-02T03:04:05.999999999999Z", "/Date(1700000000000)/",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Any bytes straight to UnmarshalJSON: an unreadable date is the zero time.
		var raw odataTime
		if err := raw.UnmarshalJSON([]byte(s)); err != nil {
			t.Fatalf("UnmarshalJSON(%q): %v", s, err)
		}
		// The text as a JSON string inside an answer.
		quoted, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		var answer struct {
			CreatedOn odataTime `json:"createdon"`
		}
		if err := json.Unmarshal([]byte(`{"createdon":`+string(quoted)+`}`), &answer); err != nil {
			t.Fatalf("an answer with createdon %s fails: %v", quoted, err)
		}
		got := answer.CreatedOn.Time
		want, ok := parseLayouts(s)
		switch {
		case !ok && !got.IsZero():
			t.Fatalf("%q is no date, read as %v", s, got)
		case ok && !got.Equal(want):
			t.Fatalf("%q read as %v, want %v", s, got, want)
		case got.IsZero():
			return
		case got.Location() != time.UTC:
			t.Fatalf("%q read as %v, not in UTC", s, got)
		}
		if y := got.Year(); y < 1 || y > 9999 {
			return // RFC 3339 has four-digit years only
		}
		var again odataTime
		if err := again.UnmarshalJSON([]byte(`"` + got.Format(time.RFC3339Nano) + `"`)); err != nil || !again.Equal(got) {
			t.Fatalf("%q read as %v, written and read again as %v, %v", s, got, again.Time, err)
		}
	})
}

// parseLayouts is the reading FuzzODataTime expects, written out: the Web API's
// layouts, first fit wins.
func parseLayouts(s string) (time.Time, bool) {
	if s == "" || s == "null" || strings.ContainsAny(s, `"\<>&`) || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' }) {
		return time.Time{}, false // empty, null, or written with JSON escapes: not a date
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			return v, true
		}
	}
	return time.Time{}, false
}

// FuzzNormalizeID checks the GUIDs that go unquoted into request paths and filters: an
// accepted id is a lower-case canonical GUID with the input's 32 hex digits in order,
// normalizing it again changes nothing, every GUID in any case with or without braces
// is accepted, and a refusal is an InvalidArgument error that does not repeat the input.
func FuzzNormalizeID(f *testing.F) {
	f.Add("00000000-0000-0000-0000-000000000000", []byte("0123456789abcdef"))
	f.Add("{6F9619FF-8B86-D011-B42D-00C04FC964FF}", []byte{0xff, 0, 1})
	f.Add(" 6f9619ff-8b86-d011-b42d-00c04fc964ff\n", []byte{})
	f.Add("6f9619ff8b86d011b42d00c04fc964ff", []byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	f.Add("6f9619ff-8b86-d011-b42d-00c04fc964ff) or (1 eq 1", []byte{})
	f.Fuzz(func(t *testing.T, id string, b []byte) {
		out, err := normalizeID("Op", "the id", id)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason != ReasonInvalidArgument {
				t.Fatalf("normalizeID(%q): %v is not an InvalidArgument Error", id, err)
			}
			if len(id) >= 8 && strings.Contains(err.Error(), id) {
				t.Fatalf("normalizeID(%q): the error repeats the input: %v", id, err)
			}
		} else {
			if !guidRE.MatchString(out) {
				t.Fatalf("normalizeID(%q) = %q, not a lower-case GUID", id, out)
			}
			if hexDigits(strings.ToLower(id)) != hexDigits(out) {
				t.Fatalf("normalizeID(%q) = %q: not the input's digits", id, out)
			}
			if again, err := normalizeID("Op", "the id", out); err != nil || again != out {
				t.Fatalf("not idempotent: %q → %q → %q, %v", id, out, again, err)
			}
		}
		if len(b) < 16 {
			return
		}
		g := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
		for _, in := range []string{g, strings.ToUpper(g), "{" + g + "}", " {" + strings.ToUpper(g) + "} "} {
			if got, err := normalizeID("Op", "the id", in); err != nil || got != g {
				t.Fatalf("normalizeID(%q) = %q, %v; want %q", in, got, err, g)
			}
		}
	})
}

func hexDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') {
			return r
		}
		return -1
	}, s)
}

// FuzzIDFromEntityURL checks the id read from a created record's OData-EntityId header:
// a lower-case GUID that the header names in parentheses at its end, which normalizeID
// takes unchanged.
func FuzzIDFromEntityURL(f *testing.F) {
	for _, seed := range []string{
		"https://org.crm.dynamics.com/api/data/v9.2/nav_connections(6F9619FF-8B86-D011-B42D-00C04FC964FF)",
		"https://org/api/data/v9.2/x(6f9619ff-8b86-d011-b42d-00c04fc964ff) ",
		"https://org/api/data/v9.2/x(name='a')", "()", "(6f9619ff-8b86-d011-b42d-00c04fc964ff",
		"x((6f9619ff-8b86-d011-b42d-00c04fc964ff))",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		id, ok := idFromEntityURL(header)
		if !ok {
			if id != "" {
				t.Fatalf("idFromEntityURL(%q) = %q without ok", header, id)
			}
			return
		}
		if !guidRE.MatchString(id) {
			t.Fatalf("idFromEntityURL(%q) = %q, not a lower-case GUID", header, id)
		}
		if !strings.HasSuffix(strings.TrimRight(strings.ToLower(header), " \t\r\n\f\v"), "("+id+")") {
			t.Fatalf("idFromEntityURL(%q) = %q, which the header does not end with", header, id)
		}
		if n, err := normalizeID("Op", "the id", id); err != nil || n != id {
			t.Fatalf("normalizeID(%q) = %q, %v", id, n, err)
		}
	})
}
