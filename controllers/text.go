package controllers

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds of the strings from outside (a server, a package) that reach status. A status
// larger than etcd's object limit would fail to write forever.
const (
	maxNameLength    = 256 // names of users, roles, solutions, companies
	maxVersionLength = 64
	maxMessageLength = 300 // a server's message inside a condition message
)

// boundedText makes a string from outside fit for status and events: invalid UTF-8 and
// control characters are dropped, and it is cut to at most limit characters (not bytes, so
// a character is never cut in half), marked with "..." when cut.
func boundedText(s string, limit int) string {
	var b strings.Builder
	n := 0
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			continue
		}
		if unicode.IsControl(r) {
			if r == '\n' || r == '\t' || r == '\r' {
				r = ' '
			} else {
				continue
			}
		}
		if n == limit {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
