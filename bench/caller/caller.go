// Package caller is the benchmark's plain caller: one process that serves
// the upstreams on Go's net/http server and sends open-loop load with Go's
// net/http client, as a user of the service would write it, sharing the
// machine's CPUs with the service and with nothing pinned.
//
// Every request is sent from a goroutine of its own at its intended time,
// whatever the answers do; the whole body is read and decoded. A request is
// late when its body was read more than the budget after its intended send
// time (the caller's clock, which sees its own lag too); it is also counted
// from the moment it was actually sent, to tell the caller's own lag apart.
package caller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"numbers/bench"
)

// ErrTarget reports a target that is not a loopback http URL.
var ErrTarget = errors.New("caller: target must be an http URL on a loopback address")

// Load is one open-loop run.
type Load struct {
	// URL is the /numbers URL asked for, on a loopback host.
	URL string
	// Rate is in requests per second; Duration bounds the schedule.
	Rate     float64
	Duration time.Duration
	// Distinct appends i=<n> to every u= value (each upstream URL) of
	// request n, so that no two requests ask for the same upstream URL.
	Distinct bool
	// Budget is the lateness threshold; zero means 500ms.
	Budget time.Duration
	// Universe is the number of distinct numbers all the upstreams hold
	// together: completeness is the mean answer's length over it. Zero
	// leaves completeness out.
	Universe int
}

// Result is what a Load measured.
type Result struct {
	Rate      float64 `json:"rate"`
	DurationS float64 `json:"duration_s"`
	Requests  int     `json:"requests"`
	// OK counts 200 answers with a well-formed body; Refused, 503s;
	// Failed, everything else (other statuses, transport errors, bodies
	// that do not decode).
	OK      int `json:"ok"`
	Refused int `json:"refused"`
	Failed  int `json:"failed"`
	// Late counts answers (of any status) whose body was read more than the
	// budget after the request's intended send time; LateSent, after its
	// actual send time.
	Late     int `json:"late"`
	LateSent int `json:"late_sent"`
	// OnTime counts OK answers that were not late: the caller's goodput is
	// OnTime over DurationS.
	OnTime int `json:"on_time"`
	// MeanLength is the mean count of numbers in OK answers; Completeness
	// is MeanLength over Load.Universe.
	MeanLength   float64 `json:"mean_length"`
	Completeness float64 `json:"completeness,omitempty"`
	// P50Ms, P99Ms and MaxMs are latencies from the intended send time,
	// over every request.
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
	// MaxLagMs is the longest a request was sent after its intended time.
	MaxLagMs float64 `json:"max_lag_ms"`
}

// sample is one request's outcome.
type sample struct {
	status    int // 0: transport error or bad body
	length    int
	fromDue   time.Duration
	fromSent  time.Duration
	lag       time.Duration
	decodedOK bool
}

// Run sends l and returns what it measured, once every request has been
// answered or has failed (each is bounded by ten times the budget).
func Run(ctx context.Context, l Load) (*Result, error) {
	u, err := url.Parse(l.URL)
	if err != nil || u.Scheme != "http" {
		return nil, ErrTarget
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err != nil || !ip.IsLoopback() {
		return nil, ErrTarget
	}
	budget := l.Budget
	if budget <= 0 {
		budget = 500 * time.Millisecond
	}
	client := &http.Client{
		Timeout: 10 * budget,
		// The pool a caller at this rate would configure: keep-alive, as
		// many idle connections as requests in flight.
		Transport: &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: 10000, IdleConnTimeout: 30 * time.Second},
	}
	defer client.CloseIdleConnections()

	total := int(l.Rate * l.Duration.Seconds())
	samples := make([]sample, total)
	q := u.Query()
	ups := q["u"]
	var wg sync.WaitGroup
	start := time.Now()
	waiter := bench.NewWaiter()
	defer waiter.Stop()
	pacer := bench.ConstantPacer{Freq: l.Rate}
	sent := 0
	for i := range total {
		due := start.Add(pacer.Offset(uint64(i)))
		if !waiter.Until(ctx, due) {
			break
		}
		target := l.URL
		if l.Distinct {
			target = distinctURL(u, q, ups, i)
		}
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			samples[i] = get(client, target, due)
		}()
	}
	wg.Wait()
	return summarize(samples[:sent], l, budget), nil
}

// distinctURL is u with i=<n> appended to each upstream URL of ups.
func distinctURL(u *url.URL, q url.Values, ups []string, n int) string {
	v := make(url.Values, len(q))
	for k, vs := range q {
		v[k] = vs
	}
	mine := make([]string, len(ups))
	for j, up := range ups {
		sep := "?"
		if pu, err := url.Parse(up); err == nil && pu.RawQuery != "" {
			sep = "&"
		}
		mine[j] = up + sep + "i=" + strconv.Itoa(n)
	}
	v["u"] = mine
	c := *u
	c.RawQuery = v.Encode()
	return c.String()
}

// get sends one request intended at due and reads its whole body.
func get(client *http.Client, target string, due time.Time) sample {
	sent := time.Now()
	s := sample{lag: sent.Sub(due)}
	resp, err := client.Get(target)
	if err == nil {
		s.status = resp.StatusCode
		var body struct {
			Numbers []int64 `json:"numbers"`
		}
		data, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr == nil && resp.StatusCode == http.StatusOK && json.Unmarshal(data, &body) == nil && body.Numbers != nil {
			s.decodedOK, s.length = true, len(body.Numbers)
		}
	}
	end := time.Now()
	s.fromDue, s.fromSent = end.Sub(due), end.Sub(sent)
	return s
}

// summarize turns the samples into a Result.
func summarize(samples []sample, l Load, budget time.Duration) *Result {
	r := &Result{Rate: l.Rate, DurationS: l.Duration.Seconds(), Requests: len(samples)}
	lat := make([]time.Duration, 0, len(samples))
	var length int
	for _, s := range samples {
		lat = append(lat, s.fromDue)
		late := s.fromDue > budget
		switch {
		case s.decodedOK:
			r.OK++
			length += s.length
			if !late {
				r.OnTime++
			}
		case s.status == http.StatusServiceUnavailable:
			r.Refused++
		default:
			r.Failed++
		}
		if late {
			r.Late++
		}
		if s.fromSent > budget {
			r.LateSent++
		}
		r.MaxLagMs = max(r.MaxLagMs, ms(s.lag))
	}
	if r.OK > 0 {
		r.MeanLength = float64(length) / float64(r.OK)
		if l.Universe > 0 {
			r.Completeness = r.MeanLength / float64(l.Universe)
		}
	}
	if len(lat) > 0 {
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		r.P50Ms = ms(lat[len(lat)/2])
		r.P99Ms = ms(lat[min(len(lat)-1, len(lat)*99/100)])
		r.MaxMs = ms(lat[len(lat)-1])
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// String renders r on one line.
func (r *Result) String() string {
	return fmt.Sprintf("%d req: late %d (from send %d), refused %d, failed %d, on time %d, length %.2f, p50 %.0f p99 %.0f max %.0f ms",
		r.Requests, r.Late, r.LateSent, r.Refused, r.Failed, r.OnTime, r.MeanLength, r.P50Ms, r.P99Ms, r.MaxMs)
}
