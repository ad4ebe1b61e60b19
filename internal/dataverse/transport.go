package dataverse

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Bounds of the answers read, after decompression: the transport undoes gzip before
// these apply, so a small compressed bomb cannot expand past them.
const (
	// maxSuccessBody bounds a Dataverse answer: the client's queries are filtered and
	// paged (at most 5,000 rows of a few columns), far below this.
	maxSuccessBody = 32 << 20
	// maxAuthorityBody bounds an answer of the sign-in authority: a token, an OpenID
	// configuration or a user realm is a few KiB.
	maxAuthorityBody = 1 << 20
)

// httpClients are the two clients of one CA bundle, one for Dataverse and one for the
// sign-in authority. They share one connection pool; each checks every request against
// its own allowlist before anything is sent (no DNS look-up, no connection), bounds every
// answer, and refuses redirects.
type httpClients struct {
	env, authority *http.Client
}

// newHTTPClients trusts the system roots plus caBundle (PEM), for both Dataverse and the
// sign-in authority: an on-premises server and its AD FS usually share one private CA.
// Connections are kept alive and shared by every Client of the Pool that uses the same
// bundle.
func newHTTPClients(caBundle []byte, timeout time.Duration, envAllow, authAllow *Allowlist) (httpClients, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(caBundle) > 0 {
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(caBundle) {
			return httpClients{}, newError("", ReasonTLSError, 0, "InvalidCABundle", "the CA bundle holds no PEM certificate", nil)
		}
		cfg.RootCAs = roots
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	t.MaxIdleConns = 512
	// Dataverse allows 52 concurrent requests per user; keep that many warm per host.
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return httpClients{
		env: &http.Client{
			Transport:     guardTransport{next: t, allow: envAllow, flag: FlagAllowedEnvironmentDomains, what: "environment", maxBody: maxSuccessBody},
			Timeout:       timeout,
			CheckRedirect: refuseRedirect,
		},
		authority: &http.Client{
			Transport:     guardTransport{next: t, allow: authAllow, flag: FlagAllowedAuthorityHosts, what: "sign-in authority", maxBody: maxAuthorityBody},
			Timeout:       timeout,
			CheckRedirect: refuseRedirect,
		},
	}, nil
}

// guardTransport sends only to allowed destinations and bounds every answer. It is the
// last step before the network, so it also sees the requests the sign-in library makes
// on its own (OpenID configuration, user realm, token).
type guardTransport struct {
	next    http.RoundTripper
	allow   *Allowlist
	flag    string
	what    string
	maxBody int64
}

func (g guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if e := checkDestination("", g.allow, g.flag, g.what, req.URL); e != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, e
	}
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, remaining: g.maxBody, limit: g.maxBody}
	return resp, nil
}

// limitedBody fails a read past limit instead of cutting the answer silently: a cut
// answer could still parse and mislead.
type limitedBody struct {
	rc        io.ReadCloser
	remaining int64
	limit     int64
	exceeded  bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.exceeded {
		return 0, b.tooLarge()
	}
	// One byte more than allowed tells an answer of exactly the limit from a larger one.
	if int64(len(p)) > b.remaining+1 {
		p = p[:b.remaining+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.remaining {
		b.exceeded = true
		n, b.remaining = int(b.remaining), 0
		return n, b.tooLarge()
	}
	b.remaining -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

func (b *limitedBody) tooLarge() error {
	return newError("", ReasonResponseTooLarge, 0, "", fmt.Sprintf("the answer is larger than %d bytes", b.limit), nil)
}

// refuseRedirect never follows a redirect: the request carries a token or a credential,
// and a server must not be able to send it elsewhere. The error names the Location's
// host (only the host: the rest of the URL may carry anything).
func refuseRedirect(req *http.Request, _ []*http.Request) error {
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	return newError("", ReasonRedirected, status, "", redirectMessage(req.URL.Host), nil)
}

func redirectMessage(host string) string {
	if host == "" {
		return "the server answered with a redirect, which is never followed: use the final URL"
	}
	return "the server redirected to " + clean(host, 256) + "; redirects are never followed, so credentials stay with the host they are meant for: use the final URL"
}

// probeKey carries a *tokenProbe in a sign-in's context.
type probeKey struct{}

// tokenProbe records what the authority's HTTP round trips did during one sign-in.
// azidentity flattens network failures into text; the probe keeps the real error, so a
// TLS failure or an outage of the authority is classified by type, not by wording.
type tokenProbe struct {
	mu     sync.Mutex
	err    error
	status int
}

func (p *tokenProbe) record(resp *http.Response, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.err = err
		return
	}
	if resp.StatusCode >= 400 {
		p.status = resp.StatusCode
	}
}

func (p *tokenProbe) result() (status int, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status, p.err
}

// probeTransport is the azcore transport of every azidentity credential: the shared
// authority client, the probe, and two rules of its own. Requests go only to the
// credential's authority (scheme, host and port): a discovery document cannot send the
// secret elsewhere. And each answer is read here, within its bound, so an oversized one
// fails the sign-in as a transport error the probe records.
type probeTransport struct {
	client    *http.Client
	authority *url.URL
}

func (t probeTransport) Do(req *http.Request) (*http.Response, error) {
	resp, err := t.do(req)
	if p, ok := req.Context().Value(probeKey{}).(*tokenProbe); ok {
		p.record(resp, err)
	}
	return resp, err
}

func (t probeTransport) do(req *http.Request) (*http.Response, error) {
	if !sameOrigin(req.URL, t.authority) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, newError("", ReasonDestinationNotAllowed, 0, "",
			"the sign-in library asked to send a request to "+clean(req.URL.Host, 256)+", not to the authority "+
				clean(t.authority.Host, 256)+": credentials go only to the authority host", nil)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		if resp != nil && resp.Body != nil {
			_ = resp.Body.Close()
		}
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// sameOrigin compares scheme, host and port (the default port spelled or not).
func sameOrigin(a, b *url.URL) bool {
	if a == nil || b == nil || !strings.EqualFold(a.Scheme, b.Scheme) {
		return false
	}
	ha, errA := canonicalHost(a.Hostname())
	hb, errB := canonicalHost(b.Hostname())
	return errA == nil && errB == nil && ha == hb && portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := strings.TrimLeft(u.Port(), "0"); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}
