package service

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"numbers/tracing"
)

// startTracing builds the OpenTelemetry SDK as c says: spans batched and exported
// with OTLP over HTTP, the resource named numbers (OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES win), and the Tracer that samples. It returns
// nil and no stop when tracing is off. stop flushes the spans still
// batched, for at most drain.
func startTracing(c Tracing, version string, drain time.Duration) (*tracing.Tracer, func(), error) {
	if !c.On {
		return nil, nil, nil
	}
	ctx := context.Background()
	var opts []otlptracehttp.Option
	if c.URL != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(c.URL))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName("numbers"), semconv.ServiceVersion(version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost())
	if err != nil {
		return nil, nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		// The Tracer has decided before it asks for a span (package tracing).
		sdktrace.WithSampler(sdktrace.AlwaysSample()),
	)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), drain)
		defer cancel()
		tp.Shutdown(ctx) //nolint:errcheck // past the drain time the spans still batched are lost
	}
	return tracing.New(tp, c.Sampler), stop, nil
}
