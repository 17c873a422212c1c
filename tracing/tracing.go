// Package tracing is the service's OpenTelemetry tracing on fasthttp: it
// decides which requests are traced, starts and ends their server spans,
// and carries the W3C trace context (traceparent, tracestate) in and out of
// fasthttp's request headers.
//
// It is built so that tracing off costs nothing and an unsampled request
// next to nothing. Off is a nil *Tracer: its callers check for nil and do
// nothing else. On, the sampling decision is taken here, before the
// OpenTelemetry SDK is asked for anything, with the semantics of the SDK's
// ParentBased(TraceIDRatioBased) sampler: a request without a caller's
// trace context is sampled with probability Ratio; one with it follows the
// caller's sampled flag. An unsampled request gets no span and, unless its
// caller sent a traceparent, allocates nothing; the spans below a request
// (package source) are made only under a span that records. So the SDK's
// own sampler must sample every span it is asked for (sdktrace.AlwaysSample):
// the decision is already taken.
package tracing

import (
	"context"
	"encoding/binary"
	"math/rand/v2"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Name is the instrumentation scope of the service's spans.
const Name = "numbers"

// Sampler says which requests are traced.
type Sampler struct {
	// Ratio is the share of traces sampled, from 0 (none) to 1 (all): of
	// the requests that arrive without a trace context, and with
	// IgnoreParent of all, decided on the trace ID as TraceIDRatioBased does.
	Ratio float64
	// IgnoreParent applies Ratio to requests whose caller sent a trace
	// context too (OTEL_TRACES_SAMPLER=traceidratio); false follows the
	// caller's sampled flag (parentbased_traceidratio).
	IgnoreParent bool
}

// Tracer starts the server spans of sampled requests. A nil *Tracer is
// tracing off. It is safe for concurrent use.
type Tracer struct {
	tracer       trace.Tracer
	bound        uint64 // a trace is sampled when the low 63 bits of its ID are below it
	all          bool   // Ratio >= 1
	ignoreParent bool
}

// New returns a Tracer making spans with tp's tracer, sampling as s says.
// tp's own sampler must sample every span (sdktrace.AlwaysSample()).
func New(tp trace.TracerProvider, s Sampler) *Tracer {
	t := &Tracer{tracer: tp.Tracer(Name), all: s.Ratio >= 1, ignoreParent: s.IgnoreParent}
	if s.Ratio > 0 && s.Ratio < 1 {
		t.bound = uint64(s.Ratio * (1 << 63))
	}
	return t
}

// Tracer returns the OpenTelemetry tracer the spans below a request are
// made with (package source makes them only under a recording span), or
// nil when t is nil.
func (t *Tracer) Tracer() trace.Tracer {
	if t == nil {
		return nil
	}
	return t.tracer
}

// Propagator returns what writes a fetch's trace context into its upstream
// request (package fetcher): the W3C trace context, traceparent and
// tracestate. It returns nil when t is nil: nothing is sent.
func (t *Tracer) Propagator() propagation.TextMapPropagator {
	if t == nil {
		return nil
	}
	return w3c
}

// w3c is the W3C trace context: what callers send and upstreams are sent.
var w3c propagation.TextMapPropagator = propagation.TraceContext{}

// Start begins the server span of a request to route (such as "/numbers"
// or "/jobs/{id}"), dated from when fasthttp read it, if the request is
// sampled. The context returned carries the span for everything the
// request does; it does not derive from ctx, which must not outlive the
// handler. A request that is not sampled gets no span (nil), and a context
// that carries its caller's trace context, if it sent one, so that its
// upstream requests pass that on with the caller's decision not to sample.
func (t *Tracer) Start(ctx *fasthttp.RequestCtx, route string) (context.Context, trace.Span) {
	parent, caller := context.Background(), trace.SpanContext{}
	// The key in fasthttp's canonical form spares Peek a copy and a
	// normalisation on every request: the service's server normalises the
	// header names it reads (it does not set DisableHeaderNamesNormalizing).
	if len(ctx.Request.Header.PeekCanonical(traceparentKey)) > 0 {
		parent = w3c.Extract(parent, RequestHeader{&ctx.Request.Header})
		caller = trace.SpanContextFromContext(parent)
	}
	if !t.sampled(caller) {
		return parent, nil
	}
	// What OpenTelemetry's HTTP server conventions require, and no more:
	// every attribute costs the SDK and the exporter on every sampled span.
	method := string(ctx.Method())
	attrs := make([]attribute.KeyValue, 4, 5)
	attrs[0] = semconv.HTTPRequestMethodKey.String(method)
	attrs[1] = semconv.HTTPRoute(route)
	attrs[2] = semconv.URLPath(string(ctx.Path()))
	attrs[3] = semconv.URLScheme(scheme(ctx))
	if q := ctx.URI().QueryString(); len(q) > 0 {
		attrs = append(attrs, semconv.URLQuery(string(q)))
	}
	return t.tracer.Start(parent, method+" "+route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(ctx.Time()), trace.WithAttributes(attrs...))
}

// traceparentKey is the W3C traceparent header's name as fasthttp stores it.
var traceparentKey = []byte("Traceparent")

// End ends the server span of the request ctx with its response's status
// code, an error status for a 5xx (OpenTelemetry's HTTP server
// conventions), and attrs.
func End(span trace.Span, ctx *fasthttp.RequestCtx, attrs ...attribute.KeyValue) {
	code := ctx.Response.StatusCode()
	span.SetAttributes(append(attrs, semconv.HTTPResponseStatusCode(code))...)
	if code >= 500 {
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// sampled says whether a request whose caller's trace context is parent
// (invalid when it sent none) is traced.
func (t *Tracer) sampled(parent trace.SpanContext) bool {
	if parent.IsValid() && !t.ignoreParent {
		return parent.IsSampled()
	}
	if t.all || t.bound == 0 {
		return t.all
	}
	if parent.IsValid() {
		id := parent.TraceID()
		return binary.BigEndian.Uint64(id[8:])>>1 < t.bound // as TraceIDRatioBased
	}
	// A new trace: the SDK will draw its ID at random, so a draw here is
	// the same chance.
	return rand.Uint64()>>1 < t.bound
}

// scheme returns the scheme the request came over.
func scheme(ctx *fasthttp.RequestCtx) string {
	if ctx.IsTLS() {
		return "https"
	}
	return "http"
}
