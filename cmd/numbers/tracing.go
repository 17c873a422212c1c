package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"numbers/tracing"
)

// tracingConfig is the configuration of OpenTelemetry tracing: flags
// -otlp-endpoint and -trace-sample, and the standard OTEL_* variables.
type tracingConfig struct {
	endpoint string  // -otlp-endpoint: the collector's base URL, or the traces URL itself
	ratio    float64 // -trace-sample
	ratioSet bool    // -trace-sample was given, on the command line or as NUMBERS_TRACE_SAMPLE

	// Settled by resolve:
	on       bool            // an endpoint is known: the flag, or OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
	traceURL string          // the URL to export to, from the flag; empty: the exporter reads OTEL_*
	sampler  tracing.Sampler // -trace-sample, else OTEL_TRACES_SAMPLER, else defaultTraceRatio
}

// defaultTraceRatio is the share of new traces sampled when nothing says
// otherwise: at 1% tracing costs under 5% of a request (README), and a
// caller who sends a sampled traceparent is traced whatever the ratio.
const defaultTraceRatio = 0.01

// addTracingFlags defines the flags of c on fs.
func addTracingFlags(fs *flag.FlagSet, c *tracingConfig) {
	c.ratio = defaultTraceRatio
	fs.StringVar(&c.endpoint, "otlp-endpoint", "", "export traces with OTLP over HTTP to this collector, e.g. http://localhost:4318 (/v1/traces is added to a URL without a path); empty: tracing off unless OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set")
	fs.Func("trace-sample", "share of new traces sampled, 0 to 1; a request whose caller sent a traceparent follows its sampled flag (default 0.01, or OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG)", func(s string) error {
		r, err := strconv.ParseFloat(s, 64)
		if err != nil || r < 0 || r > 1 {
			return errors.New("want a share from 0 to 1, such as 0.01")
		}
		c.ratio, c.ratioSet = r, true
		return nil
	})
}

// resolve reads the standard OTEL_* variables with getenv and settles
// whether tracing is on, where it exports and how it samples. The flags
// win over the variables; OTEL_SDK_DISABLED=true and
// OTEL_TRACES_EXPORTER=none turn tracing off.
func (c *tracingConfig) resolve(getenv func(string) string) error {
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); {
	case strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true"), exp == "none":
		return nil
	case exp != "" && exp != "otlp":
		return fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only otlp (over HTTP) and none are supported", exp)
	}
	switch {
	case c.endpoint != "":
		u, err := url.Parse(c.endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-otlp-endpoint %q: want an http or https URL such as http://localhost:4318", c.endpoint)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces"
		}
		c.traceURL, c.on = u.String(), true
	case getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "":
		c.on = true
	}
	c.sampler = tracing.Sampler{Ratio: c.ratio}
	if name := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER"))); name != "" && !c.ratioSet {
		s, err := otelSampler(name, strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG")))
		if err != nil {
			return err
		}
		c.sampler = s
	}
	return nil
}

// otelSampler returns the sampler OTEL_TRACES_SAMPLER=name (with
// OTEL_TRACES_SAMPLER_ARG=arg) names, as OpenTelemetry's SDKs read it.
func otelSampler(name, arg string) (tracing.Sampler, error) {
	ratio := 1.0
	if arg != "" && strings.HasSuffix(name, "traceidratio") {
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return tracing.Sampler{}, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG=%q: want a ratio from 0 to 1", arg)
		}
		ratio = r
	}
	switch name {
	case "always_on", "parentbased_always_on":
		ratio = 1
	case "always_off", "parentbased_always_off":
		ratio = 0
	case "traceidratio", "parentbased_traceidratio":
	default:
		return tracing.Sampler{}, fmt.Errorf("OTEL_TRACES_SAMPLER=%q is not supported: use always_on, always_off, traceidratio or their parentbased_ forms", name)
	}
	return tracing.Sampler{Ratio: ratio, IgnoreParent: !strings.HasPrefix(name, "parentbased_")}, nil
}

// LogValue groups the configuration in the start-up log line.
func (c tracingConfig) LogValue() slog.Value {
	if !c.on {
		return slog.GroupValue(slog.Bool("on", false))
	}
	endpoint := c.traceURL
	if endpoint == "" {
		endpoint = "OTEL_EXPORTER_OTLP_*"
	}
	return slog.GroupValue(slog.Bool("on", true), slog.String("endpoint", endpoint),
		slog.Float64("sample", c.sampler.Ratio), slog.Bool("parent_based", !c.sampler.IgnoreParent))
}

// start builds the OpenTelemetry SDK as c says: spans batched and exported
// with OTLP over HTTP, the resource named numbers (OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES win), and the Tracer that samples. It returns
// nil and no stop when tracing is off. stop flushes the spans still
// batched, for at most drain.
func (c tracingConfig) start(drain time.Duration) (*tracing.Tracer, func(), error) {
	if !c.on {
		return nil, nil, nil
	}
	ctx := context.Background()
	var opts []otlptracehttp.Option
	if c.traceURL != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(c.traceURL))
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
	return tracing.New(tp, c.sampler), stop, nil
}
