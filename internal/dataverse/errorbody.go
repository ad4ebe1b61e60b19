package dataverse

import (
	"bytes"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	// maxErrorBody is how much of an error answer is read; the rest is discarded.
	maxErrorBody = 1 << 20
	// maxTextBody is how much of a non-JSON answer is summarized.
	maxTextBody = 64 << 10
	// maxMessageLen bounds the message kept in an Error (and so in logs and events).
	maxMessageLen = 512
	maxCodeLen    = 64
	// maxRetryAfter caps a server's Retry-After so a bogus value cannot park an
	// environment for days.
	maxRetryAfter = time.Hour
)

// parseErrorBody extracts Dataverse's error code and message from an error answer. It
// reads the OData shape {"error":{"code":"0x80040217","message":"..."}} and its variants
// (message as {"value":...}, the OAuth {"error":"invalid_client","error_description":...},
// ASP.NET's {"Message":...}), and falls back to the text of non-JSON answers (an HTML
// page of a proxy, plain text). The result is bounded, valid UTF-8 without control
// characters; an empty body gives two empty strings.
// The redact function is applied to the code and the message before they are cut to length.
func parseErrorBody(body []byte, redact func(string) string) (code, message string) {
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	body = bytes.TrimSpace(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	if len(body) == 0 {
		return "", ""
	}
	if body[0] == '{' {
		if c, m, ok := parseJSONError(body); ok {
			return clean(redact(c), maxCodeLen), clean(redact(m), maxMessageLen)
		}
		// Cut or otherwise broken JSON: pick the fields out of the text.
		if c, m, ok := scanJSONError(body); ok {
			return clean(redact(c), maxCodeLen), clean(redact(m), maxMessageLen)
		}
	}
	if len(body) > maxTextBody {
		body = body[:maxTextBody] // a page's title and first words are all that is kept
	}
	return "", clean(redact(textOf(body)), maxMessageLen)
}

var (
	codeFieldRE    = regexp.MustCompile(`"code"\s*:\s*"((?:[^"\\]|\\.)*)"`)
	messageFieldRE = regexp.MustCompile(`"message"\s*:\s*"((?:[^"\\]|\\.)*)`)
)

// scanJSONError reads "code" and "message" from JSON that does not parse, such as an
// answer cut at maxErrorBody. The message may be cut as well.
func scanJSONError(body []byte) (code, message string, ok bool) {
	cm := codeFieldRE.FindSubmatch(body)
	mm := messageFieldRE.FindSubmatch(body)
	if cm == nil && mm == nil {
		return "", "", false
	}
	if cm != nil {
		code = unescapeJSON(cm[1])
	}
	if mm != nil {
		message = unescapeJSON(mm[1])
	}
	return code, message, true
}

// cutEscape reports whether tail, what follows a final backslash, is the start of an
// escape cut short: nothing, or "u" and at most three hex digits.
func cutEscape(tail []byte) bool {
	if len(tail) == 0 {
		return true
	}
	if tail[0] != 'u' || len(tail) > 4 {
		return false
	}
	for _, c := range tail[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", rune(c)) {
			return false
		}
	}
	return true
}

// unescapeJSON decodes a JSON string's content, tolerating a cut escape at the end
// (as in \u00); anything else broken is kept as it is.
func unescapeJSON(b []byte) string {
	if len(b) > 4*maxMessageLen {
		b = b[:4*maxMessageLen]
	}
	var s string
	if json.Unmarshal([]byte(`"`+string(b)+`"`), &s) == nil {
		return s
	}
	if i := bytes.LastIndexByte(b, '\\'); i >= 0 && cutEscape(b[i+1:]) {
		if json.Unmarshal([]byte(`"`+string(b[:i])+`"`), &s) == nil {
			return s
		}
	}
	return string(b)
}

func parseJSONError(body []byte) (code, message string, ok bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return "", "", false
	}
	if raw, found := lookup(top, "error"); found {
		var inner map[string]json.RawMessage
		if json.Unmarshal(raw, &inner) == nil {
			code = scalar(first(inner, "code"))
			message = messageOf(first(inner, "message"))
			if message == "" {
				if ie, found := lookup(inner, "innererror"); found {
					var m map[string]json.RawMessage
					if json.Unmarshal(ie, &m) == nil {
						message = messageOf(first(m, "message"))
					}
				}
			}
			return code, message, true
		}
		// OAuth 2.0 error answer: "error" is a string.
		code = scalar(raw)
		return code, messageOf(first(top, "error_description")), true
	}
	for _, k := range []string{"message", "exceptionmessage", "error_description", "title"} {
		if raw, found := lookup(top, k); found {
			return scalar(first(top, "code")), messageOf(raw), true
		}
	}
	return "", "", false
}

// lookup finds a key case-insensitively: servers differ in casing ("Message").
func lookup(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func first(m map[string]json.RawMessage, key string) json.RawMessage {
	v, _ := lookup(m, key)
	return v
}

// scalar renders a JSON string, number or boolean as text; anything else as "".
func scalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	switch raw[0] {
	case '{', '[', 'n':
		return ""
	}
	return string(raw)
}

// messageOf reads a message that is a string or OData v3's {"lang":..., "value":...}.
func messageOf(raw json.RawMessage) string {
	if s := scalar(raw); s != "" {
		return s
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		return scalar(first(m, "value"))
	}
	return ""
}

var (
	titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	dropRE  = regexp.MustCompile(`(?is)<(script|style)[^>]*>.*?</(script|style)>`)
	tagRE   = regexp.MustCompile(`(?s)<[^>]*>`)
)

// textOf summarizes a non-JSON body: an HTML page's title, else its text.
func textOf(body []byte) string {
	s := string(body)
	if strings.Contains(s, "<") {
		if m := titleRE.FindStringSubmatch(s); m != nil && strings.TrimSpace(m[1]) != "" {
			return html.UnescapeString(m[1])
		}
		s = dropRE.ReplaceAllString(s, " ")
		s = tagRE.ReplaceAllString(s, " ")
		s = html.UnescapeString(s)
	}
	return s
}

// clean makes s safe to show: valid UTF-8, control characters and runs of white space
// folded to one space, at most limit bytes (cut at a rune boundary).
func clean(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
		if b.Len() >= limit {
			break
		}
	}
	// The cut may fall just after a space: drop it, so no text ends in one and cleaning
	// clean text changes nothing.
	return strings.TrimSuffix(truncate(b.String(), limit), " ")
}

func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// ParseRetryAfter reads a Retry-After header: delay seconds (Dataverse's form) or an HTTP
// date. A date in the past gives 0. Values are capped at an hour. ok is false when the
// header is absent or unreadable.
func ParseRetryAfter(value string, now time.Time) (d time.Duration, ok bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(value, 64); err == nil {
		if secs != secs || secs < 0 { // NaN or negative
			return 0, false
		}
		if secs >= maxRetryAfter.Seconds() {
			return maxRetryAfter, true
		}
		return time.Duration(secs * float64(time.Second)), true
	}
	t, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	d = t.Sub(now)
	switch {
	case d < 0:
		d = 0
	case d > maxRetryAfter:
		d = maxRetryAfter
	}
	return d, true
}
