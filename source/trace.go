// This file traces upstream fetches: a span per upstream of a traced
// request, linked to the flight it joined when coalesced (the client span
// of each upstream request the flight sends is package resilience's).

package source

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"numbers/outcome"
)

// traceFetch starts the span of url for a request whose context ctx holds
// a recording span, and returns the context the fetch runs in, which holds
// the new span, and deliver wrapped to end it with the outcome and how many
// numbers came. Otherwise it returns both as they are: a request that is
// not sampled costs one look-up.
func (s *Source) traceFetch(ctx context.Context, url string, deliver func([]int64, outcome.Outcome)) (context.Context, func([]int64, outcome.Outcome)) {
	if s.tracer == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, deliver
	}
	ctx, span := s.tracer.Start(ctx, "fetch", trace.WithAttributes(semconv.URLFull(url)))
	return ctx, func(nums []int64, o outcome.Outcome) {
		span.SetAttributes(attribute.String("numbers.outcome", o.String()), attribute.Int("numbers.count", len(nums)))
		if o == outcome.Failed || o == outcome.Timeout || o == outcome.Denied {
			span.SetStatus(codes.Error, o.String())
		}
		span.End()
		deliver(nums, o)
	}
}

// flightSpan returns the span context of the fetch span that starts a
// flight in ctx, if it records: what the requests joining it link to.
func (s *Source) flightSpan(ctx context.Context) trace.SpanContext {
	if s.tracer == nil {
		return trace.SpanContext{}
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		return span.SpanContext()
	}
	return trace.SpanContext{}
}

// traceJoin marks the fetch span in ctx, if it records, as coalesced into
// the flight whose span is flight: a link, since that fetch belongs to the
// request (and trace) that started it.
func (s *Source) traceJoin(ctx context.Context, flight trace.SpanContext) {
	if s.tracer == nil {
		return
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.Bool("numbers.coalesced", true))
	if flight.IsValid() {
		span.AddLink(trace.Link{SpanContext: flight})
	}
}
