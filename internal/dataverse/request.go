package dataverse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"time"
)

// retryMode says when a request may be sent again.
type retryMode int

const (
	// retryIdempotent: reads, retried on every transient failure.
	retryIdempotent retryMode = iota
	// retryWrite: retried only when Dataverse cannot have processed it: a 429, or a
	// failure before it left (sign-in, connecting).
	retryWrite
	// retryNever: non-idempotent actions with side effects no read can detect at once
	// (ImportSolutionAsync): the caller decides, after looking.
	retryNever
)

type request struct {
	op     string
	method string
	// path is relative to the Web API base and already escaped, e.g. "systemusers(<id>)".
	path  string
	query query
	// url, when set, is an absolute URL (a nextLink, the version discovery) used instead
	// of path and query.
	url    string
	body   any
	header map[string]string
	retry  retryMode
	// secrets are values in this request (beyond the credentials) to keep out of errors.
	secrets []string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req with the environment's limits, the token, retries and throttling.
func (c *Client) do(ctx context.Context, req *request) (_ *response, err error) {
	defer func() {
		if ReasonOf(err) == ReasonThrottled {
			recordThrottled(c.envURL)
		}
	}()
	var body []byte
	if req.body != nil {
		var err error
		if body, err = json.Marshal(req.body); err != nil {
			return nil, newError(req.op, ReasonInvalidArgument, 0, "", "the request cannot be encoded", nil)
		}
	}
	red := c.red.with(req.secrets...)
	if req.url == "" {
		resolved := *req
		resolved.url = c.apiBase() + req.path
		if len(req.query) > 0 {
			resolved.url += "?" + req.query.encode()
		}
		req = &resolved
	}
	pol := c.pool.opts.Retry
	var waited time.Duration
	for attempt := 1; ; attempt++ {
		// A 429's Retry-After is the floor for every caller of the environment.
		for {
			wait := c.env.throttleWait(c.pool.opts.Now())
			if wait <= 0 {
				break
			}
			if waited+wait > pol.MaxWait || beyondDeadline(ctx, wait) {
				return nil, c.throttled(req.op, wait)
			}
			// Callers held back together should not all send at the same instant.
			wait += rand.N(min(wait/10, time.Second) + 1)
			recordThrottleWait(c.envURL, wait)
			if err := c.pool.opts.Sleep(ctx, wait); err != nil {
				return nil, classifyTransport(req.op, err, red)
			}
			waited += wait
		}
		resp, sent, err := c.attempt(ctx, req, body, red)
		if err == nil {
			return resp, nil
		}
		e, ok := asError(err)
		if !ok || attempt >= pol.MaxAttempts || !retryable(req.retry, e, sent) {
			return nil, err
		}
		delay := pol.backoff(attempt, e.RetryAfter)
		if waited+delay > pol.MaxWait || beyondDeadline(ctx, delay) {
			return nil, e
		}
		if e.Reason == ReasonThrottled {
			// Service protection limits: the backoff is at least the answer's Retry-After.
			recordThrottleWait(c.envURL, delay)
		}
		if err := c.pool.opts.Sleep(ctx, delay); err != nil {
			return nil, classifyTransport(req.op, err, red)
		}
		waited += delay
	}
}

// retryable decides whether a failed attempt is sent again (sent: it reached Dataverse,
// or may have).
func retryable(mode retryMode, e *Error, sent bool) bool {
	if e.Kind != Transient || e.Reason == ReasonCanceled {
		return false
	}
	switch mode {
	case retryIdempotent:
		return true
	case retryWrite:
		return !sent || e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// attempt sends req once with a token; when Dataverse answers 401 to a token believed
// valid (revoked, expired early, signing keys rolled), it signs in afresh and sends once
// more: a 401 means the request was not processed.
func (c *Client) attempt(ctx context.Context, req *request, body []byte, red redactor) (*response, bool, error) {
	token, err := c.tokens.get(ctx, req.op)
	if err != nil {
		return nil, false, err
	}
	resp, sent, err := c.send(ctx, req, body, token, red)
	if e, ok := asError(err); !ok || e.StatusCode != http.StatusUnauthorized {
		return resp, sent, err
	}
	if err := c.tokens.invalidate(ctx, req.op, token); err != nil {
		return nil, false, err
	}
	if token, err = c.tokens.get(ctx, req.op); err != nil {
		return nil, false, err
	}
	return c.send(ctx, req, body, token, red)
}

// send makes one HTTP round trip inside the environment's concurrency limit.
func (c *Client) send(ctx context.Context, req *request, body []byte, token string, red redactor) (*response, bool, error) {
	if err := c.env.acquire(ctx); err != nil {
		return nil, false, classifyTransport(req.op, err, red)
	}
	defer c.env.release()

	hr, err := c.newHTTPRequest(ctx, req, body, token)
	if err != nil {
		return nil, false, err
	}
	start := time.Now()
	resp, err := c.http.Do(hr)
	if err != nil {
		requestDuration.WithLabelValues(req.op).Observe(time.Since(start).Seconds())
		requestsTotal.WithLabelValues(req.op, statusLabel(0)).Inc()
		return nil, !notSent(err), classifyTransport(req.op, err, red)
	}
	defer resp.Body.Close()
	// A success answer is read whole (the transport fails one past maxSuccessBody); of an
	// error answer only the start is kept, enough for its code and message.
	var reader io.Reader = resp.Body
	if resp.StatusCode >= 300 {
		reader = io.LimitReader(resp.Body, maxErrorBody)
	}
	data, readErr := io.ReadAll(reader)
	requestDuration.WithLabelValues(req.op).Observe(time.Since(start).Seconds())
	requestsTotal.WithLabelValues(req.op, statusLabel(resp.StatusCode)).Inc()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if readErr != nil {
			return nil, true, classifyTransport(req.op, readErr, red)
		}
		return &response{status: resp.StatusCode, header: resp.Header, body: data}, true, nil
	}
	now := c.pool.opts.Now()
	e := classifyResponse(req.op, resp.StatusCode, resp.Header, data, now, red)
	if resp.StatusCode == http.StatusTooManyRequests {
		if e.RetryAfter <= 0 {
			e.RetryAfter = c.pool.opts.Retry.BaseDelay
		}
		c.env.throttle(now.Add(e.RetryAfter))
	}
	return nil, true, e
}

func (c *Client) newHTTPRequest(ctx context.Context, req *request, body []byte, token string) (*http.Request, error) {
	u := req.url
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u, rd)
	if err != nil {
		return nil, newError(req.op, ReasonInvalidArgument, 0, "", "the request URL is invalid", nil)
	}
	h := hr.Header
	h.Set("Authorization", "Bearer "+token)
	h.Set("Accept", "application/json")
	h.Set("OData-MaxVersion", "4.0")
	h.Set("OData-Version", "4.0")
	// Dataverse's recommended no-op precondition: never answer from a cache.
	h.Set("If-None-Match", "null")
	if body != nil {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	if c.pool.opts.UserAgent != "" {
		h.Set("User-Agent", c.pool.opts.UserAgent)
	}
	for k, v := range req.header {
		h.Set(k, v)
	}
	return hr, nil
}

// notSent reports a failure while connecting: the request never left.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// beyondDeadline reports whether waiting d would outlive ctx's deadline.
func beyondDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return ok && time.Until(deadline) < d
}

// throttled is the error of a call that did not send because the environment's
// Retry-After window lasts longer than the call may wait.
func (c *Client) throttled(op string, wait time.Duration) *Error {
	e := newError(op, ReasonThrottled, 0, "", "Dataverse service protection limits: the environment asked callers to wait", nil)
	e.RetryAfter = wait
	return e
}

// decode reads a JSON answer into v.
func decode(op string, resp *response, v any) error {
	if err := json.Unmarshal(resp.body, v); err != nil {
		return newError(op, ReasonInvalidResponse, resp.status, "", "the answer is not the expected JSON", nil)
	}
	return nil
}

// maxPages bounds how many @odata.nextLink pages a list follows.
const maxPages = 1000

// list runs a collection query and passes each page's rows to each, following
// @odata.nextLink within this environment's Web API only (the token must not leak).
func (c *Client) list(ctx context.Context, req *request, each func(rows json.RawMessage) error) error {
	for page := 0; ; page++ {
		resp, err := c.do(ctx, req)
		if err != nil {
			return err
		}
		var p struct {
			Value    json.RawMessage `json:"value"`
			NextLink string          `json:"@odata.nextLink"`
		}
		if err := decode(req.op, resp, &p); err != nil {
			return err
		}
		if err := each(p.Value); err != nil {
			return err
		}
		if p.NextLink == "" {
			return nil
		}
		if !strings.HasPrefix(strings.ToLower(p.NextLink), strings.ToLower(c.envURL+"/api/data/")) {
			return newError(req.op, ReasonInvalidResponse, resp.status, "", "the answer's next page link is outside this environment", nil)
		}
		if page+1 >= maxPages {
			return newError(req.op, ReasonInvalidResponse, resp.status, "", "the answer has too many pages", nil)
		}
		next := *req
		next.url, next.path, next.query = p.NextLink, "", nil
		req = &next
	}
}
