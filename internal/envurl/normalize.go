// Package envurl normalizes the environment URL a person types into the URL the operator
// connects to, the way Business Central's setup page auto-corrects it.
package envurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
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
// scheme and host lower-cased, query, fragment and the default port dropped; for online
// hosts the path is dropped, for on-premises hosts only the first path segment (the
// organization) is kept unless it is a web client page.
//
//	Contoso.crm4.dynamics.com/main.aspx?appid=1 → https://contoso.crm4.dynamics.com
//	http://crm.local:5555/Contoso/main.aspx     → http://crm.local:5555/Contoso
//	127.0.0.1:8443                               → https://127.0.0.1:8443
func Normalize(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("the URL is empty")
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return "", errors.New("the URL contains whitespace")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("the URL cannot be parsed: %w", stripURL(err))
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return "", fmt.Errorf("the URL scheme %q is not supported: use https", u.Scheme)
	}
	if u.User != nil {
		return "", errors.New("the URL must not contain a user name or password")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", errors.New("the URL has no host")
	}
	port := u.Port()
	if port != "" && !isPort(port) {
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
