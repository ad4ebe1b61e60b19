package controllers

import "sync"

// envShare bounds the passes that run at once against one Dataverse environment, so one
// slow environment, whose requests wait on its own concurrency limit or time out, cannot
// hold every worker while the connections of other environments wait in the queue.
type envShare struct {
	limit int

	mu       sync.Mutex
	inFlight map[string]int
}

// tryAcquire takes a slot for env and reports whether it got one; release it when the pass
// ends. An empty env (the URL is not usable yet) always gets one.
func (e *envShare) tryAcquire(env string) (release func(), ok bool) {
	if env == "" || e.limit <= 0 {
		return func() {}, true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inFlight[env] >= e.limit {
		return nil, false
	}
	if e.inFlight == nil {
		e.inFlight = map[string]int{}
	}
	e.inFlight[env]++
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.inFlight[env]--; e.inFlight[env] <= 0 {
			delete(e.inFlight, env)
		}
	}, true
}
