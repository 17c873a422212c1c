package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"numbers/internal/testupstream"
	"numbers/tracing"
)

func TestConfigTracing(t *testing.T) {
	cases := map[string]struct {
		args, env []string
		on        bool
		url       string
		sampler   tracing.Sampler
	}{
		"off by default":               {nil, nil, false, "", tracing.Sampler{Ratio: 0.01}},
		"endpoint: /v1/traces added":   {[]string{"-otlp-endpoint", "http://localhost:4318"}, nil, true, "http://localhost:4318/v1/traces", tracing.Sampler{Ratio: 0.01}},
		"endpoint with a path":         {[]string{"-otlp-endpoint", "https://c.example/otlp/traces"}, nil, true, "https://c.example/otlp/traces", tracing.Sampler{Ratio: 0.01}},
		"endpoint from NUMBERS_":       {nil, []string{"NUMBERS_OTLP_ENDPOINT=http://c:4318/"}, true, "http://c:4318/v1/traces", tracing.Sampler{Ratio: 0.01}},
		"endpoint from OTEL_":          {nil, []string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318"}, true, "", tracing.Sampler{Ratio: 0.01}},
		"traces endpoint from OTEL_":   {nil, []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://c:4318/v1/traces"}, true, "", tracing.Sampler{Ratio: 0.01}},
		"SDK disabled":                 {[]string{"-otlp-endpoint", "http://c:4318"}, []string{"OTEL_SDK_DISABLED=true"}, false, "", tracing.Sampler{}},
		"exporter none":                {[]string{"-otlp-endpoint", "http://c:4318"}, []string{"OTEL_TRACES_EXPORTER=none"}, false, "", tracing.Sampler{}},
		"-trace-sample":                {[]string{"-trace-sample", "0.5", "-otlp-endpoint", "http://c:4318"}, nil, true, "http://c:4318/v1/traces", tracing.Sampler{Ratio: 0.5}},
		"traceidratio":                 {nil, []string{"OTEL_TRACES_SAMPLER=traceidratio", "OTEL_TRACES_SAMPLER_ARG=0.25"}, false, "", tracing.Sampler{Ratio: 0.25, IgnoreParent: true}},
		"parentbased_traceidratio":     {nil, []string{"OTEL_TRACES_SAMPLER=parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG=0.1"}, false, "", tracing.Sampler{Ratio: 0.1}},
		"ratio without its arg":        {nil, []string{"OTEL_TRACES_SAMPLER=parentbased_traceidratio"}, false, "", tracing.Sampler{Ratio: 1}},
		"always_on":                    {nil, []string{"OTEL_TRACES_SAMPLER=always_on"}, false, "", tracing.Sampler{Ratio: 1, IgnoreParent: true}},
		"parentbased_always_off":       {nil, []string{"OTEL_TRACES_SAMPLER=parentbased_always_off"}, false, "", tracing.Sampler{}},
		"the flag wins over OTEL_":     {[]string{"-trace-sample", "0.2"}, []string{"OTEL_TRACES_SAMPLER=always_on", "OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318"}, true, "", tracing.Sampler{Ratio: 0.2}},
		"its twin wins over OTEL_ too": {nil, []string{"NUMBERS_TRACE_SAMPLE=0.3", "OTEL_TRACES_SAMPLER=always_on", "OTEL_EXPORTER_OTLP_ENDPOINT=http://c:4318"}, true, "", tracing.Sampler{Ratio: 0.3}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := parseConfig(tc.args, env(tc.env...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.svc.Tracing; got.On != tc.on || got.URL != tc.url || got.On && got.Sampler != tc.sampler {
				t.Errorf("on %v, URL %q, sampler %+v; want %v, %q, %+v", got.On, got.URL, got.Sampler, tc.on, tc.url, tc.sampler)
			}
			if tc.sampler.Ratio != 0 && !tc.on && c.svc.Tracing.Sampler != tc.sampler {
				t.Errorf("sampler %+v; want %+v", c.svc.Tracing.Sampler, tc.sampler)
			}
		})
	}
}

func TestConfigTracingRefused(t *testing.T) {
	cases := map[string]struct{ args, env []string }{
		"not a URL":            {[]string{"-otlp-endpoint", "localhost:4318"}, nil},
		"not http":             {[]string{"-otlp-endpoint", "grpc://localhost:4317"}, nil},
		"sample over 1":        {[]string{"-trace-sample", "2"}, nil},
		"sample not a number":  {[]string{"-trace-sample", "1%"}, nil},
		"unsupported sampler":  {nil, []string{"OTEL_TRACES_SAMPLER=jaeger_remote"}},
		"bad sampler arg":      {nil, []string{"OTEL_TRACES_SAMPLER=traceidratio", "OTEL_TRACES_SAMPLER_ARG=2"}},
		"unsupported exporter": {nil, []string{"OTEL_TRACES_EXPORTER=zipkin"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := parseConfig(tc.args, env(tc.env...), io.Discard); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// collector is an OTLP/HTTP receiver: it decodes every export of traces
// and keeps it.
type collector struct {
	url     string
	exports chan *coltracepb.ExportTraceServiceRequest
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{exports: make(chan *coltracepb.ExportTraceServiceRequest, 64)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		switch {
		case r.Method != "POST" || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf":
			t.Errorf("collector: %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		case err != nil:
			t.Errorf("collector: %v", err)
		default:
			if err := proto.Unmarshal(body, &req); err != nil {
				t.Errorf("collector: %v", err)
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			c.exports <- &req
		}
		b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(b) //nolint:errcheck // the exporter's business
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL
	return c
}

// exported is one span as the collector got it, with its resource.
type exported struct {
	span     *tracepb.Span
	resource map[string]string
	scope    string
}

// spans returns the spans exported so far.
func (c *collector) spans() []exported {
	var out []exported
	for {
		select {
		case req := <-c.exports:
			for _, rs := range req.ResourceSpans {
				res := attrs(rs.Resource.Attributes)
				for _, ss := range rs.ScopeSpans {
					for _, s := range ss.Spans {
						out = append(out, exported{s, res, ss.Scope.GetName()})
					}
				}
			}
		default:
			return out
		}
	}
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		switch v := kv.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.Key] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.Key] = fmt.Sprint(v.IntValue)
		case *commonpb.AnyValue_BoolValue:
			m[kv.Key] = fmt.Sprint(v.BoolValue)
		}
	}
	return m
}

// TestTracesExported runs the binary with tracing on, its sampling ratio
// 0, and sends it a request whose caller samples it (traceparent): its
// spans reach an OTLP/HTTP collector when the process stops, under the
// caller's trace, named as OTEL_SERVICE_NAME says, and the upstream request
// carries the trace context of its own client span.
func TestTracesExported(t *testing.T) {
	col := newCollector(t)
	sent := make(chan string, 1)
	up := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		sent <- r.Header.Get("traceparent")
		fmt.Fprint(w, `{"numbers":[2,1]}`)
	}).URL
	p := startWith(t, []string{"OTEL_SERVICE_NAME=numbers-e2e", "OTEL_RESOURCE_ATTRIBUTES=deployment.environment.name=test"},
		nil, "-otlp-endpoint", col.url, "-trace-sample", "0")
	const trace, caller = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	resp, body, _ := p.get(t, "GET", query(up), "traceparent", "00-"+trace+"-"+caller+"-01")
	if resp.StatusCode != 200 || body != `{"numbers":[1,2]}` {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	upstreamParent := <-sent
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it exits either way
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("numbers did not stop\n%s", p.log())
	}

	byName := map[string]exported{}
	for _, e := range col.spans() {
		byName[e.span.Name] = e
	}
	server, fetch, request := byName["GET /numbers"], byName["fetch"], byName["GET"]
	if server.span == nil || fetch.span == nil || request.span == nil {
		t.Fatalf("exported %v; want GET /numbers, fetch and GET\n%s", byName, p.log())
	}
	hex := func(b []byte) string { return fmt.Sprintf("%x", b) }
	if hex(server.span.TraceId) != trace || hex(server.span.ParentSpanId) != caller || server.span.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("server span: trace %x, parent %x, kind %v; want the caller's trace and span, server", server.span.TraceId, server.span.ParentSpanId, server.span.Kind)
	}
	if !bytesEqual(fetch.span.ParentSpanId, server.span.SpanId) || !bytesEqual(request.span.ParentSpanId, fetch.span.SpanId) {
		t.Errorf("fetch's parent %x, request's parent %x; want the server span %x, the fetch %x",
			fetch.span.ParentSpanId, request.span.ParentSpanId, server.span.SpanId, fetch.span.SpanId)
	}
	if want := "00-" + trace + "-" + hex(request.span.SpanId) + "-01"; upstreamParent != want {
		t.Errorf("the upstream got traceparent %q; want %q", upstreamParent, want)
	}
	if got := attrs(fetch.span.Attributes); got["url.full"] != up || got["numbers.outcome"] != "ok" || got["numbers.count"] != "2" {
		t.Errorf("fetch span attributes %v", got)
	}
	if got := attrs(server.span.Attributes)["numbers.outcomes"]; !strings.HasPrefix(got, "ok=1,") {
		t.Errorf("server span numbers.outcomes %q", got)
	}
	res := server.resource
	if res["service.name"] != "numbers-e2e" || res["deployment.environment.name"] != "test" || res["service.version"] == "" || server.scope != tracing.Name {
		t.Errorf("resource %v, scope %q", res, server.scope)
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }
