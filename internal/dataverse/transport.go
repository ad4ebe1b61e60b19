package dataverse

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"sync"
	"time"
)

// newHTTPClient returns a client that trusts the system roots plus caBundle (PEM), for
// both Dataverse and the sign-in authority: an on-premises server and its AD FS usually
// share one private CA. Connections are kept alive and shared by every Client of the
// Pool that uses the same bundle.
func newHTTPClient(caBundle []byte, timeout time.Duration) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(caBundle) > 0 {
		roots, err := x509.SystemCertPool()
		if err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(caBundle) {
			return nil, newError("", ReasonTLSError, 0, "InvalidCABundle", "the CA bundle holds no PEM certificate", nil)
		}
		cfg.RootCAs = roots
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	t.MaxIdleConns = 512
	// Dataverse allows 52 concurrent requests per user; keep that many warm per host.
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: t, Timeout: timeout}, nil
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
// HTTP client, plus the probe.
type probeTransport struct{ client *http.Client }

func (t probeTransport) Do(req *http.Request) (*http.Response, error) {
	resp, err := t.client.Do(req)
	if p, ok := req.Context().Value(probeKey{}).(*tokenProbe); ok {
		p.record(resp, err)
	}
	return resp, err
}
