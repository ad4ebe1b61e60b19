package dataverse

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Patterns that look like credentials whatever their source: a library or a server may
// echo a request form or a token in its error text.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+`),
	regexp.MustCompile(`(?i)\b(client_secret|client_assertion|password|access_token|refresh_token|id_token|assertion)=[^&\s"']*`),
	regexp.MustCompile(`(?i)"(client_secret|client_assertion|password|access_token|refresh_token|id_token)"\s*:\s*"[^"]*"`),
	// JSON Web Tokens (access tokens, assertions): three base64url parts.
	regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`),
	regexp.MustCompile(`-----BEGIN [A-Z ]+-----[^-]*-----END [A-Z ]+-----`),
}

const redacted = "[REDACTED]"

// minAnywhere is the length from which a secret is hidden wherever it appears. A shorter
// one (a password "a" or "42") is hidden only where it stands as a whole token, between
// non-alphanumeric characters: hiding every "a" would make the message unreadable and,
// through the pattern of the replacements, show the value anyway. A short value inside a
// word stays visible, but then nothing tells a reader that it is the secret.
const minAnywhere = 4

// redactor removes known secret values and credential-shaped text from messages.
type redactor struct {
	secrets []string // longest first, so a short secret cannot break up a longer one
}

// newRedactor remembers every non-empty credential value.
func newRedactor(values ...string) redactor {
	return redactor{}.with(values...)
}

func (r redactor) with(values ...string) redactor {
	out := redactor{secrets: append([]string(nil), r.secrets...)}
	for _, v := range values {
		if v != "" && !slices.Contains(out.secrets, v) {
			out.secrets = append(out.secrets, v)
		}
	}
	slices.SortStableFunc(out.secrets, func(a, b string) int { return len(b) - len(a) })
	return out
}

func (r redactor) apply(s string) string {
	for _, v := range r.secrets {
		if len(v) >= minAnywhere {
			s = strings.ReplaceAll(s, v, redacted)
		} else {
			s = replaceWholeToken(s, v)
		}
	}
	for _, re := range secretPatterns {
		s = re.ReplaceAllStringFunc(s, func(m string) string {
			if i := strings.IndexAny(m, "=:"); i >= 0 && !strings.HasPrefix(m, "eyJ") && !strings.HasPrefix(m, "-----") && !strings.HasPrefix(strings.ToLower(m), "bearer") {
				return m[:i+1] + redacted
			}
			return redacted
		})
	}
	return s
}

// replaceWholeToken hides v where neither neighbor is a letter or a digit.
func replaceWholeToken(s, v string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, v)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(v)
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[end:])
		if isWordRune(before) || isWordRune(after) {
			b.WriteString(s[:end])
		} else {
			b.WriteString(s[:i])
			b.WriteString(redacted)
		}
		s = s[end:]
	}
}

// isWordRune is false at the ends of the string (utf8.RuneError).
func isWordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}
