// This file traces the upstream requests of a fetch: a client span per
// request sent (the first, a hedge, a retry, or a half-open host's trial),
// under the fetch span of a traced request (package source).

package resilience

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"numbers/fetcher"
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

// traceAttempt starts the client span of one upstream request of kind in
// a fetch whose context ctx holds a recording span; the fetcher sends its
// trace context upstream. It returns nil for the span otherwise.
func (l *Link) traceAttempt(ctx context.Context, url string, kind attemptKind) (context.Context, trace.Span) {
	if l.tracer == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return ctx, nil
	}
	// The fetch span above has the count; the name says GET.
	return l.tracer.Start(ctx, "GET", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
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
