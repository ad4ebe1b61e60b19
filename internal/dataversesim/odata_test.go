package dataversesim

import (
	"strings"
	"testing"
)

func TestParseFilter(t *testing.T) {
	props := propertySet("internalemailaddress", "isdisabled", "statecode", "_businessunitid_value", "name")
	row := row{"internalemailaddress": "O'Brien@Contoso.com", "isdisabled": false, "statecode": 1,
		"_businessunitid_value": "0e6e7b2a-1b2c-4d5e-8f90-123456789abc", "name": "Integration User"}
	cases := []struct {
		expr  string
		match bool
	}{
		{"internalemailaddress eq 'o''brien@contoso.com'", true},
		{"isdisabled eq false and (internalemailaddress eq 'a@x.com' or internalemailaddress eq 'o''brien@contoso.com')", true},
		{"isdisabled eq true and internalemailaddress eq 'o''brien@contoso.com'", false},
		{"statecode eq 1", true},
		{"statecode eq 0 or name eq 'Integration User'", true},
		{"_businessunitid_value eq 0E6E7B2A-1B2C-4D5E-8F90-123456789ABC and name eq 'integration user'", true},
	}
	for _, tc := range cases {
		f, err := parseFilter(tc.expr, props, "systemuser")
		if err != nil {
			t.Fatalf("parseFilter(%q): %v", tc.expr, err)
		}
		if got := f.match(row); got != tc.match {
			t.Errorf("%q matched %v, want %v", tc.expr, got, tc.match)
		}
	}
}

func TestParseFilterRefusesWhatDataverseRefuses(t *testing.T) {
	props := propertySet("name")
	for expr, want := range map[string]string{
		"":                      "empty",
		"nosuch eq 'x'":         "Could not find a property named 'nosuch'",
		"name ne 'x'":           "not supported",
		"name eq 'x":            "unterminated",
		"(name eq 'x'":          "')' expected",
		"name eq 'x' and":       "Could not find a property named ''",
		"name eq x":             "not a valid literal",
		"name eq 'x' name":      "syntax error",
		"name eq 'x' or (name)": "not supported",
	} {
		_, err := parseFilter(expr, props, "role")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseFilter(%q) = %v, want an error containing %q", expr, err, want)
		}
	}
}

func TestCheckSelect(t *testing.T) {
	props := propertySet("roleid", "name")
	if err := checkSelect("roleid,name", props, "role"); err != nil {
		t.Error(err)
	}
	if err := checkSelect("roleid,roletemplateid", props, "role"); err == nil || !strings.Contains(err.Error(), "roletemplateid") {
		t.Errorf("checkSelect accepted an unknown property: %v", err)
	}
}

// FuzzParseFilter checks that no $filter makes the simulator panic.
func FuzzParseFilter(f *testing.F) {
	for _, seed := range []string{"name eq 'x'", "(a eq 1 or b eq 'it''s') and c eq null", "((((", "'", "name eq '", ") and (", "x eq 0e6e7b2a-1b2c-4d5e-8f90-123456789abc"} {
		f.Add(seed)
	}
	props := propertySet("name", "a", "b", "c", "x")
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := parseFilter(expr, props, "role")
		if err == nil {
			_ = flt.match(row{"name": "x", "a": 1})
		}
	})
}
