package dataversesim

import (
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// faults are an environment's fault knobs. All are safe to change while serving.
type faults struct {
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
}

type injected struct {
	status        int
	code, message string
}

type throttleWindow struct {
	start time.Time
	count int
}

func newFaults() *faults {
	return &faults{failNext: map[string][]injected{}, errorRate: map[int]float64{}, windows: map[string]*throttleWindow{}}
}

// SetLatency adds a delay to every Web API request.
func (f *faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// FailNext makes the next n requests of an operation (as named in the request log) fail
// with status and a Dataverse error code.
func (f *faults) FailNext(operation string, status int, code string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i++ {
		f.failNext[operation] = append(f.failNext[operation], injected{status: status, code: code,
			message: "Simulated failure (" + strings.ToLower(operation) + ")."})
	}
}

// SetErrorRate makes a random fraction of requests fail with status (0 turns it off).
func (f *faults) SetErrorRate(status int, fraction float64) {
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
func (f *faults) ThrottleAfter(n int, window, retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttleLimit, f.throttleWindow, f.throttleRetryAfter = n, window, retryAfter
	f.windows = map[string]*throttleWindow{}
}

// TokenEndpointOutage makes the token endpoint answer 503 (for every tenant).
func (f *faults) TokenEndpointOutage(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenDown = down
}

func (f *faults) tokenOutage() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenDown
}

func (f *faults) delay() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latency
}

// inject returns the failure to answer for this request, if any.
func (f *faults) inject(operation, principal string, now time.Time) (*injected, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if q := f.failNext[operation]; len(q) > 0 {
		f.failNext[operation] = q[1:]
		return &q[0], 0
	}
	for status, fraction := range f.errorRate {
		if rand.Float64() < fraction {
			return &injected{status: status, code: "0x80040216", message: "An unexpected error occurred (simulated)."}, 0
		}
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
			return &injected{status: 429, code: "0x80072322", message: "Number of requests exceeded the limit of 6000 over time window of 300 seconds."}, wait
		}
	}
	return nil, 0
}
