package dataverse

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sequence answers the Dataverse requests with the given handlers in turn; the last
// one repeats.
func sequence(hs ...func(w http.ResponseWriter)) func(http.ResponseWriter, *http.Request, []byte) {
	var n atomic.Int64
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		i := int(n.Add(1)) - 1
		if i >= len(hs) {
			i = len(hs) - 1
		}
		hs[i](w)
	}
}

func status(code int, retryAfter string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		if code == http.StatusTooManyRequests {
			writeJSON(w, code, odataError("0x80072322", "Number of requests exceeded the limit of 6000 over time window of 300 seconds."))
			return
		}
		writeJSON(w, code, odataError("0x80040216", "An unexpected error occurred."))
	}
}

func ok(v any) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if v == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

var whoAmIAnswer = map[string]string{"UserId": userID, "BusinessUnitId": buID, "OrganizationId": orgID}

func TestReadsRetryTransientFailures(t *testing.T) {
	f := newFakeServer(t)
	f.handle(sequence(status(503, ""), status(502, ""), ok(whoAmIAnswer)))
	clock := newFakeClock()
	c := f.client(t, testPool(clock), secretCreds(f))
	if _, err := c.WhoAmI(context.Background()); err != nil {
		t.Fatalf("WhoAmI: %v", err)
	}
	if n := len(f.dataverseRequests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	sleeps := clock.slept()
	if len(sleeps) != 2 {
		t.Fatalf("slept %v, want two backoffs", sleeps)
	}
	// Exponential with equal jitter: [base/2, base], then [base, 2*base].
	if sleeps[0] < 50*time.Millisecond || sleeps[0] > 100*time.Millisecond || sleeps[1] < 100*time.Millisecond || sleeps[1] > 200*time.Millisecond {
		t.Errorf("backoffs %v outside the jitter bounds", sleeps)
	}
}

func TestReadsGiveUpAfterMaxAttempts(t *testing.T) {
	f := newFakeServer(t)
	f.handle(sequence(status(503, "")))
	c := f.client(t, testPool(newFakeClock()), secretCreds(f))
	_, err := c.RetrieveVersion(context.Background())
	if ReasonOf(err) != ReasonServerError || !IsTransient(err) {
		t.Fatalf("err = %v, want transient ServerError", err)
	}
	if n := len(f.dataverseRequests()); n != 3 {
		t.Errorf("%d requests, want MaxAttempts = 3", n)
	}
}

func TestTerminalErrorsAreNotRetried(t *testing.T) {
	f := newFakeServer(t)
	f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) {
		writeJSON(w, http.StatusForbidden, odataError("0x80040220", "Principal user is missing prvReadSolution privilege."))
	})
	c := f.client(t, testPool(newFakeClock()), secretCreds(f))
	_, err := c.GetSolution(context.Background(), "x")
	if ReasonOf(err) != ReasonPrivilegeDenied || IsTransient(err) {
		t.Fatalf("err = %v, want terminal PrivilegeDenied", err)
	}
	if n := len(f.dataverseRequests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestThrottleWaitsForRetryAfter(t *testing.T) {
	f := newFakeServer(t)
	clock := newFakeClock()
	var mu sync.Mutex
	var at []time.Time
	first := true
	f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, clock.Now())
		if first {
			first = false
			status(429, "7")(w)
			return
		}
		ok(whoAmIAnswer)(w)
	})
	p := testPool(clock)
	c := f.client(t, p, secretCreds(f))
	start := clock.Now()
	if _, err := c.WhoAmI(context.Background()); err != nil {
		t.Fatalf("WhoAmI: %v", err)
	}
	if len(at) != 2 {
		t.Fatalf("%d requests, want 2", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < 7*time.Second {
		t.Errorf("retried after %v, before Retry-After 7s", gap)
	}
	if got := p.ThrottledUntil(f.envURL()); !got.Equal(start.Add(7 * time.Second)) {
		t.Errorf("ThrottledUntil = %v, want %v", got, start.Add(7*time.Second))
	}
	if got := p.ThrottledUntil(f.envURL() + "/"); got.IsZero() {
		t.Errorf("ThrottledUntil must ignore a trailing slash")
	}
}

// TestThrottleIsSharedByTheEnvironment: a 429 to one principal holds back every client
// of the environment; beyond the call's wait budget the call returns at once, unsent.
func TestThrottleIsSharedByTheEnvironment(t *testing.T) {
	f := newFakeServer(t)
	clock := newFakeClock()
	f.handle(sequence(status(429, "100"), ok(whoAmIAnswer)))
	p := testPool(clock)
	a := f.client(t, p, secretCreds(f))
	b := f.client(t, p, Credentials{Type: AuthOAuth, TenantID: testTenant, Username: testUser, Password: testPass, AuthorityHost: f.authority()})

	_, err := a.WhoAmI(context.Background())
	if ReasonOf(err) != ReasonThrottled || !IsTransient(err) || retryAfterOf(err) != 100*time.Second {
		t.Fatalf("a: err = %v, want Throttled with RetryAfter 100s", err)
	}
	_, err = b.WhoAmI(context.Background())
	if ReasonOf(err) != ReasonThrottled || retryAfterOf(err) != 100*time.Second {
		t.Fatalf("b: err = %v, want Throttled with the environment's remaining window", err)
	}
	if n := len(f.dataverseRequests()); n != 1 {
		t.Fatalf("%d requests, want only the throttled one", n)
	}

	clock.advance(95 * time.Second) // 5s left: within b's budget, so b waits and sends
	before := len(clock.slept())
	if _, err := b.WhoAmI(context.Background()); err != nil {
		t.Fatalf("b after the window: %v", err)
	}
	if s := clock.slept()[before:]; len(s) != 1 || s[0] < 5*time.Second || s[0] > 5500*time.Millisecond {
		t.Errorf("b slept %v, want the remaining 5s plus at most 10%% jitter", s)
	}

	// Another environment is not affected.
	other := testPool(clock)
	if !other.ThrottledUntil(f.envURL()).IsZero() {
		t.Errorf("a new pool has no throttle state")
	}
}

func TestThrottleWaitRespectsDeadline(t *testing.T) {
	f := newFakeServer(t)
	clock := newFakeClock()
	f.handle(sequence(status(429, "5"), ok(whoAmIAnswer)))
	c := f.client(t, testPool(clock), secretCreds(f))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := c.WhoAmI(ctx)
	if ReasonOf(err) != ReasonThrottled || retryAfterOf(err) < 4*time.Second {
		t.Fatalf("err = %v, want Throttled: the wait outlives the deadline", err)
	}
}

func TestWritesRetryOnlyThrottling(t *testing.T) {
	t.Run("503 not retried", func(t *testing.T) {
		f := newFakeServer(t)
		f.handle(sequence(status(503, ""), ok(nil)))
		c := f.client(t, testPool(newFakeClock()), secretCreds(f))
		err := c.AssociateRole(context.Background(), userID, roleID)
		if ReasonOf(err) != ReasonServerError || !IsTransient(err) {
			t.Fatalf("err = %v, want transient ServerError", err)
		}
		if n := len(f.dataverseRequests()); n != 1 {
			t.Errorf("%d requests, want 1: a write that may have been processed is not resent", n)
		}
	})
	t.Run("429 retried", func(t *testing.T) {
		f := newFakeServer(t)
		f.handle(sequence(status(429, "1"), ok(nil)))
		clock := newFakeClock()
		c := f.client(t, testPool(clock), secretCreds(f))
		if err := c.SetSOPIntegration(context.Background(), orgID, true); err != nil {
			t.Fatalf("SetSOPIntegration: %v", err)
		}
		if n := len(f.dataverseRequests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
		var total time.Duration
		for _, s := range clock.slept() {
			total += s
		}
		if total < time.Second {
			t.Errorf("waited %v, want at least Retry-After", total)
		}
	})
}

func TestImportIsNeverRetried(t *testing.T) {
	for _, tt := range []struct {
		name      string
		answer    func(w http.ResponseWriter)
		reason    Reason
		transient bool
	}{
		{"429", status(429, "1"), ReasonThrottled, true},
		{"503", status(503, ""), ReasonServerError, true},
		{"another import running", func(w http.ResponseWriter) {
			writeJSON(w, 400, odataError("0x80071151", "Cannot start another solution import while one is in progress."))
		}, ReasonImportInProgress, true},
		{"privilege", func(w http.ResponseWriter) {
			writeJSON(w, 403, odataError("0x80040220", "Principal user is missing prvImportSolution privilege."))
		}, ReasonPrivilegeDenied, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t)
			f.handle(sequence(tt.answer, ok(map[string]string{"AsyncOperationId": opID, "ImportJobKey": jobKey})))
			p := testPool(newFakeClock())
			c := f.client(t, p, secretCreds(f))
			_, err := c.ImportSolutionAsync(context.Background(), []byte("zip"))
			if ReasonOf(err) != tt.reason || IsTransient(err) != tt.transient {
				t.Fatalf("err = %v, want %s (transient %v)", err, tt.reason, tt.transient)
			}
			if n := len(f.dataverseRequests()); n != 1 {
				t.Errorf("%d import requests, want exactly 1", n)
			}
			if tt.reason == ReasonThrottled && p.ThrottledUntil(f.envURL()).IsZero() {
				t.Errorf("the import's 429 must still throttle the environment")
			}
		})
	}
}

func TestUnauthorizedRefreshesTokenOnce(t *testing.T) {
	f := newFakeServer(t)
	f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) { ok(whoAmIAnswer)(w) })
	c := f.client(t, testPool(newFakeClock()), secretCreds(f))
	if _, err := c.WhoAmI(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.revokeAll() // the cached token is now refused with 401
	if _, err := c.WhoAmI(context.Background()); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	reqs := f.dataverseRequests()
	if len(reqs) != 3 || f.tokenRequests() != 2 {
		t.Fatalf("%d requests and %d token requests, want 3 and 2", len(reqs), f.tokenRequests())
	}
	if reqs[1].Header.Get("Authorization") == reqs[2].Header.Get("Authorization") {
		t.Errorf("the retry must carry a fresh token")
	}

	// A token Dataverse refuses even when fresh: one refresh, then a terminal error.
	f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.WriteHeader(http.StatusUnauthorized)
	})
	_, err := c.WhoAmI(context.Background())
	if ReasonOf(err) != ReasonAuthenticationFailed || IsTransient(err) {
		t.Fatalf("err = %v, want terminal AuthenticationFailed", err)
	}
	if n := len(f.dataverseRequests()) - len(reqs); n != 2 {
		t.Errorf("%d requests, want the request and one retry", n)
	}
	if f.tokenRequests() != 3 {
		t.Errorf("%d token requests, want one more", f.tokenRequests())
	}
}

func TestConcurrencyIsLimitedPerEnvironment(t *testing.T) {
	f := newFakeServer(t)
	var inFlight, peak atomic.Int64
	release := make(chan struct{})
	f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
		ok(whoAmIAnswer)(w)
	})
	p := testPool(newFakeClock(), func(o *PoolOptions) { o.MaxConcurrentPerEnvironment = 2 })
	c := f.client(t, p, secretCreds(f))
	if _, err := c.tokens.get(context.Background(), "warmup"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := c.WhoAmI(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	// Release one request at a time once the limit is reached (or all that remain are
	// in), after a moment in which a request beyond the limit would have come in too.
	for left := int64(8); left > 0; left-- {
		deadline := time.Now().Add(10 * time.Second)
		for inFlight.Load() < min(2, left) {
			if time.Now().After(deadline) {
				t.Fatalf("%d requests in flight, want %d", inFlight.Load(), min(2, left))
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond)
		release <- struct{}{}
	}
	wg.Wait()
	if got := peak.Load(); got != 2 {
		t.Errorf("peak concurrency %d, want 2", got)
	}
}

func TestRateLimiter(t *testing.T) {
	f := newFakeServer(t)
	f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) { ok(whoAmIAnswer)(w) })
	p := testPool(newFakeClock(), func(o *PoolOptions) { o.RequestsPerSecondPerEnvironment = 50; o.BurstPerEnvironment = 1 })
	c := f.client(t, p, secretCreds(f))
	start := time.Now()
	for range 6 {
		if _, err := c.WhoAmI(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("6 requests at 50/s with burst 1 took %v, want >= 100ms", d)
	}
}

func TestBackoffBounds(t *testing.T) {
	p := RetryPolicy{BaseDelay: time.Second, MaxDelay: 4 * time.Second}.withDefaults()
	for attempt, max := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 10: 4 * time.Second} {
		for range 50 {
			d := p.backoff(attempt, 0)
			if d < max/2 || d > max {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", attempt, d, max/2, max)
			}
		}
	}
	if d := p.backoff(1, time.Minute); d != time.Minute {
		t.Errorf("Retry-After must be the floor, got %v", d)
	}
}

func TestCanceledContextStopsRetries(t *testing.T) {
	f := newFakeServer(t)
	f.handle(sequence(status(503, "")))
	ctx, cancel := context.WithCancel(context.Background())
	p := testPool(newFakeClock(), func(o *PoolOptions) {
		o.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	})
	c := f.client(t, p, secretCreds(f))
	_, err := c.WhoAmI(ctx)
	if ReasonOf(err) != ReasonCanceled {
		t.Fatalf("err = %v, want Canceled", err)
	}
	if n := len(f.dataverseRequests()); n != 1 {
		t.Errorf("%d requests after cancel, want 1", n)
	}
}
