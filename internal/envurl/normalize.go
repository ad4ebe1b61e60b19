// Package envurl normalizes the environment URL a person types into the URL the operator
// connects to, the way Business Central's setup page auto-corrects it.
package envurl

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// onlineSuffixes are the host suffixes of Dynamics 365 online, in the public and the
// sovereign clouds. Online hosts carry the organization in the host name, so any path is
// a web client page and is dropped.
var onlineSuffixes = []string{
	".dynamics.com",         // public cloud and GCC (crm9)
	".microsoftdynamics.us", // GCC High
	".appsplatform.us",      // DoD
	".dynamics.cn",          // operated by 21Vianet
	".microsoftdynamics.de", // the former German cloud
}

// webClientSegments are first path segments that name a page or service of the web
// client or the API, never an on-premises organization.
var webClientSegments = map[string]bool{
	"main.aspx": true, "default.aspx": true, "home.aspx": true, "apps": true, "tools": true,
	"api": true, "xrmservices": true, "webresources": true, "_root": true, "_static": true,
	"_common": true, "sfa": true, "crmreports": true,
}

// Normalize returns the environment URL: trimmed, https:// added when there is no scheme,
// scheme lower-cased, query, fragment and the default port dropped; for online hosts the
// path is dropped, for on-premises hosts only the first path segment (the organization)
// is kept unless it is a web client page. The host is written the way the client and the
// destination allowlist compare it: a name in ASCII (international names in punycode)
// without a trailing dot, an IPv6 address in its canonical form.
//
//	Contoso.crm4.dynamics.com/main.aspx?appid=1 → https://contoso.crm4.dynamics.com
//	http://crm.local:5555/Contoso/main.aspx     → http://crm.local:5555/Contoso
//	127.0.0.1:8443                               → https://127.0.0.1:8443
//	https://bücher.example/Org                   → https://xn--bcher-kva.example/Org
//
// Invalid UTF-8, whitespace (Unicode spaces too) and control characters are refused
// anywhere in the URL, and a host that is not a valid host name by IDNA (UTS #46) rules.
func Normalize(raw string) (string, error) {
	if !utf8.ValidString(raw) {
		return "", errors.New("the URL is not valid UTF-8")
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("the URL is empty")
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
		// The code point only: an invisible character is otherwise hard to find.
		r, _ := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			return "", fmt.Errorf("the URL contains whitespace (%U): percent-encode it or remove it", r)
		}
		return "", fmt.Errorf("the URL contains a control character (%U): remove it", r)
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	if hasUserInfo(s) {
		return "", errUserInfo
	}
	// An "@" anywhere may belong to a password the parser reads as something else
	// ("https://user:pass/word@host" has the port "pass"): then no error quotes the input.
	quote := !strings.Contains(s, "@")
	u, err := url.Parse(s)
	if err != nil {
		if !quote {
			return "", errors.New("the URL cannot be parsed")
		}
		return "", fmt.Errorf("the URL cannot be parsed: %w", stripURL(err))
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", fmt.Errorf("the URL scheme %q is not supported: use https", u.Scheme)
	}
	if u.User != nil {
		return "", errUserInfo
	}
	host, err := hostOf(u, quote)
	if err != nil {
		return "", err
	}
	port := u.Port()
	if port != "" && !isPort(port) {
		if !quote {
			return "", errors.New("the URL port is not a number between 1 and 65535")
		}
		return "", fmt.Errorf("the URL port %q is not a number between 1 and 65535", port)
	}
	port = strings.TrimLeft(port, "0")
	if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
		port = ""
	}
	if scheme == "http" && port == "" {
		return "", errors.New("http is accepted only with an explicit port other than 80, as on-premises servers use: use https")
	}

	hostPort := host
	if strings.Contains(host, ":") { // IPv6 literal
		hostPort = "[" + host + "]"
	}
	if port != "" {
		hostPort = net.JoinHostPort(host, port)
	}
	out := scheme + "://" + hostPort
	if isOnline(host) {
		return out, nil
	}
	if org := firstSegment(u.EscapedPath()); org != "" && !webClientSegments[strings.ToLower(org)] {
		out += "/" + org
	}
	return out, nil
}

// hostProfile is IDNA's lookup profile (UTS #46 mapping: case, width and compatibility
// forms folded; letters, digits and hyphens only; the Bidi and hyphen rules), as the
// destination allowlist uses, with DNS lengths checked too: no empty label, none longer
// than 63 bytes, at most 253 bytes in all.
var hostProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false), idna.VerifyDNSLength(true))

// hostOf returns the host of u as Normalize writes it, or why it is refused. quote tells
// whether the error may repeat the host (see Normalize).
func hostOf(u *url.URL, quote bool) (string, error) {
	h := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		ip, err := netip.ParseAddr(h)
		switch {
		case err != nil || !ip.Is6():
			return "", errors.New("the URL host in brackets is not an IPv6 address")
		case ip.Zone() != "":
			return "", errors.New("the URL host must not name an IPv6 zone: the zone is of this machine, not of the server")
		}
		return ip.Unmap().String(), nil
	}
	h = strings.TrimSuffix(h, ".") // the same host as without the root label's dot
	if h == "" {
		return "", errors.New("the URL has no host")
	}
	if !utf8.ValidString(h) { // percent-escapes in the host that are not UTF-8
		return "", errors.New("the URL host is not valid UTF-8")
	}
	ascii, err := hostProfile.ToASCII(h)
	if err == nil && strings.HasSuffix(ascii, ".") { // "a..": IDNA leaves the last label unchecked
		err = errors.New("empty label")
	}
	if err != nil {
		if !quote {
			return "", errors.New("the URL host is not a valid host name")
		}
		return "", fmt.Errorf("the URL host %q is not a valid host name (%w): use letters, digits, hyphens and dots", h, err)
	}
	return strings.ToLower(ascii), nil
}

var errUserInfo = errors.New("the URL must not contain a user name or password")

// hasUserInfo reports an "@" in the authority (between "://" and the first "/", "?" or
// "#"), found without the parser, whose errors could quote a part of the password.
func hasUserInfo(s string) bool {
	_, rest, _ := strings.Cut(s, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return strings.Contains(rest, "@")
}

// IsOnline reports whether the normalized URL is a Dynamics 365 online host.
func IsOnline(normalized string) bool {
	u, err := url.Parse(normalized)
	return err == nil && isOnline(strings.ToLower(u.Hostname()))
}

func isOnline(host string) bool {
	for _, suffix := range onlineSuffixes {
		if strings.HasSuffix(host, suffix) {
			return true
		}
	}
	return false
}

func firstSegment(escapedPath string) string {
	first, _, _ := strings.Cut(strings.TrimPrefix(escapedPath, "/"), "/")
	return first
}

func isPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n >= 1 && n <= 65535
}

// stripURL keeps only the parser's reason: url.Error repeats the whole input.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
