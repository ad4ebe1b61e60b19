package controllers

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"

	salesv1alpha1 "github.com/bcconnect/salesconnection-operator/api/v1alpha1"
	"github.com/bcconnect/salesconnection-operator/internal/dataverse"
)

// Defaults of the import poll cadence.
const (
	DefaultMinImportPoll = time.Second
	DefaultMaxImportPoll = 30 * time.Second
)

// importWatch keeps one poller per environment whose solution import SalesConnections
// wait for, however many wait: each waiting pass registers, and the poller reads the
// environment's running imports (one request per poll) at a cadence that follows the
// import's progress. When the import it watches has ended, it requeues every waiting
// SalesConnection at once through the controller's channel source. A restarted operator
// registers again from the import recorded on each object, so watching resumes.
type importWatch struct {
	minPoll, maxPoll time.Duration
	events           chan event.GenericEvent
	log              logr.Logger

	mu   sync.Mutex
	ctx  context.Context
	envs map[string]*envImport
	// starting holds, per environment, the right to check for a running import and start
	// one: passes of one process never race each other to ImportSolutionAsync.
	starting map[string]chan struct{}
}

// envImport is the watch of one environment's running import.
type envImport struct {
	// client reads the running imports: the administrator of the latest waiter.
	client dataverseAPI
	// jobKey is the importjob of an import recorded on a waiter ("" while everyone waits
	// for an import no object recorded); seen once the poller found it running.
	jobKey string
	seen   bool
	since  time.Time
	// waiters are requeued when the import ends.
	waiters map[types.NamespacedName]bool
}

func newImportWatch(minPoll, maxPoll time.Duration, log logr.Logger) *importWatch {
	return &importWatch{minPoll: minPoll, maxPoll: maxPoll, log: log,
		events: make(chan event.GenericEvent, 1024), envs: map[string]*envImport{}, starting: map[string]chan struct{}{}}
}

// watching reports whether an import of env is being watched: it runs, as far as this
// process knows, so a pass joins the waiters without reading the running imports itself.
func (w *importWatch) watching(env string) bool {
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.envs[env]
	return ok
}

// lockStart waits for the right to check env for a running import and start one; the
// returned function gives it back.
func (w *importWatch) lockStart(ctx context.Context, env string) (unlock func(), err error) {
	if w == nil {
		return func() {}, nil
	}
	w.mu.Lock()
	slot, ok := w.starting[env]
	if !ok {
		slot = make(chan struct{}, 1)
		w.starting[env] = slot
	}
	w.mu.Unlock()
	select {
	case slot <- struct{}{}:
		return func() { <-slot }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// start lets pollers run until ctx ends (the manager's context).
func (w *importWatch) start(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ctx = ctx
}

// wait registers obj as waiting for the running import of env, read with c; jobKey is the
// importjob of the import recorded on obj, or "" for someone else's.
func (w *importWatch) wait(env string, c dataverseAPI, jobKey string, obj client.Object) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil {
		return
	}
	e, ok := w.envs[env]
	if !ok {
		e = &envImport{since: time.Now(), waiters: map[types.NamespacedName]bool{}}
		w.envs[env] = e
		go w.poll(w.ctx, env, e)
	}
	e.client = c
	if jobKey != "" && jobKey != e.jobKey {
		e.jobKey, e.seen = jobKey, false
	}
	e.waiters[client.ObjectKeyFromObject(obj)] = true
}

// poll watches env's import until it ends, then requeues its waiters.
func (w *importWatch) poll(ctx context.Context, env string, e *envImport) {
	interval := w.minPoll
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		w.mu.Lock()
		c := e.client
		w.mu.Unlock()
		jobs, err := c.RunningImports(ctx)
		var ended bool
		switch {
		case dataverse.ReasonOf(err) == dataverse.ReasonPrivilegeDenied:
			// The administrator may import but not read import jobs: the waiters check
			// their own imports, at this poller's cadence.
			w.requeue(w.takeWaiters(e, false))
			interval = w.grow(interval)
		case err != nil:
			w.log.V(1).Info("reading the running imports failed; trying again", "error", err.Error())
			interval = w.grow(interval)
		default:
			ended, interval = w.judge(e, jobs, interval)
		}
		if ended {
			w.mu.Lock()
			delete(w.envs, env)
			w.mu.Unlock()
			w.requeue(w.takeWaiters(e, true))
			return
		}
		timer.Reset(interval)
	}
}

// judge says whether the watched import has ended, and when to look next: half the time
// the import's progress says is left, within the poll bounds, or a growing interval when
// there is no progress to go by.
func (w *importWatch) judge(e *envImport, jobs []dataverse.ImportJob, interval time.Duration) (bool, time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var running []dataverse.ImportJob
	for _, j := range jobs {
		if time.Since(j.CreatedOn) < staleImportJob {
			running = append(running, j)
		}
	}
	var watched *dataverse.ImportJob
	for i := range running {
		if e.jobKey == "" || strings.EqualFold(running[i].ID, e.jobKey) {
			watched = &running[i]
			break
		}
	}
	if watched == nil {
		// Ours is gone once it was seen running. Until then it may still be queued: give
		// it a few polls before the waiters look for themselves.
		if e.jobKey == "" || e.seen || time.Since(e.since) > 5*w.minPoll {
			return true, 0
		}
		return false, w.grow(interval)
	}
	if e.jobKey != "" {
		e.seen = true
	}
	if p := watched.Progress; p > 0 && p < 100 {
		elapsed := time.Since(watched.CreatedOn)
		left := time.Duration(float64(elapsed) * (100 - p) / p)
		return false, min(max(left/2, w.minPoll), w.maxPoll)
	}
	return false, w.grow(interval)
}

func (w *importWatch) grow(interval time.Duration) time.Duration {
	return min(max(interval*3/2, w.minPoll), w.maxPoll)
}

// takeWaiters returns the waiters, forgetting them when the watch ends.
func (w *importWatch) takeWaiters(e *envImport, end bool) []types.NamespacedName {
	w.mu.Lock()
	defer w.mu.Unlock()
	keys := make([]types.NamespacedName, 0, len(e.waiters))
	for k := range e.waiters {
		keys = append(keys, k)
	}
	if end {
		e.waiters = nil
	}
	return keys
}

// requeue queues a pass of each object now.
func (w *importWatch) requeue(keys []types.NamespacedName) {
	for _, k := range keys {
		obj := &salesv1alpha1.SalesConnection{}
		obj.Namespace, obj.Name = k.Namespace, k.Name
		w.events <- event.GenericEvent{Object: obj}
	}
}
