package dataverse

import (
	"context"
	"testing"
	"time"
)

// TestInvalidateHonorsContext: invalidate waits for a sign-in in progress only as long
// as the caller's context allows, and drops the token once it gets the lock.
func TestInvalidateHonorsContext(t *testing.T) {
	ts := newTokenSource(Credentials{Type: AuthClientSecret}, "https://org/.default", nil, time.Now)
	ts.token, ts.refreshAt = "old", time.Now().Add(time.Hour)

	ts.lock <- struct{}{} // a sign-in in progress
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ts.invalidate(ctx, "WhoAmI", "old") }()
	cancel()
	select {
	case err := <-done:
		if ReasonOf(err) != ReasonCanceled {
			t.Errorf("invalidate after cancel = %v, want Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("invalidate ignored the canceled context")
	}
	if ts.token != "old" {
		t.Errorf("a canceled invalidate dropped the token")
	}

	<-ts.lock // the sign-in ends
	if err := ts.invalidate(context.Background(), "WhoAmI", "old"); err != nil || ts.token != "" || ts.cred != nil {
		t.Errorf("invalidate = %v, token %q: want the token dropped", err, ts.token)
	}
}
