package solution

import (
	"strings"
	"testing"
)

// FuzzParseVersion checks solution versions as packages and Dataverse write them: an
// accepted version has two to four parts of decimal digits only, its String form reads
// back as the same version, and parts compare as numbers (leading zeros do not count).
func FuzzParseVersion(f *testing.F) {
	for _, seed := range []string{
		"9.2", "25.0.2.0", "9.10.0.0", " 1.0.0.0 ", "1.2.3.4.5", "1", "", "1..2", "+1.2", "-1.2",
		"01.002", "9223372036854775807.0", "9223372036854775808.0", "1.2\n", "١.٢",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		parts := strings.Split(strings.TrimSpace(s), ".")
		if len(parts) < 2 || len(parts) > 4 {
			t.Fatalf("ParseVersion(%q) = %v: %d parts", s, v, len(parts))
		}
		for _, p := range parts {
			if p == "" || strings.Trim(p, "0123456789") != "" {
				t.Fatalf("ParseVersion(%q) = %v: part %q is not decimal digits", s, v, p)
			}
		}
		for i, n := range v {
			if n < 0 {
				t.Fatalf("ParseVersion(%q) = %v: part %d is negative", s, v, i)
			}
		}
		back, err := ParseVersion(v.String())
		if err != nil || back != v {
			t.Fatalf("ParseVersion(%q) = %v, whose String %q reads as %v, %v", s, v, v.String(), back, err)
		}
		if c := v.Compare(back); c != 0 {
			t.Fatalf("%v.Compare(itself) = %d", v, c)
		}
	})
}

// FuzzVersionCompare checks Compare against the order of the parts' digits (a longer
// number without leading zeros is larger, else the text decides), and that it is an
// order: antisymmetric and transitive.
func FuzzVersionCompare(f *testing.F) {
	f.Add("9.2", "9.10", "10.0")
	f.Add("25.0.2.0", "25.0.2", "25.0.10.0")
	f.Add("1.0", "01.00.0.000", "1.0.0.1")
	f.Add("9223372036854775807.0", "9223372036854775806.9", "0.0")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		va, errA := ParseVersion(a)
		vb, errB := ParseVersion(b)
		if errA != nil || errB != nil {
			return
		}
		ab, ba := va.Compare(vb), vb.Compare(va)
		if ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("Compare(%q, %q) = %d, Compare(%q, %q) = %d", a, b, ab, b, a, ba)
		}
		if want := compareText(a, b); ab != want {
			t.Fatalf("Compare(%q, %q) = %d, want %d", a, b, ab, want)
		}
		if (ab == 0) != (va.String() == vb.String()) {
			t.Fatalf("Compare(%q, %q) = %d, but the versions read %s and %s", a, b, ab, va, vb)
		}
		vc, err := ParseVersion(c)
		if err != nil {
			return
		}
		if bc := vb.Compare(vc); ab == bc && ab != 0 && va.Compare(vc) != ab {
			t.Fatalf("not transitive: %q, %q, %q", a, b, c)
		}
	})
}

// compareText compares two versions that ParseVersion accepts by their digits, without
// converting them to numbers.
func compareText(a, b string) int {
	pa, pb := textParts(a), textParts(b)
	for i := range pa {
		x, y := pa[i], pb[i]
		switch {
		case len(x) != len(y):
			if len(x) < len(y) {
				return -1
			}
			return 1
		case x != y:
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func textParts(s string) [4]string {
	var out [4]string
	parts := strings.Split(strings.TrimSpace(s), ".")
	for i := range out {
		p := "0"
		if i < len(parts) {
			p = strings.TrimLeft(strings.TrimLeft(parts[i], "+-"), "0")
			if p == "" {
				p = "0"
			}
		}
		out[i] = p
	}
	return out
}
