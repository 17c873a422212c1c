// This file traces requests (package tracing): the server span of
// /numbers and of the jobs endpoints, and what a trace shows of an answer.

package handler

import (
	"bytes"
	"context"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"numbers/outcome"
	"numbers/tracing"
)

// tracedRoute returns the route of the traced endpoint at path, or "" for
// a path that is not traced (the health endpoints, the document, 404s).
func tracedRoute(path []byte) string {
	if string(path) == "/numbers" {
		return "/numbers"
	}
	if route, id := jobsRoute(path); route != jobsOther && (id != "" || route == "/jobs") {
		return route
	}
	return ""
}

// serveTraced serves a request to a traced route in its server span, if it
// is sampled, and passes its trace context on to its fetches either way.
// An event stream's span ends when the stream is handed to the hub, not
// when the stream ends.
func (h *Handler) serveTraced(ctx *fasthttp.RequestCtx, route string) {
	parent, span := h.tracer.Start(ctx, route)
	h.serve(ctx, parent)
	if span == nil {
		return
	}
	var attrs []attribute.KeyValue
	if v := ctx.Response.Header.Peek(outcomesHeader); len(v) > 0 {
		attrs = append(attrs, attribute.String("numbers.outcomes", string(v)),
			attribute.Bool("numbers.complete", string(ctx.Response.Header.Peek("X-Numbers-Complete")) == "true"))
	}
	if v := ctx.Response.Header.Peek("Location"); len(v) > 0 {
		attrs = append(attrs, attribute.String("numbers.job", string(v)))
	}
	if v := ctx.Response.Header.Peek("Link"); len(v) > 0 {
		attrs = append(attrs, attribute.String("numbers.job", string(bytes.Trim(bytes.Split(v, []byte(";"))[0], "<> "))))
	}
	tracing.End(span, ctx, attrs...)
}

// traceAbandoned records on the request's span, if it records, that the
// handler stopped waiting for url's fetch and what stood in for it. The
// fetch's own span goes on to its end (package source).
func (h *Handler) traceAbandoned(ctx context.Context, url string, o outcome.Outcome) {
	if h.tracer == nil {
		return
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("abandoned", trace.WithAttributes(semconv.URLFull(url), attribute.String("numbers.outcome", o.String())))
	}
}
