package controllers

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzBoundedText checks the text from outside that goes into status and events: valid
// UTF-8, no control characters, at most limit characters and then "...", bounding it
// again changes nothing, and text that is already fit is kept as it is.
func FuzzBoundedText(f *testing.F) {
	for _, seed := range []struct {
		s     string
		limit uint16
	}{
		{"Does Not Exist", 300}, {"line1\r\nline2\u0007", 300}, {"bad \xff\xfe bytes", 300},
		{"ééé", 2}, {"\uFFFD literally", 4}, {"", 0}, {"x", 0}, {"ab...", 2}, {"\u0085\u2028", 5},
	} {
		f.Add(seed.s, seed.limit)
	}
	f.Fuzz(func(t *testing.T, s string, limit16 uint16) {
		limit := int(limit16 % 1024)
		out := boundedText(s, limit)
		if !utf8.ValidString(out) {
			t.Fatalf("boundedText(%q, %d) = %q: invalid UTF-8", s, limit, out)
		}
		if strings.ContainsFunc(out, unicode.IsControl) {
			t.Fatalf("boundedText(%q, %d) = %q keeps a control character", s, limit, out)
		}
		n := utf8.RuneCountInString(out)
		if n > limit+len("...") || (n > limit && !strings.HasSuffix(out, "...")) {
			t.Fatalf("boundedText(%q, %d) = %q: %d characters", s, limit, out, n)
		}
		if again := boundedText(out, limit); again != out {
			t.Fatalf("not idempotent: boundedText(%q, %d) = %q, then %q", s, limit, out, again)
		}
		if utf8.ValidString(s) && utf8.RuneCountInString(s) <= limit && !strings.ContainsFunc(s, unicode.IsControl) && out != s {
			t.Fatalf("boundedText(%q, %d) = %q changed fit text", s, limit, out)
		}
	})
}
