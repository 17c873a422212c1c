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

// serveNumbers answers GET /numbers: validate, fan out, merge as results
// arrive, answer when all settled or at the flush time, whichever is first.
func (h *Handler) serveNumbers(ctx *fasthttp.RequestCtx) {
	start := ctx.Time() // when fasthttp finished reading the request
	deadline := start.Add(h.budget)

	defer h.inFlight.Add(-1)
	if n := h.inFlight.Add(1); h.maxInFlight > 0 && n > h.maxInFlight {
		h.refuse(ctx, start, "overloaded: too many requests in flight, retry later")
		return
	}
	if h.shed != nil && h.shed() {
		h.refuse(ctx, start, "overloaded: the service is shedding load, retry later")
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
	if h.jobs == nil || !preferAsync(ctx) || !h.gatherAsync(ctx, urls, invalid, start, deadline, set, &counts) {
		h.gather(urls, deadline, set, &counts)
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
	h.observe.Answered(elapsed, !complete, elapsed > h.budget)
}

// refuse answers 503 with Retry-After: the service is overloaded.
func (h *Handler) refuse(ctx *fasthttp.RequestCtx, start time.Time, msg string) {
	ctx.Response.Header.Set("Retry-After", "1")
	writeError(ctx, fasthttp.StatusServiceUnavailable, msg)
	h.observe.Answered(time.Since(start), false, false)
}

// gather fetches urls in parallel and merges each result into set as it
// arrives. It returns when every fetch has settled, or at the deadline less
// the margin for the numbers merged so far, whichever is first. An upstream
// still pending then contributes what the source says stands in for it (a
// stale entry, or nothing and a timeout), and its fetch is cancelled with the
// request's context; a late result goes into a buffered channel that nobody
// reads, so the fetch never blocks.
func (h *Handler) gather(urls []string, deadline time.Time, set *aggregate.Set, counts *[outcome.Count]int) {
	if len(urls) == 0 {
		return
	}
	// The request's context, made once: every fetch below runs in it. It
	// does not derive from the fasthttp.RequestCtx, which must not outlive
	// this call.
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	results := make(chan result, len(urls))
	for i, u := range urls {
		h.source.Fetch(ctx, u, func(nums []int64, o outcome.Outcome) {
			results <- result{i, nums, o}
		})
	}

	settled := make([]bool, len(urls))
	margin := h.margin
	if h.delay != nil {
		margin.Base += h.delay()
	}
	flushAt := margin.flushTime(deadline, h.budget, 0)
	timer := time.NewTimer(time.Until(flushAt))
	defer timer.Stop()
	for pending := len(urls); pending > 0; pending-- {
		select {
		case r := <-results:
			settled[r.index] = true
			h.count(counts, r.outcome)
			if !r.outcome.Contributed() {
				continue
			}
			set.Add(r.numbers)
			// A bigger result takes longer to encode and write: flush earlier.
			// Moves under timerSlack are not worth a timer reset; comparing
			// with the timer's own target keeps them from adding up.
			if next := margin.flushTime(deadline, h.budget, set.Len()); flushAt.Sub(next) > timerSlack {
				flushAt = next
				timer.Reset(time.Until(flushAt))
			}
		case <-timer.C:
			for i, done := range settled {
				if done {
					continue
				}
				nums, o := h.source.Abandon(urls[i])
				h.count(counts, o)
				set.Add(nums)
			}
			return
		}
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
