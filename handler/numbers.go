package handler

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/aggregate"
	"numbers/outcome"
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
// What is refused with 503 is refused before any work starts, cheapest check
// first: a request that waited too long in a backed-up service (Admit), one
// with too little of its budget left, then the in-flight limit and the CPU
// shedder.
func (h *Handler) serveNumbers(ctx *fasthttp.RequestCtx, parent context.Context) {
	now := time.Now()
	start := arrival(ctx, now)
	if h.admit != nil && !h.admit(now, now.Sub(start)) {
		h.refuse(ctx, start, &refusedQueue)
		return
	}
	budget, err := h.budgetFor(&ctx.Request.Header)
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, err.Error())
		h.observe.Answered(time.Since(start), false, false)
		return
	}
	deadline := start.Add(budget)
	margin := h.margin
	if h.delay != nil {
		margin.Base += h.delay()
	}
	if h.overrun != nil {
		margin.Base += h.overrun.Extra(now)
	}
	// Never start what cannot be answered in time: with less than minWait
	// left once the margin is kept back, nothing but a cached result could
	// arrive, and the answer would be due at once or already late.
	if deadline.Sub(now)-margin.Base < minWait {
		h.refuse(ctx, start, &refusedDeadline)
		return
	}

	defer h.inFlight.Add(-1)
	n := h.inFlight.Add(1)
	if h.maxInFlight > 0 && n > h.maxInFlight {
		h.refuse(ctx, start, &refusedInFlight)
		return
	}
	if h.shed != nil && h.shed(n) {
		h.refuse(ctx, start, &refusedCPU)
		return
	}

	urls, invalid, err := parseURLs(ctx.QueryArgs(), h.maxURLs)
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
	var flushedAt time.Time // the planned flush time, when the answer waited for it
	if h.jobs == nil || !preferAsync(ctx) || !h.gatherAsync(ctx, parent, urls, invalid, start, deadline, budget, margin, set, &counts) {
		flushedAt = h.gather(parent, urls, deadline, budget, margin, set, &counts)
	}
	ready := time.Now()

	writeNumbers(ctx, set.Numbers())
	answered := time.Now()
	if h.overrun != nil && !flushedAt.IsZero() {
		h.overrun.observe(answered, answered.Sub(flushedAt))
	}

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
	if c, ok := ctx.Conn().(sinceReceiver); ok {
		if d, ok := c.SinceReceived(); ok {
			if received := now.Add(-d); received.Before(read) {
				return received
			}
		}
	}
	return read
}

// minWait is the least time a request must have left for its upstreams, once
// the margin is kept back, to be started: with less, nothing could arrive in
// time but what is already cached.
const minWait = time.Millisecond

// refuse answers 503 with Retry-After and r's pre-built body.
func (h *Handler) refuse(ctx *fasthttp.RequestCtx, start time.Time, r *refusal) {
	writeRefusal(ctx, r)
	h.observe.Refused(r.reason)
	h.observe.Answered(time.Since(start), false, false)
}

// gather fetches urls in parallel and merges each result into set as it
// arrives. It returns when every fetch has settled, or at the deadline less
// the margin for the numbers merged so far, whichever is first; while a
// garbage collection runs (Collections), that flush time comes its lead
// earlier. An upstream still pending then contributes what the source says
// stands in for it (a stale entry, or nothing and a timeout), and its fetch
// is cancelled with the request's context; a late result goes into a
// buffered channel that nobody reads, so the fetch never blocks. The context derives from parent, which
// carries the request's trace span and nothing else. It returns the flush
// time it planned (without a collection's lead, so that an early answer
// shows as early) when it answered for it, and the zero time when every
// fetch settled first.
func (h *Handler) gather(parent context.Context, urls []string, deadline time.Time, budget time.Duration, margin Margin, set *aggregate.Set, counts *[outcome.Count]int) time.Time {
	if len(urls) == 0 {
		return time.Time{}
	}
	// The request's context, made once: every fetch below runs in it. It
	// does not derive from the fasthttp.RequestCtx, which must not outlive
	// this call.
	ctx, cancel := context.WithDeadline(parent, deadline)
	defer cancel()
	results := make(chan result, len(urls))
	for i, u := range urls {
		h.source.Fetch(ctx, u, func(nums []int64, o outcome.Outcome) {
			results <- result{i, nums, o}
		})
	}

	settled := make([]bool, len(urls))
	flushAt := margin.flushTime(deadline, budget, 0)
	timer := time.NewTimer(time.Until(flushAt))
	defer timer.Stop()
	gc := h.watchCollections()
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
			if next := margin.flushTime(deadline, budget, set.Len()); flushAt.Sub(next) > timerSlack {
				flushAt = next
				timer.Reset(time.Until(flushAt) - gc.lead)
			}
			continue
		case <-gc.announced:
			gc.start()
			timer.Reset(time.Until(flushAt) - gc.lead) // at once if that is past
			continue
		case <-gc.ended:
			gc.end()
			timer.Reset(time.Until(flushAt))
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
		return flushAt
	}
	return time.Time{}
}

// collectionWatch follows the garbage collections announced
// (Collections) for one request: lead is how much earlier than planned to
// write its answer, the collection's lead while one runs, else zero. Call
// start when announced is ready, end when ended is; both are nil, never
// ready, when no collections are announced.
type collectionWatch struct {
	collections      Collections
	announced, ended <-chan struct{}
	lead             time.Duration
}

// watchCollections returns a watch on the collection under way, or on the
// next one.
func (h *Handler) watchCollections() collectionWatch {
	w := collectionWatch{collections: h.collections}
	if w.collections != nil {
		w.announced, w.ended = w.collections.Next()
	}
	return w
}

// start takes the lead of the collection just announced.
func (w *collectionWatch) start() {
	w.announced, w.lead = nil, w.collections.Lead()
}

// end drops the lead, the collection over, and watches for the next one.
func (w *collectionWatch) end() {
	w.announced, w.ended = w.collections.Next()
	w.lead = 0
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
