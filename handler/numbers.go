package handler

import (
	"context"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/aggregate"
	"numbers/deadline"
	"numbers/outcome"
	"numbers/overload"
	"numbers/wire"
)

// result is one upstream's contribution, delivered by the layer below.
type result struct {
	index   int // of the URL in the request
	numbers []int64
	outcome outcome.Outcome
}

// serveNumbers answers GET /numbers: admit, validate, fan out, merge as
// results arrive, answer when all settled or at the flush time, whichever is
// first.
//
// What is refused with 503 is refused as it arrives, before any work
// starts: package overload decides from the work in flight, the time the
// request waited unread and the machine's CPU pressure; a request with too
// little of its budget left to fetch anything is refused too.
func (h *Handler) serveNumbers(ctx *fasthttp.RequestCtx, parent context.Context) {
	now := time.Now()
	start := arrival(ctx, now)
	defer h.inFlight.Add(-1)
	n := h.inFlight.Add(1)
	if h.overload != nil {
		if r := h.overload.Admit(now.Sub(start), n); r != overload.Admitted {
			h.refuse(ctx, start, r)
			return
		}
	}
	budget, err := h.budgetFor(&ctx.Request.Header)
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		h.observe.Answered(time.Since(start), false, false)
		return
	}
	plan := h.planner.Plan(start, budget)
	if plan.Hopeless(now) {
		h.refuse(ctx, start, overload.Deadline)
		return
	}

	urls, invalid, err := parseURLs(ctx.QueryArgs(), h.maxURLs, h.canonical)
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		h.observe.Answered(time.Since(start), false, false)
		return
	}

	var counts [outcome.Count]int
	for range invalid {
		h.count(&counts, outcome.Invalid)
	}

	set := aggregate.AcquireSet()
	defer aggregate.ReleaseSet(set)
	if h.jobs == nil || !preferAsync(ctx) || !h.gatherAsync(ctx, parent, urls, invalid, plan, set, &counts) {
		h.gather(parent, urls, plan, set, &counts)
	}
	ready := time.Now()

	writeNumbers(ctx, set.Numbers())
	answered := time.Now()

	complete := counts[outcome.OK]+counts[outcome.Cached] == len(urls)
	if complete {
		ctx.Response.Header.Set("X-Numbers-Complete", "true")
	} else {
		ctx.Response.Header.Set("X-Numbers-Complete", "false")
	}
	var hdr [160]byte
	ctx.Response.Header.SetBytesV(outcomesHeader, appendOutcomes(hdr[:0], &counts))
	ctx.Response.Header.SetBytesV("Server-Timing", appendServerTiming(hdr[:0],
		millis(ready.Sub(start)), millis(answered.Sub(ready)), millis(answered.Sub(start))))

	elapsed := answered.Sub(start)
	h.observe.Answered(elapsed, !complete, elapsed > budget)
}

// sinceReceiver is a connection that knows how long ago the host last
// received data on it (admission.Listen's, on Linux).
type sinceReceiver interface {
	SinceReceived() (time.Duration, bool)
}

// arrival returns when the request arrived: when fasthttp finished reading
// it, or earlier if its connection can tell when its last bytes reached the
// host, so that the time it waited unread in a socket buffer, which the
// process cannot otherwise see, counts against its budget and in its
// sojourn. The earlier of the two is taken: a pipelined request read with
// this one, which arrived after it, makes the kernel's time later.
func arrival(ctx *fasthttp.RequestCtx, now time.Time) time.Time {
	read := ctx.Time()
	if read.IsZero() { // a context no server read, as in a direct call
		read = now
	}
	if c, ok := ctx.Conn().(sinceReceiver); ok {
		if d, ok := c.SinceReceived(); ok {
			if received := now.Add(-d); received.Before(read) {
				return received
			}
		}
	}
	return read
}

// refuse answers 503 with Retry-After and r's message.
func (h *Handler) refuse(ctx *fasthttp.RequestCtx, start time.Time, r overload.Reason) {
	writeRefusal(ctx, r)
	h.observe.Refused(r)
	h.observe.Answered(time.Since(start), false, false)
}

// gather fetches urls in parallel and merges each result into set as it
// arrives. It returns when every fetch has settled, or at the plan's flush
// time for the numbers merged so far, whichever is first. An upstream still
// pending then contributes what the source says stands in for it (a stale
// entry, or nothing and a timeout), and its fetch is cancelled with the
// request's context; a late result goes into a buffered channel that nobody
// reads, so the fetch never blocks. The context derives from parent, which
// carries the request's trace span and nothing else.
func (h *Handler) gather(parent context.Context, urls []string, plan deadline.Plan, set *aggregate.Set, counts *[outcome.Count]int) {
	if len(urls) == 0 {
		return
	}
	// The request's context, made once: every fetch below runs in it. It
	// does not derive from the fasthttp.RequestCtx, which must not outlive
	// this call.
	ctx, cancel := context.WithDeadline(parent, plan.Deadline)
	defer cancel()
	results := make(chan result, len(urls))
	for i, u := range urls {
		h.source.Fetch(ctx, u, func(nums []int64, o outcome.Outcome) {
			results <- result{i, nums, o}
		})
	}

	settled := make([]bool, len(urls))
	flushAt := plan.FlushAt(0)
	timer := time.NewTimer(time.Until(flushAt))
	defer timer.Stop()
	for pending := len(urls); pending > 0; {
		select {
		case r := <-results:
			pending--
			settled[r.index] = true
			h.count(counts, r.outcome)
			if !r.outcome.Contributed() {
				continue
			}
			set.Add(r.numbers)
			// A bigger result takes longer to encode and write: flush earlier.
			// Moves under timerSlack are not worth a timer reset; comparing
			// with the timer's own target keeps them from adding up.
			if next := plan.FlushAt(set.Len()); flushAt.Sub(next) > timerSlack {
				flushAt = next
				timer.Reset(time.Until(flushAt))
			}
			continue
		case <-timer.C:
		}
		for i, done := range settled {
			if done {
				continue
			}
			nums, o := h.source.Abandon(urls[i])
			h.count(counts, o)
			set.Add(nums)
			h.traceAbandoned(ctx, urls[i], o)
		}
		return
	}
}

// timerSlack is how much earlier the flush time must move before the timer is
// reset: far below the margin's base, and it spares the timer heap work on
// every small result.
const timerSlack = 100 * time.Microsecond

// count records one upstream's outcome.
func (h *Handler) count(counts *[outcome.Count]int, o outcome.Outcome) {
	counts[o]++
	h.observe.Upstream(o)
}

// millis converts d to fractional milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// refusalBodies are the 503 bodies, by overload.Reason, built once:
// refusing copies one into the response's buffer and allocates nothing.
var refusalBodies = func() (b [overload.ReasonCount][]byte) {
	for _, r := range overload.Reasons {
		b[r] = errorBody(r.Message())
	}
	return b
}()

// writeRefusal answers 503 with Retry-After: 1 and r's message.
func writeRefusal(ctx *fasthttp.RequestCtx, r overload.Reason) {
	ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	ctx.SetContentType(contentTypeJSON)
	ctx.Response.Header.Set("Retry-After", "1")
	ctx.SetBody(refusalBodies[r])
}

// writeNumbers answers 200 with {"numbers":[...]}, encoding straight into the
// response's own body buffer, so the body is neither copied nor allocated once
// fasthttp's buffer pool is warm.
func writeNumbers(ctx *fasthttp.RequestCtx, nums []int64) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType(contentTypeJSON)
	buf := ctx.Response.SwapBody(nil)
	ctx.Response.SwapBody(wire.AppendJSON(buf[:0], nums))
}

// outcomesHeader is the header with the count of upstreams per outcome.
const outcomesHeader = "X-Numbers-Outcomes"

// appendOutcomes renders counts as "ok=3,cached=0,...".
func appendOutcomes(dst []byte, counts *[outcome.Count]int) []byte {
	for o := outcome.Outcome(0); o < outcome.Count; o++ {
		if o > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, o.String()...)
		dst = append(dst, '=')
		dst = strconv.AppendInt(dst, int64(counts[o]), 10)
	}
	return dst
}

// appendServerTiming renders the W3C Server-Timing value for the phases.
func appendServerTiming(dst []byte, wait, encode, total float64) []byte {
	dst = append(dst, "wait;dur="...)
	dst = strconv.AppendFloat(dst, wait, 'f', 3, 64)
	dst = append(dst, ", encode;dur="...)
	dst = strconv.AppendFloat(dst, encode, 'f', 3, 64)
	dst = append(dst, ", total;dur="...)
	return strconv.AppendFloat(dst, total, 'f', 3, 64)
}
