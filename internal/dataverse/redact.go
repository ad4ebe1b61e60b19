package dataverse

import (
	"regexp"
	"strings"
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

// redactor removes known secret values and credential-shaped text from messages.
type redactor struct {
	secrets []string
}

// newRedactor remembers the secret values worth hiding (short values are skipped: they
// would mangle ordinary words and are not worth hiding from a message anyway).
func newRedactor(values ...string) redactor {
	var r redactor
	for _, v := range values {
		if len(v) >= 4 {
			r.secrets = append(r.secrets, v)
		}
	}
	return r
}

func (r redactor) with(values ...string) redactor {
	out := redactor{secrets: append([]string(nil), r.secrets...)}
	for _, v := range values {
		if len(v) >= 4 {
			out.secrets = append(out.secrets, v)
		}
	}
	return out
}

func (r redactor) apply(s string) string {
	for _, v := range r.secrets {
		s = strings.ReplaceAll(s, v, redacted)
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
