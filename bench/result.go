package bench

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latency holds latency percentiles in milliseconds, measured from each
// request's intended send time.
type Latency struct {
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	P9999 float64 `json:"p99_99_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

// Generator describes how well the load generator kept its own schedule.
type Generator struct {
	// MaxLagMs is the largest delay, in milliseconds, between a request's
	// intended send time and the moment a worker took it.
	MaxLagMs float64 `json:"max_lag_ms"`
	// Behind counts requests taken more than 1 ms after their intended time.
	Behind uint64 `json:"behind"`
	// Workers is the number of workers (and at most connections) it needed.
	Workers int `json:"workers"`
}

// Result is everything measured in one attack.
type Result struct {
	// Name labels the run, e.g. "capacity@4000".
	Name string `json:"name"`
	// URL is the target.
	URL string `json:"url"`
	// Rate is the mean scheduled rate in requests per second.
	Rate float64 `json:"rate"`
	// DurationS is the scheduled length of the attack in seconds; ElapsedS
	// runs from the first intended send to the last response.
	DurationS float64 `json:"duration_s"`
	ElapsedS  float64 `json:"elapsed_s"`
	// Requests counts the requests sent; Responses those that completed, with
	// an answer or an error.
	Requests  uint64 `json:"requests"`
	Responses uint64 `json:"responses"`
	// Throughput is successful (200, well-formed) responses per second of ElapsedS.
	Throughput float64 `json:"throughput"`
	// Goodput is the successful responses that were not late (from the
	// intended send time) per second of ElapsedS: the answers a caller can use.
	Goodput float64 `json:"goodput"`
	// Latency is over every completed request, errors included.
	Latency Latency `json:"latency"`
	// BudgetMs is the lateness threshold; Late counts responses slower than it.
	BudgetMs float64 `json:"budget_ms"`
	Late     uint64  `json:"late"`
	// Near counts responses, late ones included, slower than the budget
	// less a fiftieth (490 ms of 500), from the intended send time.
	Near uint64 `json:"near"`
	// LateSent counts responses slower than the budget measured from the
	// moment they were actually sent: when it is below Late, the difference
	// is the generator's own lag.
	LateSent uint64 `json:"late_sent"`
	// ServerLate counts responses whose own Server-Timing total exceeded the
	// budget, and ServerMaxMs is the largest total: the service's view.
	ServerLate  uint64  `json:"server_late"`
	ServerMaxMs float64 `json:"server_max_ms"`
	// Errors counts failures by kind (see the Kind constants), non-200 statuses
	// included as "status_NNN"; Status counts every HTTP status received.
	Errors map[string]uint64 `json:"errors"`
	Status map[int]uint64    `json:"status"`
	// Completeness is the mean, over responses carrying X-Numbers-Outcomes, of
	// (ok+cached)/(total-invalid); Complete counts X-Numbers-Complete: true.
	Completeness float64 `json:"completeness"`
	Complete     uint64  `json:"complete"`
	// Outcomes sums the outcomes header's counts by key over all responses.
	Outcomes map[string]uint64 `json:"outcomes,omitempty"`
	// MeanLength is the mean count of numbers in a successful response.
	MeanLength float64 `json:"mean_length"`
	// ErrorFreeAfterS is the intended send time, in seconds from the start of
	// the schedule, of the last request that failed (with an error, a non-200
	// status or a malformed body): every request due after it succeeded. Zero
	// when none failed.
	ErrorFreeAfterS float64 `json:"error_free_after_s"`
	// LastIncompleteS is the intended send time, in seconds from the start of
	// the schedule, of the last 200 answer that was not complete
	// (X-Numbers-Complete: false): every answer due after it was complete.
	// Zero when all were.
	LastIncompleteS float64 `json:"last_incomplete_s"`
	// Generator reports the generator's own schedule keeping.
	Generator Generator `json:"generator"`

	hist *hdrhistogram.Histogram
}

// ErrorCount is the total of Errors.
func (r *Result) ErrorCount() uint64 {
	var n uint64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Histogram returns the latency histogram in microseconds (nil for a Result
// decoded from JSON).
func (r *Result) Histogram() *hdrhistogram.Histogram { return r.hist }

func ms(us int64) float64 { return float64(us) / 1e3 }

// summarize merges the recorder's shards into a Result.
func (r *recorder) summarize(res *Result) {
	h := newHistogram()
	res.Errors = map[string]uint64{}
	res.Status = map[int]uint64{}
	res.Outcomes = map[string]uint64{}
	var ok, withOutcomes uint64
	var completeness float64
	var numbers, good uint64
	var lastFailure, lastIncomplete time.Duration
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		h.Merge(s.hist)
		for code, n := range s.status {
			if n > 0 {
				res.Status[code] += n
			}
		}
		for k, n := range s.errs {
			res.Errors[k] += n
		}
		for k, n := range s.outcomes {
			res.Outcomes[k] += *n
		}
		withOutcomes += s.withOutcomes
		res.ServerLate += s.serverLate
		res.ServerMaxMs = max(res.ServerMaxMs, s.serverMax)
		completeness += s.completeness
		res.Complete += s.complete
		ok += s.counted
		numbers += s.numbers
		good += s.good
		lastFailure = max(lastFailure, s.lastFailure)
		lastIncomplete = max(lastIncomplete, s.lastIncomplete)
		s.mu.Unlock()
	}
	res.hist = h
	res.Responses = uint64(h.TotalCount())
	res.Late = r.late.Load()
	res.LateSent = r.lateSent.Load()
	res.Near = r.near.Load()
	res.BudgetMs = float64(r.budget) / float64(time.Millisecond)
	res.Latency = latencyOf(h)
	if withOutcomes > 0 {
		res.Completeness = completeness / float64(withOutcomes)
	}
	if ok > 0 {
		res.MeanLength = float64(numbers) / float64(ok)
	}
	if res.ElapsedS > 0 {
		res.Throughput = float64(ok) / res.ElapsedS
		res.Goodput = float64(good) / res.ElapsedS
	}
	res.ErrorFreeAfterS = lastFailure.Seconds()
	res.LastIncompleteS = lastIncomplete.Seconds()
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		P9999: ms(h.ValueAtQuantile(99.99)),
		Max:   ms(h.Max()),
		Mean:  h.Mean() / 1e3,
	}
}
