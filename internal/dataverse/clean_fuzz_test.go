package dataverse

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzClean checks the text that goes from a server's answer into errors, logs and
// conditions: at most limit bytes of valid UTF-8, no control characters, white space
// only as single spaces between words (none at either end), cleaning it again changes
// nothing, and text that is already clean and short enough is kept as it is.
func FuzzClean(f *testing.F) {
	for _, seed := range []struct {
		s     string
		limit uint16
	}{
		{"Does Not Exist", 512}, {"line1\r\nline2\u0007", 512}, {"bad \xff\xfe bytes", 512},
		{"ééé", 3}, {"  lead and trail  ", 64}, {"\u2028\u00a0\u0085x", 8},
		{"", 0}, {"x", 0}, {"\uFFFD", 2},
	} {
		f.Add(seed.s, seed.limit)
	}
	f.Fuzz(func(t *testing.T, s string, limit16 uint16) {
		limit := int(limit16 % 2048)
		out := clean(s, limit)
		if len(out) > limit {
			t.Fatalf("clean(%q, %d) = %q: %d bytes", s, limit, out, len(out))
		}
		if !utf8.ValidString(out) {
			t.Fatalf("clean(%q, %d) = %q: invalid UTF-8", s, limit, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || (unicode.IsSpace(r) && r != ' ') {
				t.Fatalf("clean(%q, %d) = %q keeps %U", s, limit, out, r)
			}
		}
		if strings.HasPrefix(out, " ") || strings.HasSuffix(out, " ") || strings.Contains(out, "  ") {
			t.Fatalf("clean(%q, %d) = %q: white space not folded", s, limit, out)
		}
		if again := clean(out, limit); again != out {
			t.Fatalf("not idempotent: clean(%q, %d) = %q, then %q", s, limit, out, again)
		}
		if len(s) <= limit && utf8.ValidString(s) && s == strings.Join(strings.Fields(s), " ") &&
			!strings.ContainsFunc(s, unicode.IsControl) && out != s {
			t.Fatalf("clean(%q, %d) = %q changed clean text", s, limit, out)
		}
	})
}
