package status

import (
	"encoding/json"
	"math"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// historyLen is how many samples a page gets when it opens: a minute's.
const historyLen = 60

// Sample is what the page draws for one interval. Rates are per second over
// the interval; latencies are of the last minute, in seconds, interpolated
// within the response-time histogram's buckets (MaxBelow is the upper bound
// of the highest bucket that has an answer).
type Sample struct {
	Time       int64              `json:"t"` // Unix seconds
	OnTime     float64            `json:"onTime"`
	Partial    float64            `json:"partial"`
	Late       float64            `json:"late"`
	Refused    map[string]float64 `json:"refused"` // by reason
	P50        float64            `json:"p50"`
	P99        float64            `json:"p99"`
	MaxBelow   float64            `json:"maxBelow"`
	Hosts      map[string]float64 `json:"hosts"`    // upstream hosts by outlier state
	Upstreams  map[string]float64 `json:"outcomes"` // upstream outcomes per second
	Coalesced  float64            `json:"coalesced"`
	FetchP50   float64            `json:"fetchP50"` // live fetches of the last minute
	CacheItems float64            `json:"cacheEntries"`
	HitRatio   float64            `json:"hitRatio"` // cached and stale among the upstreams of the last minute
	Redis      *float64           `json:"redisUp,omitempty"`
	Heap       float64            `json:"heap"`
	RSS        float64            `json:"rss"`
	GCPause    float64            `json:"gcPauseMax"` // the longest recent stop-the-world pause
	Goroutines float64            `json:"goroutines"`
	InFlight   float64            `json:"inFlight"`
	Margin     float64            `json:"margin"` // the fixed margin plus the delay kept for the caller
	Jobs       []Job              `json:"jobs"`
	PublicPort int                `json:"publicPort"`
}

// Job is one recent job as the page lists it.
type Job struct {
	ID      string `json:"id"`
	State   string `json:"state"`
	Settled int    `json:"settled"`
	Total   int    `json:"total"`
	Numbers int    `json:"numbers"`
}

// reading is what one gather gave: counters by name and label, and the
// response-time and fetch-time histograms' cumulative buckets.
type reading struct {
	at       time.Time
	values   map[string]float64
	response []bucket
	fetch    []bucket
}

type bucket struct{ le, count float64 }

// sample reads the metrics every interval and publishes a Sample, until
// stop is closed or the Page stops.
func (p *Page) sample(stop chan struct{}) {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	var window []reading // the last minute's readings, oldest first
	for {
		r, err := p.read()
		if err == nil {
			window = append(window, r)
			if len(window) > historyLen+1 {
				window = window[1:]
			}
			if len(window) > 1 {
				p.publish(p.frame(window))
			}
		}
		select {
		case <-stop:
			return
		case <-p.quit:
			return
		case <-t.C:
		}
	}
}

// read gathers the metrics the page shows.
func (p *Page) read() (reading, error) {
	mfs, err := p.cfg.Metrics.Gather()
	if err != nil {
		return reading{}, err
	}
	r := reading{at: time.Now(), values: map[string]float64{}}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			key := mf.GetName()
			for _, l := range m.Label {
				if l.GetName() == "route" && l.GetValue() != "/numbers" {
					key = ""
					break
				}
				if l.GetName() != "route" {
					key += "/" + l.GetValue()
				}
			}
			switch {
			case key == "":
			case m.Counter != nil:
				r.values[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				r.values[key] = m.Gauge.GetValue()
			case m.Summary != nil && key == "go_gc_duration_seconds":
				for _, q := range m.Summary.Quantile {
					if q.GetQuantile() == 1 {
						r.values[key] = q.GetValue()
					}
				}
			case m.Histogram != nil && key == "numbers_response_seconds":
				r.response = buckets(m.Histogram)
			case m.Histogram != nil && key == "numbers_upstream_fetch_seconds":
				r.fetch = buckets(m.Histogram)
			}
		}
	}
	return r, nil
}

func buckets(h *dto.Histogram) []bucket {
	out := make([]bucket, 0, len(h.Bucket)+1)
	for _, b := range h.Bucket {
		out = append(out, bucket{b.GetUpperBound(), float64(b.GetCumulativeCount())})
	}
	return append(out, bucket{math.Inf(1), float64(h.GetSampleCount())})
}

// frame makes the SSE frame of the newest reading of window.
func (p *Page) frame(window []reading) []byte {
	now, prev, first := window[len(window)-1], window[len(window)-2], window[0]
	secs := now.at.Sub(prev.at).Seconds()
	rate := func(key string) float64 { return max(now.values[key]-prev.values[key], 0) / secs }
	minute := func(key string) float64 { return max(now.values[key]-first.values[key], 0) }
	s := Sample{
		Time:       now.at.Unix(),
		Partial:    rate("numbers_partial_responses_total"),
		Late:       rate("numbers_late_responses_total"),
		Refused:    map[string]float64{},
		Hosts:      map[string]float64{},
		Upstreams:  map[string]float64{},
		Coalesced:  rate("numbers_coalesced_total"),
		CacheItems: now.values["numbers_cache_entries"],
		Heap:       now.values["go_memstats_heap_alloc_bytes"],
		RSS:        now.values["process_resident_memory_bytes"],
		GCPause:    now.values["go_gc_duration_seconds"],
		Goroutines: now.values["go_goroutines"],
		InFlight:   now.values["numbers_in_flight_requests"],
		Margin:     p.cfg.Margin.Seconds() + now.values["numbers_answer_delay_seconds"],
		PublicPort: p.cfg.PublicPort,
	}
	s.OnTime = max(rate("numbers_requests_total/200")-s.Late, 0)
	for _, reason := range []string{"in_flight", "queue", "cpu", "deadline"} {
		s.Refused[reason] = rate("numbers_shed_total/" + reason)
	}
	for _, st := range []string{"healthy", "ejected", "half-open"} {
		s.Hosts[st] = now.values["numbers_health_hosts/"+st]
	}
	var all float64
	for _, o := range []string{"ok", "cached", "stale", "failed", "denied", "timeout", "invalid", "ejected"} {
		s.Upstreams[o] = rate("numbers_upstreams_total/" + o)
		all += minute("numbers_upstreams_total/" + o)
	}
	if all > 0 {
		s.HitRatio = (minute("numbers_upstreams_total/cached") + minute("numbers_upstreams_total/stale")) / all
	}
	if up, ok := now.values["numbers_redis_up"]; ok {
		s.Redis = &up
	}
	s.P50, s.P99, s.MaxBelow = quantiles(first.response, now.response)
	s.FetchP50, _, _ = quantiles(first.fetch, now.fetch)
	s.Jobs = p.jobs()
	b, _ := json.Marshal(s) // a Sample always encodes
	return append(append([]byte("data: "), b...), "\n\n"...)
}

// quantiles returns the median, the 99th percentile and the upper bound of
// the highest non-empty bucket of the answers between two readings of a
// histogram, interpolating linearly within a bucket.
func quantiles(from, to []bucket) (p50, p99, maxBelow float64) {
	if len(to) == 0 {
		return 0, 0, 0
	}
	d := make([]float64, len(to))
	for i := range to {
		d[i] = to[i].count
		if len(from) == len(to) {
			d[i] -= from[i].count
		}
	}
	n := d[len(d)-1]
	if n <= 0 {
		return 0, 0, 0
	}
	q := func(f float64) float64 {
		rank := f * n
		lo, below := 0.0, 0.0
		for i, c := range d {
			if c >= rank {
				hi := to[i].le
				if math.IsInf(hi, 1) {
					return lo
				}
				return lo + (hi-lo)*(rank-below)/max(c-below, 1)
			}
			lo, below = to[i].le, c
		}
		return lo
	}
	for i := range d {
		if i == 0 && d[0] > 0 || i > 0 && d[i] > d[i-1] {
			maxBelow = to[i].le
		}
	}
	if math.IsInf(maxBelow, 1) {
		maxBelow = to[len(to)-2].le
	}
	return q(0.5), q(0.99), maxBelow
}

// jobs reads the recent jobs.
func (p *Page) jobs() []Job {
	out := []Job{}
	if p.cfg.Jobs == nil {
		return out
	}
	for _, id := range p.cfg.Jobs.Recent() {
		snap, err := p.cfg.Jobs.Store().Get(id)
		if err != nil {
			continue
		}
		out = append(out, Job{ID: snap.ID, State: snap.State.String(), Settled: snap.Settled, Total: snap.Total, Numbers: len(snap.Numbers)})
	}
	return out
}
