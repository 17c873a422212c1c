package status

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"

	"numbers/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// countingGatherer counts the gathers, which the sampler alone makes.
type countingGatherer struct {
	prometheus.Gatherer
	n atomic.Int64
}

func (g *countingGatherer) Gather() ([]*dto.MetricFamily, error) {
	g.n.Add(1)
	return g.Gatherer.Gather()
}

// stream is a ResponseWriter that keeps what is written to it.
type stream struct {
	mu     sync.Mutex
	header http.Header
	body   bytes.Buffer
}

func (s *stream) Header() http.Header { return s.header }
func (s *stream) WriteHeader(int)     {}
func (s *stream) Flush()              {}
func (s *stream) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.body.Write(b)
}

// samples decodes the data frames written so far.
func (s *stream) samples(t *testing.T) []Sample {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Sample
	for frame := range strings.SplitSeq(s.body.String(), "\n\n") {
		data, ok := strings.CutPrefix(frame, "data: ")
		if !ok {
			continue
		}
		var smp Sample
		if err := json.Unmarshal([]byte(data), &smp); err != nil {
			t.Fatal(err)
		}
		out = append(out, smp)
	}
	return out
}

// open serves the event stream to a page until cancel; done closes when
// the handler returns.
func open(p *Page) (s *stream, cancel func(), done chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	s = &stream{header: http.Header{}}
	done = make(chan struct{})
	go func() {
		defer close(done)
		p.serveEvents(s, httptest.NewRequest("GET", "/status/events", nil).WithContext(ctx))
	}()
	return s, cancel, done
}

// TestSamplesOnlyWhileOpen: nothing is read while no page is open; an open
// page receives a sample a second with the rates and latencies of the
// answers; when it closes, the sampling stops.
func TestSamplesOnlyWhileOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := telemetry.New(500 * time.Millisecond)
		ok := m.Wrap(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(http.StatusOK) })
		g := &countingGatherer{Gatherer: m.Gatherer()}
		p := New(Config{Metrics: g, Margin: 15 * time.Millisecond, PublicPort: 8080})
		defer p.Stop()

		time.Sleep(10 * time.Second) // the bubble's clock
		if n := g.n.Load(); n != 0 {
			t.Fatalf("%d gathers with no page open; want 0", n)
		}
		s, cancel, done := open(p)
		for range 4 {
			synctest.Wait()
			for range 3 {
				var ctx fasthttp.RequestCtx
				ctx.Request.SetRequestURI("/numbers")
				ok(&ctx)
				m.Answered(100*time.Millisecond, false, false)
			}
			time.Sleep(time.Second) // the bubble's clock: one sample
		}
		synctest.Wait()
		got := s.samples(t)
		if len(got) < 3 {
			t.Fatalf("%d samples in 4 s; want one a second", len(got))
		}
		last := got[len(got)-1]
		if last.OnTime != 3 || last.Late != 0 || last.Margin != 0.015 || last.PublicPort != 8080 {
			t.Errorf("sample %+v; want 3 on time a second, none late, margin 0.015, port 8080", last)
		}
		if last.P50 <= 0 || last.P50 > last.MaxBelow || last.MaxBelow < 0.1 || last.MaxBelow > 0.25 {
			t.Errorf("p50 %v, max below %v; answers took 100 ms", last.P50, last.MaxBelow)
		}

		cancel()
		<-done
		synctest.Wait()
		n := g.n.Load()
		time.Sleep(10 * time.Second) // the bubble's clock
		if more := g.n.Load() - n; more != 0 {
			t.Fatalf("%d gathers after the last page closed; want 0", more)
		}
	})
}

// TestStopEndsStreams: Stop ends the open streams, and a page that opens
// afterwards is refused.
func TestStopEndsStreams(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(Config{Metrics: prometheus.NewRegistry()})
		_, cancel, done := open(p)
		defer cancel()
		synctest.Wait()
		p.Stop()
		<-done
		rec := httptest.NewRecorder()
		p.serveEvents(rec, httptest.NewRequest("GET", "/status/events", nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("a stream after Stop: %d; want 503", rec.Code)
		}
	})
}

// TestQuantiles: percentiles interpolate within the buckets of the answers
// between two readings.
func TestQuantiles(t *testing.T) {
	from := []bucket{{0.1, 10}, {0.2, 10}, {math.Inf(1), 10}}
	to := []bucket{{0.1, 60}, {0.2, 110}, {math.Inf(1), 110}}
	// 50 answers in (0, 0.1], 50 in (0.1, 0.2]: the median is the first
	// bucket's bound, the 99th the 49th of 50 in the second.
	p50, p99, maxBelow := quantiles(from, to)
	if math.Abs(p50-0.1) > 1e-9 || math.Abs(p99-0.198) > 1e-9 || maxBelow != 0.2 {
		t.Fatalf("quantiles = %v, %v, %v; want 0.1, 0.198, 0.2", p50, p99, maxBelow)
	}
	if p50, p99, maxBelow := quantiles(to, to); p50 != 0 || p99 != 0 || maxBelow != 0 {
		t.Fatalf("no answers: %v %v %v; want zeros", p50, p99, maxBelow)
	}
}

// TestHeaders: the page and its files carry the strict headers.
func TestHeaders(t *testing.T) {
	p := New(Config{Metrics: prometheus.NewRegistry()})
	defer p.Stop()
	mux := http.NewServeMux()
	for pattern, h := range p.Routes() {
		mux.Handle(pattern, h)
	}
	for _, path := range []string{"/", "/status", "/ui/status.js", "/ui/uplot/uPlot.iife.min.js"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s: %d", path, rec.Code)
		}
		for k, v := range Headers {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("%s: %s = %q; want %q", path, k, got, v)
			}
		}
	}
}
