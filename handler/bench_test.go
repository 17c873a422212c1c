package handler

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"numbers/fetcher"
	"numbers/internal/testupstream"
	"numbers/outcome"
	"numbers/overload"
	"numbers/resilience"
	"numbers/source"
	"numbers/telemetry"
	"numbers/tracing"
)

// benchUpstreams is how many upstreams a benchmark request names.
const benchUpstreams = 4

// instant is a Source that returns the same 20 numbers at once for any URL.
type instant []int64

func (n instant) Fetch(_ context.Context, _ string, deliver func([]int64, outcome.Outcome)) {
	deliver(n, outcome.OK)
}

func (instant) Abandon(string) ([]int64, outcome.Outcome) { return nil, outcome.Timeout }

func twenty(offset int64) []int64 {
	nums := make([]int64, 20)
	for i := range nums {
		nums[i] = offset + int64(i)*1009
	}
	return nums
}

func benchURI() string {
	us := make([]string, benchUpstreams)
	for i := range us {
		us[i] = fmt.Sprintf("http://u%d.test:8090/numbers?set=%d", i, i)
	}
	return numbersURI(us...)
}

// BenchmarkHandle measures the handler's own work per request: h.Handle on a
// reused RequestCtx naming 4 upstreams whose fake fetchers answer 20 numbers
// at once. The loop runs inside a real server's handler so that ctx.Time() is
// real; the budget is long so the deadline never fires. The metrics=on case
// adds the service's Prometheus metrics (observer and request counter), to
// measure what they cost.
func BenchmarkHandle(b *testing.B) {
	b.Run("metrics=off", func(b *testing.B) {
		h := New(Config{Source: instant(twenty(7)), Budget: time.Hour})
		benchHandle(b, h.Handle, fasthttp.StatusOK)
	})
	b.Run("metrics=on", func(b *testing.B) {
		m := telemetry.New(time.Hour)
		h := New(Config{Source: instant(twenty(7)), Budget: time.Hour, Observer: m})
		benchHandle(b, m.Wrap(h.Handle), fasthttp.StatusOK)
	})
}

// BenchmarkHandleTraced is BenchmarkHandle's metrics=on case traced at each
// sampling ratio (tracedCases): a sampled request makes its server span
// only, since the fake source makes none (BenchmarkEndToEndTraced has them
// all).
func BenchmarkHandleTraced(b *testing.B) {
	for _, c := range tracedCases {
		b.Run(c.name, func(b *testing.B) {
			m := telemetry.New(time.Hour)
			h := New(Config{Source: instant(twenty(7)), Budget: time.Hour, Observer: m, Tracer: benchTracer(b, c.ratio, c.export)})
			benchHandle(b, m.Wrap(h.Handle), fasthttp.StatusOK)
		})
	}
}

// tracedCases are the sampling ratios the traced benchmarks run at, the
// spans exported with OTLP or, to tell the SDK's cost from the export's,
// dropped by the batcher's exporter.
var tracedCases = []struct {
	name   string
	ratio  float64
	export bool
}{
	{"trace=0", 0, true}, {"trace=0.01", 0.01, true}, {"trace=0.01,noexport", 0.01, false}, {"trace=1", 1, true},
}

// benchTracer returns a Tracer sampling at ratio whose spans are batched, as
// the service does, and exported with OTLP over HTTP to a loopback server
// that reads and drops them (it runs in the benchmark's process, so its
// work counts too), or with export false dropped by a no-op exporter. All
// of it stops at the benchmark's end.
func benchTracer(b *testing.B, ratio float64, export bool) *tracing.Tracer {
	b.Helper()
	if !export {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), sdktrace.WithSampler(sdktrace.AlwaysSample()))
		b.Cleanup(func() { tp.Shutdown(context.Background()) }) //nolint:errcheck // a benchmark's teardown
		return tracing.New(tp, tracing.Sampler{Ratio: ratio})
	}
	sink := testupstream.Start(b, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		io.Copy(io.Discard, r.Body) //nolint:errcheck // a sink
		w.Header().Set("Content-Type", "application/x-protobuf")
	})
	client := &http.Client{Transport: &http.Transport{}}
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(sink.URL+"/v1/traces"),
		otlptracehttp.WithHTTPClient(client))
	if err != nil {
		b.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	b.Cleanup(func() {
		tp.Shutdown(context.Background()) //nolint:errcheck // a benchmark's teardown
		client.CloseIdleConnections()
	})
	return tracing.New(tp, tracing.Sampler{Ratio: ratio})
}

// BenchmarkReject measures the refusal path, to compare with BenchmarkHandle:
// the same request, refused by admission with 503 before any other work.
func BenchmarkReject(b *testing.B) {
	refuse := admitFunc(func(time.Duration, int64) overload.Reason { return overload.Queue })
	b.Run("metrics=off", func(b *testing.B) {
		h := New(Config{Source: instant(twenty(7)), Budget: time.Hour, Overload: refuse})
		benchHandle(b, h.Handle, fasthttp.StatusServiceUnavailable)
	})
	b.Run("metrics=on", func(b *testing.B) {
		m := telemetry.New(time.Hour)
		h := New(Config{Source: instant(twenty(7)), Budget: time.Hour, Overload: refuse, Observer: m})
		benchHandle(b, m.Wrap(h.Handle), fasthttp.StatusServiceUnavailable)
	})
}

// benchHandle runs handle b.N times on one request and checks that the last
// answer had status (and, for 200, the numbers).
func benchHandle(b *testing.B, handle fasthttp.RequestHandler, status int) {
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				ctx.Response.Reset()
				handle(ctx)
			}
			b.StopTimer()
			if ctx.Response.StatusCode() != status || status == 200 && !strings.HasPrefix(string(ctx.Response.Body()), `{"numbers":[7,`) {
				b.Errorf("got %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		},
		NoDefaultContentType: true,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() { srv.Shutdown(); <-done }() //nolint:errcheck // nothing to do on a failed shutdown of a benchmark
	c, err := ln.Dial()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var req fasthttp.Request
	req.SetRequestURI(benchURI())
	req.SetConnectionClose()
	var resp fasthttp.Response
	if err := fasthttpDo(c, &req, &resp); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEndToEnd measures a whole request: a client over an in-memory
// connection to the handler on a real server, which fetches 4 in-memory
// fasthttp upstreams, each answering 20 numbers, with the real fetcher.Client.
func BenchmarkEndToEnd(b *testing.B) { benchEndToEnd(b, nil) }

// BenchmarkEndToEndTraced is BenchmarkEndToEnd traced at each sampling
// ratio (tracedCases): a sampled request makes a server span, 4 fetch spans
// and 4 client spans, and sends traceparent upstream.
func BenchmarkEndToEndTraced(b *testing.B) {
	for _, c := range tracedCases {
		b.Run(c.name, func(b *testing.B) { benchEndToEnd(b, benchTracer(b, c.ratio, c.export)) })
	}
}

// benchEndToEnd is BenchmarkEndToEnd traced by tr (nil: not).
func benchEndToEnd(b *testing.B, tr *tracing.Tracer) {
	upstreams := map[string]*fasthttputil.InmemoryListener{}
	var servers []*fasthttp.Server
	var dones []chan error
	for i := range benchUpstreams {
		body := []byte(`{"numbers":` + strings.ReplaceAll(fmt.Sprint(twenty(int64(i))), " ", ",") + `}`)
		ln := fasthttputil.NewInmemoryListener()
		srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetContentType("application/json")
			ctx.SetBody(body)
		}}
		done := make(chan error, 1)
		go func() { done <- srv.Serve(ln) }()
		upstreams[fmt.Sprintf("u%d.test:8090", i)] = ln
		servers, dones = append(servers, srv), append(dones, done)
	}
	defer func() {
		for i, srv := range servers {
			srv.Shutdown() //nolint:errcheck // benchmark teardown
			<-dones[i]
		}
	}()
	client := fetcher.New(fetcher.Config{
		Propagator:          tr.Propagator(),
		MaxIdleConnDuration: time.Second,
		DialTimeout: func(addr string, _ time.Duration) (net.Conn, error) {
			ln, ok := upstreams[addr]
			if !ok {
				return nil, fmt.Errorf("no upstream %s", addr)
			}
			return ln.Dial()
		},
	})
	h := New(Config{Source: source.New(source.Config{Upstream: resilience.New(resilience.Config{Fetcher: client}), Tracer: tr.Tracer()}), Budget: 10 * time.Second, Tracer: tr})
	ln := serve(b, h)
	c, err := ln.Dial()
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br, bw := bufio.NewReader(c), bufio.NewWriter(c)
	var req fasthttp.Request
	req.SetRequestURI(benchURI())
	var resp fasthttp.Response
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := req.Write(bw); err != nil {
			b.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
		if err := resp.Read(br); err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode() != 200 || string(resp.Header.Peek("X-Numbers-Complete")) != "true" {
			b.Fatalf("got %d %s %s", resp.StatusCode(), resp.Header.Peek("X-Numbers-Outcomes"), resp.Body())
		}
	}
	b.StopTimer()
}
