package dataverse

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// throttleWaits is the sample count and sum of salesconnection_dataverse_throttle_wait_seconds
// for one environment, as the manager's /metrics endpoint would show them.
func throttleWaits(t *testing.T, environment string) (count uint64, seconds float64) {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != "salesconnection_dataverse_throttle_wait_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "environment" && l.GetValue() == environment {
					return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
				}
			}
		}
	}
	return 0, 0
}

// fakeEnvironmentLabel is the environment label of the fake server: its host and port,
// not the /org path.
func fakeEnvironmentLabel(t *testing.T, f *fakeServer) string {
	t.Helper()
	u, err := url.Parse(f.envURL())
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// TestThrottleMetricsCountTheRetryAfterWait: a 429 with Retry-After moves the
// environment's throttling counter and records the wait. Each fake server listens on
// its own port, so its series are its own.
func TestThrottleMetricsCountTheRetryAfterWait(t *testing.T) {
	f := newFakeServer(t)
	clock := newFakeClock()
	f.handle(sequence(status(429, "7"), ok(whoAmIAnswer)))
	c := f.client(t, testPool(clock), secretCreds(f))
	env := fakeEnvironmentLabel(t, f)

	if _, err := c.WhoAmI(context.Background()); err != nil {
		t.Fatalf("WhoAmI: %v", err)
	}
	if v := testutil.ToFloat64(throttledTotal.WithLabelValues(env)); v != 1 {
		t.Errorf("salesconnection_dataverse_throttled_total{environment=%q} = %v, want 1", env, v)
	}
	if n, s := throttleWaits(t, env); n != 1 || s < 7 {
		t.Errorf("throttle_wait_seconds{environment=%q}: %d waits, %vs; want 1 wait of at least the Retry-After 7s", env, n, s)
	}
}

// TestThrottleMetricsCountThrottledCalls: calls that give up on a Retry-After longer than
// their budget count too, and so does the wait of a caller held back by another's 429.
func TestThrottleMetricsCountThrottledCalls(t *testing.T) {
	f := newFakeServer(t)
	clock := newFakeClock()
	f.handle(sequence(status(429, "100"), ok(whoAmIAnswer)))
	c := f.client(t, testPool(clock), secretCreds(f))
	env := fakeEnvironmentLabel(t, f)
	counter := func() float64 { return testutil.ToFloat64(throttledTotal.WithLabelValues(env)) }

	// The 429 itself: 100s is beyond the 30s budget, so the call returns Throttled.
	if _, err := c.WhoAmI(context.Background()); ReasonOf(err) != ReasonThrottled {
		t.Fatalf("err = %v, want Throttled", err)
	}
	if v := counter(); v != 1 {
		t.Errorf("after the 429: counter = %v, want 1", v)
	}
	// A call inside the window returns at once, unsent.
	if _, err := c.WhoAmI(context.Background()); ReasonOf(err) != ReasonThrottled {
		t.Fatalf("err = %v, want Throttled", err)
	}
	if v := counter(); v != 2 {
		t.Errorf("after a call refused in the window: counter = %v, want 2", v)
	}
	if n, _ := throttleWaits(t, env); n != 0 {
		t.Errorf("%d waits recorded, want none: nobody waited", n)
	}
	// 5s left: the call waits for the window, then sends.
	clock.advance(95 * time.Second)
	if _, err := c.WhoAmI(context.Background()); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if v := counter(); v != 3 {
		t.Errorf("after a call that waited: counter = %v, want 3", v)
	}
	if n, s := throttleWaits(t, env); n != 1 || s < 5 || s > 5.5 {
		t.Errorf("%d waits, %vs; want 1 of the remaining 5s plus at most 10%% jitter", n, s)
	}
}

func TestEnvironmentLabelIsTheHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://Contoso.crm4.dynamics.com":  "contoso.crm4.dynamics.com",
		"https://dataverse.example:8443/org": "dataverse.example:8443",
		"::not a url":                        "unknown",
	} {
		if got := environmentLabel(in); got != want {
			t.Errorf("environmentLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
