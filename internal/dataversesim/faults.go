package dataversesim

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Faults are the fault knobs of an environment (the Web API) or of the simulator (the
// token service). All are safe to change while serving.
type Faults struct {
	mu      sync.Mutex
	latency time.Duration
	// failNext: operation → queued failures.
	failNext map[string][]injected
	// errorRate: status → fraction of requests that fail with it.
	errorRate map[int]float64
	// throttle: requests allowed per principal per window before 429.
	throttleLimit      int
	throttleWindow     time.Duration
	throttleRetryAfter time.Duration
	windows            map[string]*throttleWindow
	tokenDown          bool
	// dropRate: fraction of requests whose connection is dropped without an answer.
	dropRate float64
}

// SetDropRate makes a random fraction of Web API requests end without an answer: the
// connection (or, over HTTP/2, the stream) is reset, as a failing load balancer does.
func (f *Faults) SetDropRate(fraction float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropRate = fraction
}

// drop decides whether this request's connection is dropped.
func (f *Faults) drop() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropRate > 0 && rand.Float64() < f.dropRate
}

type injected struct {
	status        int
	code, message string
}

// defaultRetryAfter is the Retry-After of an injected 429 when ThrottleAfter set none:
// Dataverse never answers 429 without one.
const defaultRetryAfter = time.Second

const (
	codeRequestsExceeded = "0x80072322"
	msgRequestsExceeded  = "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
)

// throttled is a 429 as Dataverse's service protection limits answer it.
func throttled(code string) *injected {
	if code == "" {
		code = codeRequestsExceeded
	}
	return &injected{status: http.StatusTooManyRequests, code: code, message: msgRequestsExceeded}
}

type throttleWindow struct {
	start time.Time
	count int
}

func newFaults() *Faults {
	return &Faults{failNext: map[string][]injected{}, errorRate: map[int]float64{}, windows: map[string]*throttleWindow{}}
}

// SetLatency adds a delay to every Web API request.
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// FailNext makes the next n requests of an operation (as named in the request log) fail
// with status and a Dataverse error code. A 429 carries Retry-After and, when code is
// empty, the service protection code for requests.
func (f *Faults) FailNext(operation string, status int, code string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	inj := injected{status: status, code: code, message: "Simulated failure (" + strings.ToLower(operation) + ")."}
	if status == http.StatusTooManyRequests {
		inj = *throttled(code)
	}
	for i := 0; i < n; i++ {
		f.failNext[operation] = append(f.failNext[operation], inj)
	}
}

// SetErrorRate makes a random fraction of requests fail with status (0 turns it off); a
// 429 comes with Retry-After.
func (f *Faults) SetErrorRate(status int, fraction float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fraction <= 0 {
		delete(f.errorRate, status)
		return
	}
	f.errorRate[status] = fraction
}

// ThrottleAfter answers 429 with Retry-After once a principal has sent n requests in a
// window, like Dataverse's service protection limits; n <= 0 turns it off.
func (f *Faults) ThrottleAfter(n int, window, retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttleLimit, f.throttleWindow, f.throttleRetryAfter = n, window, retryAfter
	f.windows = map[string]*throttleWindow{}
}

// TokenEndpointOutage makes the token endpoint answer 503 (for every tenant).
func (f *Faults) TokenEndpointOutage(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenDown = down
}

func (f *Faults) tokenOutage() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenDown
}

func (f *Faults) delay() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latency
}

// inject returns the failure to answer for this request, if any.
func (f *Faults) inject(operation, principal string, now time.Time) (*injected, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if q := f.failNext[operation]; len(q) > 0 {
		f.failNext[operation] = q[1:]
		return &q[0], f.retryAfterLocked(q[0].status)
	}
	for status, fraction := range f.errorRate {
		if rand.Float64() >= fraction {
			continue
		}
		if status == http.StatusTooManyRequests {
			return throttled(""), f.retryAfterLocked(status)
		}
		return &injected{status: status, code: "0x80040216", message: "An unexpected error occurred (simulated)."}, 0
	}
	if f.throttleLimit > 0 {
		w := f.windows[principal]
		if w == nil || now.Sub(w.start) >= f.throttleWindow {
			w = &throttleWindow{start: now}
			f.windows[principal] = w
		}
		w.count++
		if w.count > f.throttleLimit {
			wait := f.throttleRetryAfter
			if rest := f.throttleWindow - now.Sub(w.start); rest < wait || wait <= 0 {
				wait = rest
			}
			return throttled(""), wait
		}
	}
	return nil, 0
}

// retryAfterLocked is the Retry-After of an injected failure: ThrottleAfter's, or
// defaultRetryAfter, for a 429; none otherwise.
func (f *Faults) retryAfterLocked(status int) time.Duration {
	if status != http.StatusTooManyRequests {
		return 0
	}
	if f.throttleRetryAfter > 0 {
		return f.throttleRetryAfter
	}
	return defaultRetryAfter
}
