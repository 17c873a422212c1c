package bench

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// Error kinds, the keys of Result.Errors. Transport failures are classified
// with errors.Is; an unexpected status is "status_NNN".
const (
	KindTimeout   = "timeout"   // no response within the generator's timeout
	KindRefused   = "refused"   // connection refused
	KindReset     = "reset"     // connection reset by the peer
	KindClosed    = "closed"    // connection closed before a response
	KindNoConns   = "no_conns"  // the generator ran out of connections
	KindBody      = "body"      // 200 whose body is not {"numbers":[...]}
	KindTransport = "transport" // any other transport error
)

// Histogram bounds: latencies are recorded in microseconds from 1 µs to 1 min.
const (
	histLowest  = 1
	histHighest = int64(time.Minute / time.Microsecond)
	histSigFigs = 3
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histSigFigs)
}

// recorder collects every outcome of an attack. Workers record into one of a
// few mutex-guarded shards so that they rarely contend; the atomics feed the
// progress line.
type recorder struct {
	budget time.Duration
	shards []shard

	done, failed, late, lateSent, near atomic.Uint64
}

type shard struct {
	mu       sync.Mutex
	hist     *hdrhistogram.Histogram
	status   [600]uint64
	errs     map[string]uint64
	outcomes map[string]*uint64
	// withOutcomes counts responses carrying a parsable outcomes header.
	withOutcomes, complete uint64
	completeness           float64
	counted                uint64  // responses whose numbers were counted
	serverMax              float64 // largest Server-Timing total, ms
	serverLate             uint64  // Server-Timing totals over the budget
	numbers                uint64
	good                   uint64        // well-formed 200s within the budget
	lastFailure            time.Duration // latest intended send offset of a failure
	lastIncomplete         time.Duration // latest intended send offset of an incomplete 200
	_                      [64]byte      // keeps shards' locks on separate cache lines
}

// nearShare sets what counts as near the budget: within a fiftieth of it
// (the last 10 ms of 500) or past it. Late answers are too rare to tell two
// builds apart in a few runs; the near ones come several to tens of times
// more often and move with the same stalls.
const nearShare = 50

func newRecorder(shards int, budget time.Duration) *recorder {
	r := &recorder{budget: budget, shards: make([]shard, shards)}
	for i := range r.shards {
		r.shards[i].hist = newHistogram()
		r.shards[i].errs = map[string]uint64{}
		r.shards[i].outcomes = map[string]*uint64{}
	}
	return r
}

// record files one outcome. at is the request's intended send time as an
// offset from the start of the schedule; latency is measured from that time,
// service from the moment the worker sent it. resp is only read when err is nil.
func (r *recorder) record(worker int, at, latency, service time.Duration, resp *fasthttp.Response, err error) {
	s := &r.shards[worker%len(r.shards)]
	kind := ""
	if err != nil {
		kind = classify(err)
	}
	r.done.Add(1)
	if latency > r.budget {
		r.late.Add(1)
	}
	if latency > r.budget-r.budget/nearShare {
		r.near.Add(1)
	}
	if service > r.budget {
		r.lateSent.Add(1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	us := latency.Microseconds()
	if us < histLowest {
		us = histLowest
	}
	if us > histHighest {
		us = histHighest
	}
	_ = s.hist.RecordValue(us) // in range by construction
	if kind != "" {
		r.failed.Add(1)
		s.errs[kind]++
		s.lastFailure = max(s.lastFailure, at)
		return
	}
	if dur, ok := serverTiming(resp.Header.Peek("Server-Timing")); ok {
		s.serverMax = max(s.serverMax, dur)
		if dur > float64(r.budget)/float64(time.Millisecond) {
			s.serverLate++
		}
	}
	code := resp.StatusCode()
	if code >= 0 && code < len(s.status) {
		s.status[code]++
	}
	if code != fasthttp.StatusOK {
		r.failed.Add(1)
		s.errs[statusKind(code)]++
		s.lastFailure = max(s.lastFailure, at)
		return
	}
	if n, ok := countNumbers(resp.Body()); ok {
		s.counted++
		s.numbers += uint64(n)
		if latency <= r.budget {
			s.good++
		}
	} else {
		r.failed.Add(1)
		s.errs[KindBody]++
		s.lastFailure = max(s.lastFailure, at)
	}
	switch string(resp.Header.Peek("X-Numbers-Complete")) {
	case "true":
		s.complete++
	case "false":
		s.lastIncomplete = max(s.lastIncomplete, at)
	}
	if h := resp.Header.Peek("X-Numbers-Outcomes"); len(h) > 0 {
		o, err := ParseOutcomes(h, s.visit)
		if err == nil {
			s.withOutcomes++
			s.completeness += o.Completeness()
		}
	}
}

func (s *shard) visit(key []byte, n uint64) {
	if p, ok := s.outcomes[string(key)]; ok {
		*p += n
		return
	}
	v := n
	s.outcomes[string(key)] = &v
}

func statusKind(code int) string {
	return "status_" + formatCount(uint64(code))
}

// classify names a transport error's kind.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return KindReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, fasthttp.ErrConnectionClosed):
		return KindClosed
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return KindNoConns
	}
	return KindTransport
}

// serverTiming returns the dur of the "total" metric of a Server-Timing
// header, in milliseconds.
func serverTiming(h []byte) (float64, bool) {
	const key = "total;dur="
	i := bytes.Index(h, []byte(key))
	if i < 0 || (i > 0 && h[i-1] != ' ' && h[i-1] != ',') {
		return 0, false
	}
	v := h[i+len(key):]
	if j := bytes.IndexAny(v, ",; "); j >= 0 {
		v = v[:j]
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return f, err == nil
}
