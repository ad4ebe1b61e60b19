package dataverse

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"golang.org/x/net/idna"
)

// Manager flags that set the allowlists; errors name them so a refused destination says
// what the cluster admin changes.
const (
	FlagAllowedAuthorityHosts     = "allowed-authority-hosts"
	FlagAllowedEnvironmentDomains = "allowed-environment-domains"
)

// DefaultAuthorityHosts are the Microsoft Entra sign-in hosts of the public cloud and the
// national clouds, the only authorities credentials go to unless the cluster admin lists
// others. Sources: "National clouds" (learn.microsoft.com/entra/identity-platform/
// authentication-national-cloud: login.microsoftonline.com, login.microsoftonline.us,
// login.partner.microsoftonline.cn), azcore's cloud.AzurePublic/AzureGovernment/AzureChina
// (login.chinacloudapi.cn), and the aliases MSAL itself trusts without instance discovery
// (microsoft-authentication-library-for-go, apps/internal/oauth/ops/authority/authority.go,
// aadTrustedHostList). login.microsoftonline.de is left out: Microsoft Cloud Germany
// closed on 29 October 2021.
var DefaultAuthorityHosts = []string{
	"login.microsoftonline.com",        // public cloud
	"login.microsoft.com",              // public cloud alias
	"login.windows.net",                // public cloud alias
	"sts.windows.net",                  // public cloud alias
	"login.microsoftonline.us",         // US Government (GCC High, DoD)
	"login-us.microsoftonline.com",     // US Government, legacy
	"login.usgovcloudapi.net",          // US Government alias
	"login.partner.microsoftonline.cn", // China, operated by 21Vianet
	"login.chinacloudapi.cn",           // China, legacy
}

// DefaultEnvironmentDomains are the domains of Dataverse online environments in the
// public and national clouds. Source: "Discover user organizations"
// (learn.microsoft.com/power-apps/developer/data-platform/discovery-service), whose
// Global Discovery Service table gives each cloud's domain: Commercial
// globaldisco.crm.dynamics.com (regions crm, crm2 ... crmN.dynamics.com), GCC
// globaldisco.crm9.dynamics.com, USG (GCC High) globaldisco.crm.microsoftdynamics.us,
// DoD globaldisco.crm.appsplatform.us, China globaldisco.crm.dynamics.cn.
var DefaultEnvironmentDomains = []string{
	"*.dynamics.com",         // Commercial and GCC
	"*.microsoftdynamics.us", // GCC High
	"*.appsplatform.us",      // DoD
	"*.dynamics.cn",          // China, operated by 21Vianet
}

// Allowlist is a set of destinations. An entry is an exact host (any port), host:port, or
// *.suffix / .suffix for every subdomain of suffix (not suffix itself). Hosts are
// compared in their ASCII (punycode) form without a trailing dot, IP addresses in their
// canonical form. Plain http is allowed only to hosts listed exactly, never through a
// wildcard: an online service is https only, an on-premises server is named one by one.
type Allowlist struct {
	entries []allowEntry
}

type allowEntry struct {
	host   string // ASCII host or canonical IP; for a wildcard the suffix with its dot
	port   string // "" for any port
	suffix bool
}

// ParseAllowlist reads entries; empty entries are skipped, so "a,b," is two.
func ParseAllowlist(entries []string) (*Allowlist, error) {
	a := &Allowlist{}
	for _, raw := range entries {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		e, err := parseAllowEntry(s)
		if err != nil {
			return nil, fmt.Errorf("allowlist entry %q: %w", s, err)
		}
		a.entries = append(a.entries, e)
	}
	return a, nil
}

func parseAllowEntry(s string) (allowEntry, error) {
	if strings.ContainsAny(s, "/@?#\\ \t") {
		return allowEntry{}, errors.New("want a host, host:port or *.domain, not a URL")
	}
	if rest, ok := strings.CutPrefix(s, "*."); ok || strings.HasPrefix(s, ".") {
		if !ok {
			rest = s[1:]
		}
		if strings.Contains(rest, ":") {
			return allowEntry{}, errors.New("a wildcard entry takes no port")
		}
		host, err := canonicalHost(rest)
		if err != nil {
			return allowEntry{}, err
		}
		if _, err := netip.ParseAddr(host); err == nil {
			return allowEntry{}, errors.New("a wildcard entry needs a domain name, not an IP address")
		}
		return allowEntry{host: "." + host, suffix: true}, nil
	}
	if strings.Contains(s, "*") {
		return allowEntry{}, errors.New("a wildcard is allowed only as a leading \"*.\"")
	}
	host, port := s, ""
	// host:port, [v6]:port; a bare IPv6 address has several colons and no port.
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		h, p, err := net.SplitHostPort(s)
		if err != nil {
			if !strings.HasPrefix(s, "[") || !strings.HasSuffix(s, "]") {
				return allowEntry{}, errors.New("cannot read host:port")
			}
			h, p = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"), ""
		}
		if p != "" && !validPort(p) {
			return allowEntry{}, fmt.Errorf("port %q is not a number between 1 and 65535", p)
		}
		host, port = h, strings.TrimLeft(p, "0")
	}
	h, err := canonicalHost(host)
	if err != nil {
		return allowEntry{}, err
	}
	return allowEntry{host: h, port: port}, nil
}

// canonicalHost lower-cases a name, drops a trailing dot and converts it to ASCII with
// IDNA's lookup rules; an IP address is written in its canonical form.
func canonicalHost(h string) (string, error) {
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return "", errors.New("the host is empty")
	}
	if ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); err == nil {
		return ip.Unmap().WithZone("").String(), nil
	}
	ascii, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return "", fmt.Errorf("not a valid host name: %w", err)
	}
	return strings.ToLower(ascii), nil
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 {
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

// allows reports whether u may be sent to.
func (a *Allowlist) allows(u *url.URL) bool {
	if a == nil || u == nil {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "https" && scheme != "http" {
		return false
	}
	host, err := canonicalHost(u.Hostname())
	if err != nil {
		return false
	}
	port := strings.TrimLeft(u.Port(), "0")
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	for _, e := range a.entries {
		switch {
		case e.suffix:
			if scheme == "https" && strings.HasSuffix(host, e.host) && len(host) > len(e.host) {
				return true
			}
		case host == e.host && (e.port == "" || e.port == port):
			return true
		}
	}
	return false
}

// checkDestination refuses u unless list allows it, with an error that names the host
// and the flag to change. what is "environment" or "sign-in authority".
func checkDestination(op string, list *Allowlist, flag, what string, u *url.URL) *Error {
	if list.allows(u) {
		return nil
	}
	host := "(none)"
	if u != nil && u.Host != "" {
		host = clean(u.Host, 256)
	}
	msg := fmt.Sprintf("the %s host %s is not allowed: a cluster admin lists allowed destinations with the operator flag --%s", what, host, flag)
	if u != nil && strings.EqualFold(u.Scheme, "http") {
		msg += " (plain http only to a host listed by name, never through a wildcard)"
	}
	return newError(op, ReasonDestinationNotAllowed, 0, "", msg, nil)
}
