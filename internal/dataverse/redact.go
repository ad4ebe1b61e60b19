package dataverse

import (
	"encoding/base64"
	"encoding/pem"
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
	// A PEM block, also one cut before its END line.
	regexp.MustCompile(`-----BEGIN [A-Z ]+-----(?s:.*?)(?:-----END [A-Z ]+-----|$)`),
}

const redacted = "[REDACTED]"

// minAnywhere is the length from which a secret is hidden wherever it appears. A shorter
// one (a password "a" or "42") is hidden only where it stands as a whole token, between
// non-alphanumeric characters: hiding every "a" would make the message unreadable and,
// through the pattern of the replacements, show the value anyway. A short value inside a
// word stays visible, but then nothing tells a reader that it is the secret.
const minAnywhere = 4

// redactor removes known secret values and credential-shaped text from messages. Redact
// first, then cut to length: a secret cut in half by truncation is no longer found, and
// its first half would show.
type redactor struct {
	secrets []string // longest first, so a short secret cannot break up a longer one
}

// Redact hides the values (and credential-shaped text) in s, by the same rules as the
// client's own errors: for text the client never saw, such as a recovered panic.
func Redact(s string, values ...string) string {
	return newRedactor(values...).apply(s)
}

// newRedactor remembers every non-empty credential value.
func newRedactor(values ...string) redactor {
	return redactor{}.with(values...)
}

func (r redactor) with(values ...string) redactor {
	out := redactor{secrets: append([]string(nil), r.secrets...)}
	add := func(v string) {
		if v != "" && !slices.Contains(out.secrets, v) {
			out.secrets = append(out.secrets, v)
		}
	}
	for _, v := range values {
		add(v)
		// A key may show up as the bare base64 of its PEM block, without the armour.
		for _, body := range pemBodies(v) {
			add(body)
		}
	}
	slices.SortStableFunc(out.secrets, func(a, b string) int { return len(b) - len(a) })
	return out
}

// pemBodies returns the base64 bodies of the PEM blocks in v.
func pemBodies(v string) []string {
	if !strings.Contains(v, "-----BEGIN ") {
		return nil
	}
	var out []string
	rest := []byte(v)
	for {
		block, next := pem.Decode(rest)
		if block == nil {
			return out
		}
		if len(block.Bytes) > 0 {
			out = append(out, base64.StdEncoding.EncodeToString(block.Bytes))
		}
		rest = next
	}
}

func (r redactor) apply(s string) string {
	s = r.hideSecrets(s)
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

// message redacts s, then makes it safe to show within maxMessageLen bytes.
func (r redactor) message(s string) string {
	return clean(r.apply(s), maxMessageLen)
}

// hideSecrets replaces every known value. Values of minAnywhere or more characters are
// found whatever white space stands in them or around their characters (a PEM key
// re-wrapped at another width or with CRLF line ends, a secret broken over two lines),
// and also when s ends with the start of one (text cut before it reached this
// redactor). Shorter values are hidden only as whole tokens.
func (r redactor) hideSecrets(s string) string {
	var short []string
	var spans [][2]int
	var text *strippedText
	for _, v := range r.secrets {
		sv := stripSpace(v)
		if len(sv) < minAnywhere {
			short = append(short, v)
			continue
		}
		if text == nil {
			text = newStrippedText(s)
		}
		spans = append(spans, text.find(sv)...)
	}
	if len(spans) > 0 {
		s = replaceSpans(s, spans)
	}
	for _, v := range short {
		s = replaceWholeToken(s, v)
	}
	return s
}

// strippedText is a text without its white space, with the offset in the original of
// each byte kept.
type strippedText struct {
	orig     string
	stripped string
	offsets  []int // offsets[i] is where stripped[i] is in orig
}

func newStrippedText(s string) *strippedText {
	t := &strippedText{orig: s, offsets: make([]int, 0, len(s))}
	var b strings.Builder
	for i, r := range s {
		if unicode.IsSpace(r) {
			continue
		}
		n := utf8.RuneLen(r)
		if r == utf8.RuneError {
			n = 1
		}
		for k := 0; k < n; k++ {
			t.offsets = append(t.offsets, i+k)
		}
		b.WriteString(s[i : i+n])
	}
	t.stripped = b.String()
	return t
}

// find returns the spans of orig that hold v (white space ignored), plus a trailing span
// that holds v's first minAnywhere or more bytes when the text ends there.
func (t *strippedText) find(v string) [][2]int {
	var spans [][2]int
	for from := 0; ; {
		i := strings.Index(t.stripped[from:], v)
		if i < 0 {
			break
		}
		start := from + i
		end := start + len(v)
		spans = append(spans, [2]int{t.offsets[start], t.offsets[end-1] + 1})
		from = end
	}
	for k := min(len(v)-1, len(t.stripped)); k >= minAnywhere; k-- {
		if strings.HasSuffix(t.stripped, v[:k]) {
			spans = append(spans, [2]int{t.offsets[len(t.stripped)-k], len(t.orig)})
			break
		}
	}
	return spans
}

// replaceSpans replaces each span (they may overlap) with the redaction marker.
func replaceSpans(s string, spans [][2]int) string {
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	var b strings.Builder
	pos := 0
	for _, sp := range spans {
		if sp[1] <= pos {
			continue
		}
		if sp[0] >= pos { // else it overlaps the span just hidden
			b.WriteString(s[pos:sp[0]])
			b.WriteString(redacted)
		}
		pos = sp[1]
	}
	b.WriteString(s[pos:])
	return b.String()
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
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
