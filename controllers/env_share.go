package controllers

import "sync"

// envShare bounds the passes that run at once against one Dataverse environment, so one
// slow environment, whose requests wait on its own concurrency limit or time out, cannot
// hold every worker while the connections of other environments wait in the queue.
//
// It also starts gently: until one pass against an environment has ended in this process,
// that pass runs alone. After a restart every object is reconciled at once; one pass
// first meets what the environment answers now (a 429 and its Retry-After, which then
// holds every other request, an outage, a slow server) before the rest follow, instead
// of all of them asking together.
type envShare struct {
	limit int

	mu       sync.Mutex
	inFlight map[string]int
	// opened holds the environments a pass has finished against.
	opened map[string]bool
}

// tryAcquire takes a slot for env and reports whether it got one; release it when the pass
// ends. An empty env (the URL is not usable yet) always gets one.
func (e *envShare) tryAcquire(env string) (release func(), ok bool) {
	if env == "" || e.limit <= 0 {
		return func() {}, true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	limit := e.limit
	if !e.opened[env] {
		limit = 1
	}
	if e.inFlight[env] >= limit {
		return nil, false
	}
	if e.inFlight == nil {
		e.inFlight, e.opened = map[string]int{}, map[string]bool{}
	}
	e.inFlight[env]++
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.opened[env] = true
		if e.inFlight[env]--; e.inFlight[env] <= 0 {
			delete(e.inFlight, env)
		}
	}, true
}
