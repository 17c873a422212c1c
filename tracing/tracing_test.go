package tracing_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/valyala/fasthttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"numbers/tracing"
)

// newTracer returns a Tracer sampling as s over a provider that records
// every span it is given into the returned exporter.
func newTracer(t *testing.T, s tracing.Sampler) (*tracing.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { tp.Shutdown(context.Background()) }) //nolint:errcheck // nothing left to flush
	return tracing.New(tp, s), exp
}

// request returns a RequestCtx for GET uri with the header traceparent, if
// not empty.
func request(uri, traceparent string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI(uri)
	if traceparent != "" {
		ctx.Request.Header.Set("traceparent", traceparent)
		ctx.Request.Header.Set("tracestate", "vendor=x")
	}
	return &ctx
}

const (
	callerTrace   = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan    = "00f067aa0ba902b7"
	sampledParent = "00-" + callerTrace + "-" + callerSpan + "-01"
	droppedParent = "00-" + callerTrace + "-" + callerSpan + "-00"
)

// TestStart checks which requests get a server span and what context their
// work runs in.
func TestStart(t *testing.T) {
	cases := map[string]struct {
		sampler     tracing.Sampler
		traceparent string
		span        bool // a server span is made
		carried     bool // the context carries a valid span context
	}{
		"new trace, ratio 1":                  {tracing.Sampler{Ratio: 1}, "", true, true},
		"new trace, ratio 0":                  {tracing.Sampler{}, "", false, false},
		"sampled caller, ratio 0":             {tracing.Sampler{}, sampledParent, true, true},
		"unsampled caller, ratio 1":           {tracing.Sampler{Ratio: 1}, droppedParent, false, true},
		"unsampled caller, ignoring parents":  {tracing.Sampler{Ratio: 1, IgnoreParent: true}, droppedParent, true, true},
		"sampled caller, ignoring parents, 0": {tracing.Sampler{IgnoreParent: true}, sampledParent, false, true},
		"malformed traceparent, ratio 0":      {tracing.Sampler{}, "00-zz-zz-01", false, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tr, exp := newTracer(t, tc.sampler)
			ctx := request("http://numbers.test/numbers?u=http://a.test/", tc.traceparent)
			parent, span := tr.Start(ctx, "/numbers")
			if (span != nil) != tc.span {
				t.Fatalf("span %v; want one: %v", span, tc.span)
			}
			sc := trace.SpanContextFromContext(parent)
			if sc.IsValid() != tc.carried {
				t.Fatalf("context carries %v; want a span context: %v", sc, tc.carried)
			}
			if tc.traceparent != "" && tc.carried && sc.TraceID().String() != callerTrace {
				t.Errorf("trace %s; want the caller's %s", sc.TraceID(), callerTrace)
			}
			if span == nil {
				return
			}
			ctx.SetStatusCode(503)
			tracing.End(span, ctx)
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans exported; want 1", len(spans))
			}
			s := spans[0]
			if s.Name != "GET /numbers" || s.SpanKind != trace.SpanKindServer || s.Status.Code.String() != "Error" {
				t.Errorf("span %q, kind %v, status %v; want GET /numbers, server, Error (a 503)", s.Name, s.SpanKind, s.Status.Code)
			}
			if tc.traceparent != "" && (s.Parent.SpanID().String() != callerSpan || !s.Parent.IsRemote()) {
				t.Errorf("parent %v; want the caller's span %s, remote", s.Parent, callerSpan)
			}
			if tc.traceparent != "" && s.SpanContext.TraceState().Get("vendor") != "x" {
				t.Errorf("tracestate %q; want the caller's", s.SpanContext.TraceState())
			}
			attrs := map[string]string{}
			for _, kv := range s.Attributes {
				attrs[string(kv.Key)] = kv.Value.Emit()
			}
			for k, v := range map[string]string{"http.request.method": "GET", "http.route": "/numbers",
				"url.path": "/numbers", "http.response.status_code": "503", "url.query": "u=http://a.test/"} {
				if attrs[k] != v {
					t.Errorf("%s = %q; want %q", k, attrs[k], v)
				}
			}
		})
	}
}

// TestSamplerAgreesWithSDK checks that the decision for a caller's trace
// context is the one the SDK's own samplers take, for parents sampled and
// not, at several ratios, on the same trace IDs.
func TestSamplerAgreesWithSDK(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, ratio := range []float64{0, 0.01, 0.3, 1} {
		for _, ignore := range []bool{false, true} {
			sdk := sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))
			if ignore {
				sdk = sdktrace.TraceIDRatioBased(ratio)
			}
			tr, _ := newTracer(t, tracing.Sampler{Ratio: ratio, IgnoreParent: ignore})
			for i := range 2000 {
				var tid trace.TraceID
				binary.BigEndian.PutUint64(tid[:8], r.Uint64())
				binary.BigEndian.PutUint64(tid[8:], r.Uint64())
				flags := trace.TraceFlags(0)
				if i%2 == 0 {
					flags = trace.FlagsSampled
				}
				sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1}, TraceFlags: flags, Remote: true})
				want := sdk.ShouldSample(sdktrace.SamplingParameters{
					ParentContext: trace.ContextWithRemoteSpanContext(context.Background(), sc), TraceID: tid,
				}).Decision == sdktrace.RecordAndSample
				ctx := request("http://numbers.test/numbers", "00-"+tid.String()+"-0100000000000000-"+flags.String())
				if _, span := tr.Start(ctx, "/numbers"); (span != nil) != want {
					t.Fatalf("ratio %v, ignore parent %v, trace %s flags %s: sampled %v; the SDK says %v",
						ratio, ignore, tid, flags, span != nil, want)
				}
			}
		}
	}
}

// TestNewTraceRatio checks that about Ratio of the requests without a
// caller's trace context are sampled.
func TestNewTraceRatio(t *testing.T) {
	tr, _ := newTracer(t, tracing.Sampler{Ratio: 0.1})
	const n = 20000
	sampled := 0
	for range n {
		if _, span := tr.Start(request("http://numbers.test/numbers", ""), "/numbers"); span != nil {
			sampled++
		}
	}
	// 10% of 20,000 is 2,000 with a standard deviation of 42: 6 of them.
	if sampled < 1750 || sampled > 2250 {
		t.Errorf("%d of %d sampled at 0.1", sampled, n)
	}
}

// TestUnsampledAllocatesNothing: a request that is not sampled and whose
// caller sent no trace context costs no allocation.
func TestUnsampledAllocatesNothing(t *testing.T) {
	tr, _ := newTracer(t, tracing.Sampler{Ratio: 0})
	ctx := request("http://numbers.test/numbers?u=http://a.test/", "")
	if n := testing.AllocsPerRun(1000, func() { tr.Start(ctx, "/numbers") }); n != 0 {
		t.Errorf("%v allocations per unsampled request; want 0", n)
	}
}

// TestNilTracer: tracing off hands out nothing to the layers below.
func TestNilTracer(t *testing.T) {
	var tr *tracing.Tracer
	if tr.Tracer() != nil || tr.Propagator() != nil {
		t.Error("a nil Tracer hands out a tracer or a propagator")
	}
}

// TestCarrier checks that a trace context written into a request's headers
// by Inject reads back the same with Extract.
func TestCarrier(t *testing.T) {
	tr, _ := newTracer(t, tracing.Sampler{Ratio: 1})
	parent, span := tr.Start(request("http://numbers.test/numbers", sampledParent), "/numbers")
	defer span.End()
	var req fasthttp.Request
	tr.Propagator().Inject(parent, tracing.RequestHeader{Header: &req.Header})
	got := trace.SpanContextFromContext(tr.Propagator().Extract(context.Background(), tracing.RequestHeader{Header: &req.Header}))
	want := span.SpanContext()
	if got.TraceID() != want.TraceID() || got.SpanID() != want.SpanID() || !got.IsSampled() || got.TraceState().String() != "vendor=x" {
		t.Errorf("read back %v; want %v", got, want)
	}
	keys := tracing.RequestHeader{Header: &req.Header}.Keys()
	if len(keys) != 2 {
		t.Errorf("keys %q; want traceparent and tracestate", keys)
	}
}

// BenchmarkStart measures a request's server span at each sampling ratio,
// begun and ended, without a caller's trace context: at 0 the cost of
// deciding not to trace, at 1 that of a span (batched, not exported).
func BenchmarkStart(b *testing.B) {
	for _, ratio := range []float64{0, 0.01, 1} {
		b.Run(fmt.Sprintf("ratio=%v", ratio), func(b *testing.B) {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()), sdktrace.WithSampler(sdktrace.AlwaysSample()))
			b.Cleanup(func() { tp.Shutdown(context.Background()) }) //nolint:errcheck // a benchmark's teardown
			tr := tracing.New(tp, tracing.Sampler{Ratio: ratio})
			ctx := request("http://numbers.test/numbers?u=http://a.test/&u=http://b.test/", "")
			ctx.Request.Header.Set("User-Agent", "bench")
			ctx.Request.Header.Set("Accept", "application/json")
			for b.Loop() {
				if _, span := tr.Start(ctx, "/numbers"); span != nil {
					tracing.End(span, ctx)
				}
			}
		})
	}
}
