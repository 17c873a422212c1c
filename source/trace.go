// This file traces upstream fetches: a span per upstream of a traced
// request, linked to the flight it joined when coalesced, and a client span
// per upstream request the flight sends (the first, a hedge, a retry, or a
// half-open host's trial).

package source

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"numbers/fetcher"
	"numbers/outcome"
)

// attemptKind says why one request of a fetch was sent.
type attemptKind uint8

const (
	firstAttempt attemptKind = iota
	hedgeAttempt
	retryAttempt
	trialAttempt
)

// attemptNames are the values of numbers.attempt, by kind.
var attemptNames = [...]string{firstAttempt: "first", hedgeAttempt: "hedge", retryAttempt: "retry", trialAttempt: "trial"}

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

// traceAttempt starts the client span of one upstream request of kind in
// a fetch whose context ctx holds a recording span; the fetcher sends its
// trace context upstream. It returns nil for the span otherwise.
func (s *Source) traceAttempt(ctx context.Context, url string, kind attemptKind) (context.Context, trace.Span) {
	if s.tracer == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	// The fetch span above has the count; the name says GET.
	return s.tracer.Start(ctx, "GET", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		semconv.URLFull(url), attribute.String("numbers.attempt", attemptNames[kind])))
}

// endAttempt ends the span of one upstream request with its status code,
// or the kind of its failure.
func endAttempt(span trace.Span, r fetcher.Response, err error) {
	var st *fetcher.StatusError
	switch {
	case err == nil:
		span.SetAttributes(semconv.HTTPResponseStatusCode(r.Status))
	case errors.As(err, &st):
		span.SetAttributes(semconv.HTTPResponseStatusCode(st.Code))
	}
	if err != nil {
		span.SetAttributes(semconv.ErrorTypeKey.String(failureKind(err)))
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// failureKinds name the fetcher's kinds of failure for error.type.
var failureKinds = []struct {
	kind error
	name string
}{
	{fetcher.ErrTimeout, "timeout"}, {fetcher.ErrDenied, "denied"}, {fetcher.ErrTransport, "transport"},
	{fetcher.ErrStatus, "status"}, {fetcher.ErrBody, "body"}, {fetcher.ErrTooLarge, "too_large"},
}

// failureKind returns the name of err's kind of failure.
func failureKind(err error) string {
	for _, k := range failureKinds {
		if errors.Is(err, k.kind) {
			return k.name
		}
	}
	return "_OTHER"
}
