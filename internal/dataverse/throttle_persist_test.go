package dataverse

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestThrottleWindowsLeaveAndReturn: a 429's window is handed to OnThrottle (to be kept
// beyond the process), and a pool given a window by Throttle (a restarted operator
// reading it back) sends nothing to the environment before it ends.
func TestThrottleWindowsLeaveAndReturn(t *testing.T) {
	f := newFakeServer(t)
	clock := newFakeClock()
	var mu sync.Mutex
	var sent []time.Time
	first := true
	f.handle(func(w http.ResponseWriter, r *http.Request, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, clock.Now())
		if first {
			first = false
			status(429, "7")(w)
			return
		}
		ok(whoAmIAnswer)(w)
	})
	var recorded []time.Time
	var recordedURL string
	p := testPool(clock, func(o *PoolOptions) {
		o.OnThrottle = func(url string, until time.Time) { recordedURL, recorded = url, append(recorded, until) }
	})
	start := clock.Now()
	if _, err := f.client(t, p, secretCreds(f)).WhoAmI(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(recorded) != 1 || !recorded[0].Equal(start.Add(7*time.Second)) || recordedURL != f.envURL() {
		t.Fatalf("OnThrottle saw %v for %q, want one window ending %v for %q", recorded, recordedURL, start.Add(7*time.Second), f.envURL())
	}

	// A new process: nothing in memory, the window read back.
	restarted := testPool(clock)
	restarted.Throttle(f.envURL()+"/", recorded[0])
	before := len(sent)
	if _, err := f.client(t, restarted, secretCreds(f)).WhoAmI(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(sent) != before+1 || sent[before].Before(recorded[0]) {
		t.Errorf("the restarted pool sent at %v, inside the window ending %v", sent[before], recorded[0])
	}
	// A window already over holds nobody.
	restarted.Throttle(f.envURL(), start)
	if got := restarted.ThrottledUntil(f.envURL()); !got.Equal(recorded[0]) {
		t.Errorf("an older window replaced a later one: %v", got)
	}
}
