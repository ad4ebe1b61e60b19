package dataversesim

import (
	"net/http"
	"sync"
	"time"
)

// Request is one request the simulator answered.
type Request struct {
	// Time is when the request arrived, Answered when its answer was written.
	Time, Answered time.Time
	Environment    string // "" for the token service
	Operation      string
	Method         string
	Path           string
	Principal      string // client id or user name; "" when unauthenticated
	Status         int
	// RetryAfter is the Retry-After of a 429 the simulator injected.
	RetryAfter time.Duration
	// Dropped: the connection was reset without an answer.
	Dropped bool
}

// Write reports whether the request changed Dataverse (or tried to).
func (r Request) Write() bool {
	return r.Environment != "" && r.Method != http.MethodGet
}

type requestLog struct {
	mu       sync.Mutex
	requests []Request
}

func (l *requestLog) add(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = append(l.requests, r)
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	return append([]Request(nil), s.log.requests...)
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	s.log.requests = nil
}

// CountRequests counts the requests that match.
func (s *Server) CountRequests(match func(Request) bool) int {
	s.log.mu.Lock()
	defer s.log.mu.Unlock()
	n := 0
	for _, r := range s.log.requests {
		if match == nil || match(r) {
			n++
		}
	}
	return n
}

// Writes counts the requests that changed, or tried to change, an environment.
func (s *Server) Writes(environment string) int {
	return s.CountRequests(func(r Request) bool { return r.Environment == environment && r.Write() })
}
