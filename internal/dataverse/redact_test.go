package dataverse

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/bcconnect/salesconnection-operator/internal/testpki"
)

// rewrap joins s's lines again at width, with CRLF line ends.
func rewrap(s string, width int) string {
	flat := strings.ReplaceAll(s, "\n", "")
	var b strings.Builder
	for len(flat) > width {
		b.WriteString(flat[:width] + "\r\n")
		flat = flat[width:]
	}
	b.WriteString(flat)
	return b.String()
}

// pemBody is the base64 between a PEM block's armour lines, on one line.
func pemBody(p string) string {
	lines := strings.Split(strings.TrimSpace(p), "\n")
	return strings.Join(lines[1:len(lines)-1], "")
}

// TestRedactorFindsReshapedSecrets: a known value is found whatever white space was put
// in it or taken out: a PEM key re-wrapped or with CRLF, its bare base64 body, a secret
// broken over two lines; and a value cut at the end of a text is hidden too.
func TestRedactorFindsReshapedSecrets(t *testing.T) {
	_, keyPEM := testpki.SelfSigned(t, true)
	key := string(keyPEM)
	body := pemBody(key)
	const secret = "Zq8~verylongclientsecretvalue.Never"
	r := newRedactor(secret, key)
	for _, tc := range []struct {
		name, in string
		leaks    []string // none of these may remain
	}{
		{"pem as is", "key: " + key + " rejected", []string{body[:40], body[len(body)-40:]}},
		{"pem with CRLF", "key: " + strings.ReplaceAll(key, "\n", "\r\n"), []string{body[:40], body[len(body)-40:]}},
		{"pem re-wrapped at 76", "key:\n" + rewrap(key, 76) + "\nrejected", []string{body[:40], body[500:540], body[len(body)-20:]}},
		{"pem without line breaks", "key=" + strings.ReplaceAll(key, "\n", ""), []string{body[:40]}},
		{"bare base64 body", `{"k":"` + body + `"}`, []string{body[:40], body[len(body)-40:]}},
		{"bare body re-wrapped", "k: " + rewrap(body, 64), []string{body[:40]}},
		{"secret broken over lines", "bad value Zq8~verylong\n  clientsecretvalue.Never here", []string{"verylong", "clientsecret"}},
		{"secret cut at the end", "the text stops at Zq8~verylongclie", []string{"Zq8~verylongclie", "verylong"}},
		{"pem cut at the end", "key: " + key[:len(key)/2], []string{body[:40], body[200:240]}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := r.apply(tc.in)
			for _, leak := range tc.leaks {
				if strings.Contains(stripSpace(out), stripSpace(leak)) {
					t.Errorf("part of the secret survives redaction: %q", out)
				}
			}
			if !strings.Contains(out, redacted) {
				t.Errorf("nothing redacted in %q", out)
			}
		})
	}
	if got := r.apply("an ordinary message, nothing to hide"); got != "an ordinary message, nothing to hide" {
		t.Errorf("apply changed an innocent message: %q", got)
	}
}

// TestRedactBeforeTruncating: a secret that straddles the message length limit is hidden
// whole; cutting first would have left its first half in the message.
func TestRedactBeforeTruncating(t *testing.T) {
	const secret = "FirstHalfOfTheSecret-SecondHalfOfTheSecret"
	red := newRedactor(secret)
	pad := strings.Repeat("x", maxMessageLen-20)
	for _, tc := range []struct {
		name string
		err  func() *Error
	}{
		{"dataverse answer", func() *Error {
			b, _ := json.Marshal(odataError("0x1", pad+" "+secret))
			return classifyResponse("Op", http.StatusBadRequest, http.Header{}, b, time.Now(), red)
		}},
		{"non-JSON answer", func() *Error {
			return classifyResponse("Op", http.StatusBadGateway, http.Header{}, []byte(pad+" "+secret), time.Now(), red)
		}},
		{"transport failure", func() *Error {
			return classifyTransport("Op", errors.New(pad+" "+secret), red)
		}},
		{"authority answer", func() *Error {
			// The first sentence of the description is kept, up to 200 bytes.
			b, _ := json.Marshal(map[string]string{"error": "invalid_client", "error_description": "AADSTS7000215: " + strings.Repeat("y", 180) + secret})
			resp := &http.Response{StatusCode: http.StatusUnauthorized, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(b))}
			return classifyTokenError("Op", &azidentity.AuthenticationFailedError{RawResponse: resp}, &tokenProbe{}, time.Now(), red)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := tc.err().Error()
			if strings.Contains(msg, "FirstHalf") || strings.Contains(msg, "SecondHalf") {
				t.Errorf("the error shows part of the secret: %q", msg)
			}
		})
	}
}
