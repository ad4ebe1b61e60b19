package dataverse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of PoolOptions.
const (
	DefaultTimeout                     = 60 * time.Second
	DefaultMaxConcurrentPerEnvironment = 52 // Dataverse's concurrency limit per user
)

// PoolOptions configure a Pool. The zero value is usable.
type PoolOptions struct {
	// UserAgent is sent with every Dataverse request.
	UserAgent string
	// Timeout bounds one HTTP request, to Dataverse or to the authority (default 60s).
	Timeout time.Duration
	// MaxConcurrentPerEnvironment caps requests in flight to one environment from the
	// whole operator (default 52, Dataverse's per-user limit).
	MaxConcurrentPerEnvironment int
	// RequestsPerSecondPerEnvironment, when > 0, paces requests to one environment
	// (Dataverse allows 6,000 per user per 5 minutes, 20/s on average). Off by default:
	// 429s with Retry-After already pace the operator, and most runs never get near.
	RequestsPerSecondPerEnvironment float64
	// BurstPerEnvironment is the rate limiter's burst (default MaxConcurrentPerEnvironment).
	BurstPerEnvironment int
	// Retry is the retry policy of each call.
	Retry RetryPolicy
	// AllowedAuthorityHosts are the sign-in authorities credentials may be sent to, and
	// AllowedEnvironmentDomains the Dataverse hosts tokens may be sent to; anything else
	// fails with ReasonDestinationNotAllowed before a byte is sent. Entries: an exact host
	// (any port), host:port, or *.suffix / .suffix for subdomains (see Allowlist). Empty
	// means DefaultAuthorityHosts and DefaultEnvironmentDomains, Microsoft's public and
	// national clouds: an on-premises server or a local simulator must be listed.
	AllowedAuthorityHosts     []string
	AllowedEnvironmentDomains []string
	// OnThrottle, when set, is told each time a 429's Retry-After extends an environment's
	// throttle window, so the window can outlive the process (see Pool.Throttle). It is
	// called without locks held and must not block.
	OnThrottle func(environmentURL string, until time.Time)
	// Now and Sleep replace the clock in tests. Sleep must return ctx.Err() when ctx ends
	// first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Pool holds what all reconciles of the operator share: HTTP clients per CA bundle,
// tokens per principal and environment, and per-environment limits and throttle state.
// It is safe for concurrent use.
type Pool struct {
	opts PoolOptions
	// envAllow and authAllow are the parsed allowlists; allowErr, when set, is why they
	// could not be read, and every Client is refused with it.
	envAllow, authAllow *Allowlist
	allowErr            error

	mu     sync.Mutex
	http   map[string]httpClients // by CA bundle hash
	tokens map[tokenIdentity]*tokenEntry
	envs   map[string]*environment
}

type tokenEntry struct {
	fingerprint string
	source      *tokenSource
}

// environment is the shared state of one Dataverse environment.
type environment struct {
	sem     chan struct{}
	limiter *rate.Limiter

	url        string
	onThrottle func(environmentURL string, until time.Time)

	mu             sync.Mutex
	throttledUntil time.Time
	// apiVersion is the Web API version the server serves ("v9.1"); empty until a
	// RetrieveVersion answered.
	apiVersion string
}

// NewPool returns a Pool; register it once per operator.
func NewPool(opts PoolOptions) *Pool {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxConcurrentPerEnvironment <= 0 {
		opts.MaxConcurrentPerEnvironment = DefaultMaxConcurrentPerEnvironment
	}
	if opts.BurstPerEnvironment <= 0 {
		opts.BurstPerEnvironment = opts.MaxConcurrentPerEnvironment
	}
	opts.Retry = opts.Retry.withDefaults()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	p := &Pool{
		opts:   opts,
		http:   map[string]httpClients{},
		tokens: map[tokenIdentity]*tokenEntry{},
		envs:   map[string]*environment{},
	}
	p.envAllow, p.authAllow, p.allowErr = opts.allowlists()
	return p
}

// Validate reports allowlist entries that cannot be read; the manager checks its flags
// with it at start. A Pool built from invalid options refuses every Client.
func (o PoolOptions) Validate() error {
	_, _, err := o.allowlists()
	return err
}

func (o PoolOptions) allowlists() (env, auth *Allowlist, err error) {
	envEntries, authEntries := o.AllowedEnvironmentDomains, o.AllowedAuthorityHosts
	if len(envEntries) == 0 {
		envEntries = DefaultEnvironmentDomains
	}
	if len(authEntries) == 0 {
		authEntries = DefaultAuthorityHosts
	}
	if env, err = ParseAllowlist(envEntries); err != nil {
		return nil, nil, fmt.Errorf("--%s: %w", FlagAllowedEnvironmentDomains, err)
	}
	if auth, err = ParseAllowlist(authEntries); err != nil {
		return nil, nil, fmt.Errorf("--%s: %w", FlagAllowedAuthorityHosts, err)
	}
	return env, auth, nil
}

// Client returns a client of environmentURL (normalized, e.g. https://contoso.crm4.dynamics.com
// or https://host:8443/org) signing in with creds and trusting caBundlePEM in addition to
// the system roots. It is cheap: build one per reconcile. It does not sign in yet.
func (p *Pool) Client(environmentURL string, creds Credentials, caBundlePEM []byte) (*Client, error) {
	const op = "NewClient"
	envURL, err := cleanEnvironmentURL(environmentURL)
	if err != nil {
		return nil, newError(op, ReasonInvalidArgument, 0, "", err.Error(), nil)
	}
	if err := creds.validate(op); err != nil {
		return nil, err
	}
	// Destinations are checked here, before any connection, and again by the transport
	// for every request.
	if p.allowErr != nil {
		return nil, newError(op, ReasonDestinationNotAllowed, 0, "", clean(p.allowErr.Error(), maxMessageLen), nil)
	}
	envU, _ := url.Parse(envURL)
	if e := checkDestination(op, p.envAllow, FlagAllowedEnvironmentDomains, "environment", envU); e != nil {
		return nil, e
	}
	authU, err := url.Parse(creds.authorityHost())
	if err != nil || authU.User != nil || !strings.EqualFold(authU.Scheme, "https") {
		return nil, newError(op, ReasonInvalidArgument, 0, "", "the authority host must be an https URL without user info", nil)
	}
	if e := checkDestination(op, p.authAllow, FlagAllowedAuthorityHosts, "sign-in authority", authU); e != nil {
		return nil, e
	}
	caKey := hashBytes(caBundlePEM)

	p.mu.Lock()
	defer p.mu.Unlock()
	hc, ok := p.http[caKey]
	if !ok {
		if hc, err = newHTTPClients(caBundlePEM, p.opts.Timeout, p.envAllow, p.authAllow); err != nil {
			e, _ := asError(err)
			e.Operation = op
			return nil, e
		}
		p.http[caKey] = hc
	}
	scope := creds.scope(envURL)
	id := tokenIdentity{
		authority: strings.ToLower(creds.authorityHost()), tenant: strings.ToLower(creds.tenant()),
		client: strings.ToLower(creds.clientID()), user: strings.ToLower(creds.Username),
		resource: scope, caKey: caKey, source: creds.Source,
	}
	fp := creds.Fingerprint()
	entry := p.tokens[id]
	if entry == nil || entry.fingerprint != fp {
		// New or rotated credentials: the old token (and the old secret) is dropped. Two
		// objects naming one identity with different secrets (one of them stale) replace
		// each other here: still correct, they just sign in more often.
		entry = &tokenEntry{fingerprint: fp, source: newTokenSource(creds, scope, probeTransport{client: hc.authority, authority: authU}, p.opts.Now)}
		p.tokens[id] = entry
	}
	return &Client{
		pool:   p,
		env:    p.environmentLocked(envURL),
		envURL: envURL,
		http:   hc.env,
		tokens: entry.source,
		red:    entry.source.red,
	}, nil
}

// ThrottledUntil is when the environment's last 429 Retry-After ends; zero when it was
// never throttled. Every caller of the environment waits at least that long.
func (p *Pool) ThrottledUntil(environmentURL string) time.Time {
	envURL, err := cleanEnvironmentURL(environmentURL)
	if err != nil {
		return time.Time{}
	}
	p.mu.Lock()
	env := p.envs[envURL]
	p.mu.Unlock()
	if env == nil {
		return time.Time{}
	}
	env.mu.Lock()
	defer env.mu.Unlock()
	return env.throttledUntil
}

func (p *Pool) environmentLocked(envURL string) *environment {
	if env, ok := p.envs[envURL]; ok {
		return env
	}
	env := &environment{url: envURL, onThrottle: p.opts.OnThrottle, sem: make(chan struct{}, p.opts.MaxConcurrentPerEnvironment)}
	if p.opts.RequestsPerSecondPerEnvironment > 0 {
		env.limiter = rate.NewLimiter(rate.Limit(p.opts.RequestsPerSecondPerEnvironment), p.opts.BurstPerEnvironment)
	}
	p.envs[envURL] = env
	return env
}

// throttle records a 429: nobody sends to the environment before until.
func (env *environment) throttle(until time.Time) {
	if env.extend(until) && env.onThrottle != nil {
		env.onThrottle(env.url, until)
	}
}

// extend moves the throttle window's end to until when that is later, and says so.
func (env *environment) extend(until time.Time) bool {
	env.mu.Lock()
	defer env.mu.Unlock()
	if !until.After(env.throttledUntil) {
		return false
	}
	env.throttledUntil = until
	return true
}

// Throttle holds every caller of the environment until until: a window an earlier
// process (or leader) was given, read back after a restart.
func (p *Pool) Throttle(environmentURL string, until time.Time) {
	envURL, err := cleanEnvironmentURL(environmentURL)
	if err != nil {
		return
	}
	p.mu.Lock()
	env := p.environmentLocked(envURL)
	p.mu.Unlock()
	env.extend(until)
}

func (env *environment) throttleWait(now time.Time) time.Duration {
	env.mu.Lock()
	defer env.mu.Unlock()
	return env.throttledUntil.Sub(now)
}

// acquire takes a concurrency slot and a rate token; release returns the slot.
func (env *environment) acquire(ctx context.Context) error {
	select {
	case env.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if env.limiter != nil {
		if err := env.limiter.Wait(ctx); err != nil {
			<-env.sem
			return err
		}
	}
	return nil
}

func (env *environment) release() { <-env.sem }

// cleanEnvironmentURL checks an already normalized URL and drops a trailing slash, so
// "https://x/" and "https://x" share state.
func cleanEnvironmentURL(raw string) (string, error) {
	s := strings.TrimRight(strings.TrimSpace(raw), "/")
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errInvalidURL
	}
	return s, nil
}

var errInvalidURL = errors.New("the environment URL must be an absolute http(s) URL without user info, query or fragment")

func hashBytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
