package main

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"numbers/service"
	"numbers/tracing"
)

// defaultTraceRatio is the share of new traces sampled when nothing says
// otherwise: at 1% tracing costs under 5% of a request (docs/performance.md),
// and a caller who sends a sampled traceparent is traced whatever the ratio.
const defaultTraceRatio = 0.01

// resolveTracing reads the standard OTEL_* variables with getenv and
// settles whether tracing is on, where it exports and how it samples; c
// holds -otlp-endpoint in URL and -trace-sample (given if ratioSet) in its
// Sampler. The flags win over the variables; OTEL_SDK_DISABLED=true and
// OTEL_TRACES_EXPORTER=none turn tracing off.
func resolveTracing(c *service.Tracing, ratioSet bool, getenv func(string) string) error {
	endpoint := c.URL
	c.URL = ""
	if !ratioSet {
		c.Sampler.Ratio = defaultTraceRatio
	}
	switch exp := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); {
	case strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true"), exp == "none":
		return nil
	case exp != "" && exp != "otlp":
		return fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only otlp (over HTTP) and none are supported", exp)
	}
	switch {
	case endpoint != "":
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-otlp-endpoint %q: want an http or https URL such as http://localhost:4318", endpoint)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces"
		}
		c.URL, c.On = u.String(), true
	case getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "":
		c.On = true
	}
	if ratioSet && !c.On {
		return fmt.Errorf("-trace-sample needs tracing on: -otlp-endpoint, or OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if name := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER"))); name != "" && !ratioSet {
		s, err := otelSampler(name, strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG")))
		if err != nil {
			return err
		}
		c.Sampler = s
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
