// This file serves the jobs API (package jobs): POST /jobs, GET and DELETE
// /jobs/{id}, GET /jobs/{id}/events (Server-Sent Events), and GET /numbers
// with Prefer: respond-async, which turns a partial answer into a job.

package handler

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/aggregate"
	"numbers/deadline"
	"numbers/jobs"
	"numbers/outcome"
)

// routeJobs serves the /jobs paths and reports whether path was one of them.
// parent carries the request's trace span, for the fetches of a new job.
func (h *Handler) routeJobs(ctx *fasthttp.RequestCtx, parent context.Context) bool {
	route, id := jobsRoute(ctx.Path())
	switch route {
	case "/jobs":
		if !ctx.IsPost() {
			ctx.Response.Header.Set("Allow", "POST")
			writeError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed: use POST /jobs?u=URL to start a job")
			return true
		}
		h.createJob(ctx, parent)
	case "/jobs/{id}":
		if h.jobView != nil && ctx.IsGet() && wantsHTML(ctx) {
			h.jobView(ctx)
			return true
		}
		h.serveJob(ctx, id)
	case "/jobs/{id}/events":
		h.serveEvents(ctx, id)
	case jobsOther:
		writeError(ctx, fasthttp.StatusNotFound, "no such endpoint: use /jobs/{id} or /jobs/{id}/events")
	default:
		return false
	}
	return true
}

// wantsHTML reports whether the request's Accept names text/html, as a
// browser's navigation does; API clients get the JSON document.
func wantsHTML(ctx *fasthttp.RequestCtx) bool {
	return bytes.Contains(ctx.Request.Header.Peek("Accept"), []byte("text/html"))
}

// jobsOther is the route of a path under /jobs/{id}/ that is none of the
// jobs endpoints.
const jobsOther = "/jobs/{id}/*"

// jobsRoute returns the route of path among the jobs endpoints, "/jobs",
// "/jobs/{id}" or "/jobs/{id}/events" (jobsOther for another path under
// /jobs/{id}/), and the id in it; "" for a path not under /jobs.
func jobsRoute(path []byte) (route, id string) {
	rest, ok := bytes.CutPrefix(path, []byte("/jobs"))
	switch {
	case !ok:
		return "", ""
	case len(rest) == 0:
		return "/jobs", ""
	case rest[0] != '/':
		return "", "" // /jobsfoo
	}
	rawID, sub, nested := bytes.Cut(rest[1:], []byte("/"))
	switch {
	case !nested:
		return "/jobs/{id}", string(rawID)
	case string(sub) == "events":
		return "/jobs/{id}/events", string(rawID)
	}
	return jobsOther, ""
}

// createJob answers POST /jobs?u=URL...[&budget=30s]: 202 with the job's
// status document and its Location.
func (h *Handler) createJob(ctx *fasthttp.RequestCtx, parent context.Context) {
	args := ctx.QueryArgs()
	urls, invalid, err := parseURLs(args, h.maxURLs, h.canonical)
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	budget := h.jobs.Budget()
	if v := args.Peek("budget"); v != nil {
		d, err := time.ParseDuration(string(v))
		switch {
		case err != nil || d <= 0:
			writeError(ctx, fasthttp.StatusBadRequest, "budget must be a positive duration such as 30s or 2m")
			return
		case d > h.jobs.MaxBudget():
			writeError(ctx, fasthttp.StatusBadRequest, fmt.Sprintf("budget %v is over the most allowed, %v", d, h.jobs.MaxBudget()))
			return
		}
		budget = d
	}
	snap, err := h.jobs.Start(parent, urls, invalid, budget)
	if err != nil {
		h.refuseJob(ctx, err)
		return
	}
	ctx.Response.Header.Set("Location", "/jobs/"+snap.ID)
	ctx.Response.Header.Set("Retry-After", "1")
	writeDocument(ctx, fasthttp.StatusAccepted, snap)
}

// refuseJob answers 503 when a job cannot be started.
func (h *Handler) refuseJob(ctx *fasthttp.RequestCtx, err error) {
	ctx.Response.Header.Set("Retry-After", "1")
	if errors.Is(err, jobs.ErrFull) {
		writeError(ctx, fasthttp.StatusServiceUnavailable, "the job store is full: retry later, when finished jobs have expired")
		return
	}
	if errors.Is(err, jobs.ErrUnavailable) {
		writeError(ctx, fasthttp.StatusServiceUnavailable, unreachable)
		return
	}
	writeError(ctx, fasthttp.StatusServiceUnavailable, "shutting down: retry on another instance")
}

// serveJob answers GET, HEAD and DELETE /jobs/{id}.
func (h *Handler) serveJob(ctx *fasthttp.RequestCtx, id string) {
	var snap *jobs.Snapshot
	var err error
	switch {
	case ctx.IsGet() || ctx.IsHead():
		snap, err = h.getJob(id)
	case ctx.IsDelete():
		if jobs.ValidID(id) {
			snap, err = h.jobs.Cancel(id)
		} else {
			err = jobs.ErrNotFound
		}
	default:
		ctx.Response.Header.Set("Allow", "GET, HEAD, DELETE")
		writeError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed: use GET or DELETE /jobs/{id}")
		return
	}
	if err != nil {
		jobError(ctx, err)
		return
	}
	if snap.State == jobs.Running {
		ctx.Response.Header.Set("Retry-After", "1")
	}
	writeDocument(ctx, fasthttp.StatusOK, snap)
}

// unreachable is the error of a job request while a shared job store
// (-redis) is out of reach.
const unreachable = "the shared job store is out of reach: retry later"

// jobError answers a job store's error: 503 with Retry-After while a shared
// store is out of reach, else 404.
func jobError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, jobs.ErrUnavailable) {
		ctx.Response.Header.Set("Retry-After", "1")
		writeError(ctx, fasthttp.StatusServiceUnavailable, unreachable)
		return
	}
	writeError(ctx, fasthttp.StatusNotFound, "no such job: unknown id, or finished and expired")
}

// getJob returns job id's document; a malformed id is unknown.
func (h *Handler) getJob(id string) (*jobs.Snapshot, error) {
	if !jobs.ValidID(id) {
		return nil, jobs.ErrNotFound
	}
	return h.jobs.Store().Get(id)
}

// writeDocument answers status with a job's status document.
func writeDocument(ctx *fasthttp.RequestCtx, status int, snap *jobs.Snapshot) {
	ctx.SetStatusCode(status)
	ctx.SetContentType(contentTypeJSON)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	buf := ctx.Response.SwapBody(nil)
	ctx.Response.SwapBody(jobs.AppendJSON(buf[:0], snap))
}

// sseHead is the head of an event stream, and its first field: an
// EventSource whose stream is closed before the done event (at the hub's
// MaxStream, or a restart) reconnects after a second, with Last-Event-ID.
// The body is delimited by the connection's close, which ends the stream:
// no chunked encoding to frame.
var sseHead = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n" +
	"X-Accel-Buffering: no\r\nConnection: close\r\n\r\nretry: 1000\n\n")

// sseRefused answers a watcher that arrives as the hub shuts down.
var sseRefused = func() []byte {
	body := `{"error":"shutting down: retry on another one"}`
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body)
}()

// serveEvents answers GET /jobs/{id}/events: the job's log as Server-Sent
// Events, from the start or after Last-Event-ID, then the live events, up
// to done. The stream is served by the hub on the hijacked connection:
// fasthttp's SetBodyStreamWriter would pipe it through a second goroutine
// and buffers, apply -write-timeout to the whole stream, and notice a
// client that went away only at a failed write (fasthttp issues 993, 771).
// Hijacking needs the server's KeepHijackedConns, so that the stream can
// outlive the hijack handler, which would otherwise pin its read buffer.
func (h *Handler) serveEvents(ctx *fasthttp.RequestCtx, id string) {
	if !ctx.IsGet() {
		ctx.Response.Header.Set("Allow", "GET")
		writeError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed: use GET /jobs/{id}/events")
		return
	}
	var after uint64
	if v := ctx.Request.Header.Peek("Last-Event-ID"); v != nil {
		n, err := strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
		if err != nil {
			writeError(ctx, fasthttp.StatusBadRequest, "Last-Event-ID must be the id of an event of this job")
			return
		}
		after = n
	}
	if !jobs.ValidID(id) {
		writeError(ctx, fasthttp.StatusNotFound, "no such job: unknown id, or finished and expired")
		return
	}
	evs, more, err := h.jobs.Store().Events(id, after)
	switch {
	case err != nil:
		jobError(ctx, err)
		return
	case len(evs) == 0 && more == nil:
		// Nothing after Last-Event-ID and the log has ended: 204 tells an
		// EventSource not to reconnect.
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	hub := h.hub
	ctx.HijackSetNoResponse(true)
	ctx.Hijack(func(c net.Conn) {
		if raw, ok := c.(interface{ UnsafeConn() net.Conn }); ok {
			c = raw.UnsafeConn() // the bare connection: no read buffer kept
		}
		hub.Serve(c, id, after, sseHead, sseRefused)
	})
}

// preferAsync reports whether the request says Prefer: respond-async
// (RFC 7240: comma-separated preferences, names case-insensitive, values
// and parameters after '=' or ';').
func preferAsync(ctx *fasthttp.RequestCtx) bool {
	for _, v := range ctx.Request.Header.PeekAll("Prefer") {
		for _, p := range bytes.Split(v, []byte(",")) {
			if i := bytes.IndexAny(p, "=;"); i >= 0 {
				p = p[:i]
			}
			if bytes.EqualFold(bytes.TrimSpace(p), []byte("respond-async")) {
				return true
			}
		}
	}
	return false
}

// gatherAsync is gather for a request that prefers respond-async: its
// fetches run in a job, with the job budget, and the answer takes what the
// job has at the flush time (plus what stands in for the upstreams still
// pending, as gather does). If some are still pending then, the job is
// stored and the answer links to it; otherwise, or if the store is full,
// it is discarded and the answer is a plain one.
func (h *Handler) gatherAsync(ctx *fasthttp.RequestCtx, parent context.Context, urls []string, invalid int, plan deadline.Plan,
	set *aggregate.Set, counts *[outcome.Count]int) bool {
	p := h.jobs.Prepare(parent, urls, invalid, plan.Start)
	if p == nil {
		return false // shutting down: a plain answer
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var pr jobs.Progress
	for {
		pr = p.Progress()
		wait := time.Until(plan.FlushAt(len(pr.Numbers)))
		if len(pr.Pending) == 0 || wait <= 0 {
			break
		}
		timer.Reset(wait)
		select {
		case <-pr.Changed:
			continue
		case <-timer.C:
			pr = p.Progress()
		}
		break
	}
	for o, n := range pr.Counts {
		for range n {
			h.count(counts, outcome.Outcome(o))
		}
	}
	set.Add(pr.Numbers)
	for _, u := range pr.Pending {
		nums, o := h.source.Abandon(u)
		h.count(counts, o)
		set.Add(nums)
		h.traceAbandoned(parent, u, o)
	}
	if len(pr.Pending) == 0 {
		p.Discard()
		return true
	}
	if _, err := p.Commit(); err != nil {
		p.Discard() // full: the preference is not applied
		return true
	}
	ctx.Response.Header.Set("Link", `</jobs/`+p.ID()+`>; rel="monitor"`)
	ctx.Response.Header.Set("Preference-Applied", "respond-async")
	return true
}
