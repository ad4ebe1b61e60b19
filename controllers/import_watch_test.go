package controllers

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// jobsOfOneEnvironment answers RunningImports for a poller goroutine: the job runs for
// its first polls, then ends.
type jobsOfOneEnvironment struct {
	*fakeDataverse
	mu sync.Mutex
	// job runs until runFor polls have seen it.
	job      dataverse.ImportJob
	runFor   int
	polls    int
	inFlight int
	overlap  bool
	err      error
}

func (j *jobsOfOneEnvironment) RunningImports(context.Context) ([]dataverse.ImportJob, error) {
	j.mu.Lock()
	j.polls++
	j.inFlight++
	j.overlap = j.overlap || j.inFlight > 1
	polls, err := j.polls, j.err
	j.mu.Unlock()
	time.Sleep(time.Millisecond) // a request takes time: overlapping polls would show
	j.mu.Lock()
	j.inFlight--
	j.mu.Unlock()
	if err != nil || polls > j.runFor {
		return nil, err
	}
	return []dataverse.ImportJob{j.job}, nil
}

func (j *jobsOfOneEnvironment) counts() (int, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.polls, j.overlap
}

func waiter(i int) *salesv1alpha1.SalesConnection {
	obj := &salesv1alpha1.SalesConnection{}
	obj.Namespace, obj.Name = "erp", fmt.Sprintf("conn-%d", i)
	return obj
}

// requeued collects n requeues from the watch, failing after a generous deadline.
func requeued(t *testing.T, w *importWatch, n int) []types.NamespacedName {
	t.Helper()
	var keys []types.NamespacedName
	deadline := time.After(10 * time.Second)
	for len(keys) < n {
		select {
		case e := <-w.events:
			keys = append(keys, types.NamespacedName{Namespace: e.Object.GetNamespace(), Name: e.Object.GetName()})
		case <-deadline:
			t.Fatalf("%d of %d waiting connections requeued", len(keys), n)
		}
	}
	return keys
}

func TestOnePollerPerEnvironmentRequeuesEveryWaiter(t *testing.T) {
	for _, waiters := range []int{1, 50} {
		t.Run(fmt.Sprintf("%d waiting", waiters), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Registering is microseconds; the first poll comes after 20ms.
			w := newImportWatch(20*time.Millisecond, 40*time.Millisecond, logr.Discard())
			w.start(ctx)
			dv := &jobsOfOneEnvironment{fakeDataverse: newFakeDataverse(), runFor: 3,
				job: dataverse.ImportJob{ID: opID, CreatedOn: time.Now()}}
			for i := range waiters {
				w.wait("https://contoso.crm4.dynamics.com", dv, opID, waiter(i))
			}
			keys := requeued(t, w, waiters)
			polls, overlap := dv.counts()
			// The job ran for three polls and the fourth found it ended, however many waited.
			if polls != 4 || overlap {
				t.Errorf("%d polls (overlapping: %v) for %d waiting connections; want 4, one at a time", polls, overlap, waiters)
			}
			slices.SortFunc(keys, compareKeys)
			if len(slices.Compact(keys)) != waiters {
				t.Errorf("requeued %v", keys)
			}
		})
	}
}

func compareKeys(a, b types.NamespacedName) int {
	switch {
	case a.String() < b.String():
		return -1
	case a.String() > b.String():
		return 1
	}
	return 0
}

func TestPollCadenceFollowsTheImportsProgress(t *testing.T) {
	w := newImportWatch(time.Second, 30*time.Second, logr.Discard())
	mine := "10000000-0000-0000-0000-00000000000a"
	cases := []struct {
		name      string
		jobKey    string
		jobs      []dataverse.ImportJob
		seen      bool
		since     time.Duration
		wantEnded bool
		want      time.Duration // the next interval, from 2s
	}{
		{name: "half done after 10s: look again in half the 10s left", jobKey: mine,
			jobs: []dataverse.ImportJob{{ID: mine, CreatedOn: time.Now().Add(-10 * time.Second), Progress: 50}}, want: 5 * time.Second},
		{name: "a long import just started: the longest interval", jobKey: mine,
			jobs: []dataverse.ImportJob{{ID: mine, CreatedOn: time.Now().Add(-6 * time.Second), Progress: 1}}, want: 30 * time.Second},
		{name: "nearly done: the shortest interval", jobKey: mine,
			jobs: []dataverse.ImportJob{{ID: mine, CreatedOn: time.Now().Add(-60 * time.Second), Progress: 99.5}}, want: time.Second},
		{name: "no progress reported: growing", jobKey: mine,
			jobs: []dataverse.ImportJob{{ID: mine, CreatedOn: time.Now()}}, want: 3 * time.Second},
		{name: "ours ended after it was seen", jobKey: mine, seen: true, wantEnded: true},
		{name: "ours not seen yet: maybe queued", jobKey: mine, want: 3 * time.Second},
		{name: "ours never showed up: the waiters look for themselves", jobKey: mine, since: time.Minute, wantEnded: true},
		{name: "someone else's still runs", jobs: []dataverse.ImportJob{{ID: "x", CreatedOn: time.Now()}}, want: 3 * time.Second},
		{name: "someone else's ended", wantEnded: true},
		{name: "an import job hours old is abandoned", jobs: []dataverse.ImportJob{{ID: "x", CreatedOn: time.Now().Add(-3 * time.Hour)}}, wantEnded: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := &envImport{jobKey: tc.jobKey, seen: tc.seen, since: time.Now().Add(-tc.since)}
			ended, next := w.judge(e, tc.jobs, 2*time.Second)
			if ended != tc.wantEnded {
				t.Fatalf("ended = %v, want %v", ended, tc.wantEnded)
			}
			if !ended && (next < tc.want-100*time.Millisecond || next > tc.want+100*time.Millisecond) {
				t.Errorf("next poll in %s, want about %s", next, tc.want)
			}
		})
	}
}

func TestWaitersCheckThemselvesWhenImportJobsCannotBeRead(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := newImportWatch(time.Millisecond, 5*time.Millisecond, logr.Discard())
	w.start(ctx)
	dv := &jobsOfOneEnvironment{fakeDataverse: newFakeDataverse(), runFor: 1000,
		err: &dataverse.Error{Reason: dataverse.ReasonPrivilegeDenied, Kind: dataverse.Terminal}}
	w.wait("https://contoso.crm4.dynamics.com", dv, opID, waiter(1))
	// Requeued at the poller's cadence, again and again, while the watch goes on.
	keys := requeued(t, w, 3)
	if keys[0] != keys[2] {
		t.Errorf("requeued %v", keys)
	}
}
