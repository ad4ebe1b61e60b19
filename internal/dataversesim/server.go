package dataversesim

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is the simulator: Entra ID at the authority host and every environment at
// /<name>, on one HTTPS listener.
type Server struct {
	cfg    Config
	envs   map[string]*Environment
	signer *signer
	ca     *authority
	log    requestLog
	// faults holds the knobs of the token service.
	faults *Faults

	mu            sync.Mutex
	revokedBefore time.Time
	listener      net.Listener
	http          *http.Server
	baseURL       string
	now           func() time.Time
}

// New builds a simulator from cfg. Start serves it.
func New(cfg Config) (*Server, error) {
	ca, err := newAuthority()
	if err != nil {
		return nil, fmt.Errorf("creating the simulator's CA: %w", err)
	}
	sg, err := newSigner()
	if err != nil {
		return nil, fmt.Errorf("creating the token signing key: %w", err)
	}
	cfg.Tenants = withDefaultPublicClient(cfg.Tenants)
	s := &Server{cfg: cfg, envs: map[string]*Environment{}, signer: sg, ca: ca, faults: newFaults(), now: time.Now}
	s.faults.TokenEndpointOutage(cfg.TokenEndpointOutage)
	for _, ec := range cfg.Environments {
		if _, dup := s.envs[strings.ToLower(ec.Name)]; dup {
			return nil, fmt.Errorf("environment %q is defined twice", ec.Name)
		}
		tenantID, err := environmentTenant(cfg, ec)
		if err != nil {
			return nil, fmt.Errorf("environment %q: %w", ec.Name, err)
		}
		env, err := newEnvironment(ec)
		if err != nil {
			return nil, fmt.Errorf("environment %q: %w", ec.Name, err)
		}
		env.tenantID = tenantID
		s.envs[strings.ToLower(ec.Name)] = env
	}
	return s, nil
}

// Start serves HTTPS on addr (host:port; port 0 picks a free one). URLs, token audiences
// and issuers use Config.PublicHost, or the listen address.
func (s *Server) Start(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	base, certHosts, err := publicBase(l.Addr(), s.cfg.PublicHost)
	if err != nil {
		_ = l.Close()
		return err
	}
	cert, err := s.ca.serving(certHosts...)
	if err != nil {
		_ = l.Close()
		return fmt.Errorf("issuing the serving certificate: %w", err)
	}
	s.mu.Lock()
	s.listener = l
	s.baseURL = base
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		// Handshake failures from clients that do not trust the CA are expected (tests of
		// TLSError); they are answered, not logged.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	srv := s.http
	s.mu.Unlock()
	go func() { _ = srv.ServeTLS(l, "", "") }()
	return nil
}

// publicBase is the base URL clients use, https://host:port, and the hosts the serving
// certificate must name. The port is the listener's unless publicHost gives one (a port
// forward or a load balancer in front).
func publicBase(listen net.Addr, publicHost string) (string, []string, error) {
	listenHost, port, err := net.SplitHostPort(listen.String())
	if err != nil {
		return "", nil, err
	}
	var certHosts []string
	if ip := net.ParseIP(listenHost); ip == nil || !ip.IsUnspecified() {
		certHosts = append(certHosts, listenHost)
	}
	host := listenHost
	switch {
	case publicHost != "":
		if strings.ContainsAny(publicHost, "/?#@ ") {
			return "", nil, fmt.Errorf("public host %q must be a host name or IP address, optionally with :port", publicHost)
		}
		host = publicHost
		if h, p, err := net.SplitHostPort(publicHost); err == nil {
			host, port = h, p
		}
		host = strings.Trim(host, "[]")
		certHosts = append(certHosts, host)
	case len(certHosts) == 0:
		// Listening on every address: loopback is the one name sure to reach it.
		host = "localhost"
	}
	return "https://" + net.JoinHostPort(host, port), certHosts, nil
}

// Close stops serving.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.http
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// NewTestServer starts a simulator on a free loopback port for one test.
func NewTestServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("dataversesim: %v", err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("dataversesim: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// URL is the simulator's base URL, https://PUBLIC-HOST:PORT (https://127.0.0.1:PORT by
// default in tests).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// AuthorityHost is the Entra ID authority host to configure in clients.
func (s *Server) AuthorityHost() string { return s.URL() + "/" }

// issuer is the iss claim of the tokens a tenant issues (Entra ID's v2.0 form).
func (s *Server) issuer(tenantID string) string { return s.AuthorityHost() + tenantID + "/v2.0" }

// EnvironmentURL is the URL of an environment: URL()/<name>.
func (s *Server) EnvironmentURL(name string) string { return s.URL() + "/" + name }

// Environment returns an environment by name.
func (s *Server) Environment(name string) *Environment { return s.envs[strings.ToLower(name)] }

// CACertPEM is the CA certificate clients must trust.
func (s *Server) CACertPEM() []byte { return s.ca.caPEM }

// WriteCA writes the CA certificate to path.
func (s *Server) WriteCA(path string) error { return os.WriteFile(path, s.ca.caPEM, 0o644) }

// Faults are the token service's knobs (TokenEndpointOutage).
func (s *Server) Faults() *Faults { return s.faults }

// RevokeTokens makes every token issued until now invalid, so clients must get new ones.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Tokens carry whole seconds: revoke everything issued up to this second.
	s.revokedBefore = s.now().Truncate(time.Second).Add(time.Second)
}

func (s *Server) revocationTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revokedBefore
}

// ServeHTTP routes to the token service or an environment's Web API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	entry := Request{Time: s.now(), Method: r.Method, Path: r.URL.Path}
	defer func() {
		entry.Status, entry.Answered = rec.status, s.now()
		s.log.add(entry)
	}()

	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(segs) >= 4 && segs[1] == "api" && segs[2] == "data" && strings.HasPrefix(segs[3], "v"):
		env := s.Environment(segs[0])
		entry.Environment = segs[0]
		if env == nil {
			entry.Operation = "Unknown"
			writeODataError(rec, http.StatusNotFound, "0x80060888", fmt.Sprintf("Organization '%s' does not exist.", segs[0]))
			return
		}
		if !env.servesAPIVersion(segs[3]) {
			entry.Operation = "Unknown"
			writeAPIVersionNotFound(rec, segs[3])
			return
		}
		s.serveWebAPI(rec, r, env, segs[3], strings.Join(segs[4:], "/"), &entry)
	case len(segs) == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "token" && r.Method == http.MethodPost:
		entry.Operation = "Token"
		entry.Principal = s.handleToken(rec, r, segs[0])
	case len(segs) == 4 && segs[1] == "v2.0" && segs[2] == ".well-known" && segs[3] == "openid-configuration":
		entry.Operation = "OpenIDConfiguration"
		s.handleOpenIDConfiguration(rec, segs[0])
	case len(segs) == 4 && segs[1] == "discovery" && segs[2] == "v2.0" && segs[3] == "keys":
		entry.Operation = "Keys"
		writeJSON(rec, http.StatusOK, s.signer.jwks())
	case len(segs) == 3 && isADFS(segs[0]) && segs[1] == ".well-known" && segs[2] == "openid-configuration":
		entry.Operation = "OpenIDConfiguration"
		s.handleADFSConfiguration(rec)
	case len(segs) == 3 && isADFS(segs[0]) && segs[1] == "oauth2" && segs[2] == "token" && r.Method == http.MethodPost:
		entry.Operation = "Token"
		entry.Principal = s.handleADFSToken(rec, r)
	case len(segs) == 3 && segs[1] == "UserRealm":
		entry.Operation = "UserRealm"
		s.handleUserRealm(rec, segs[2])
	default:
		entry.Operation = "Unknown"
		http.NotFound(rec, r)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeODataError writes Dataverse's error shape.
func writeODataError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": message}})
}
