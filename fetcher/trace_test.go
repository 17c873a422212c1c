package fetcher

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"numbers/internal/testupstream"
)

// TestFetchPropagatesTraceContext checks that a fetch sends the trace
// context of its context upstream, over a redirect too, when the client has
// a propagator; and nothing without one, or without a span context.
func TestFetchPropagatesTraceContext(t *testing.T) {
	seen := make(chan [2]string, 4)
	up := testupstream.Start(t, func(w http.ResponseWriter, r *http.Request, _ <-chan struct{}) {
		seen <- [2]string{r.Header.Get("traceparent"), r.Header.Get("tracestate")}
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/numbers", http.StatusFound)
			return
		}
		w.Write([]byte(`{"numbers":[1]}`)) //nolint:errcheck // the test reads what arrived
	})
	ts, _ := trace.ParseTraceState("vendor=x")
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x4b, 0xf9, 1}, SpanID: trace.SpanID{0x00, 0xf0, 2}, TraceFlags: trace.FlagsSampled, TraceState: ts,
	})
	const want = "00-4bf90100000000000000000000000000-00f0020000000000-01"
	cases := map[string]struct {
		prop   propagation.TextMapPropagator
		ctx    context.Context
		parent string
		state  string
	}{
		"propagated":         {propagation.TraceContext{}, trace.ContextWithSpanContext(context.Background(), sc), want, "vendor=x"},
		"no span context":    {propagation.TraceContext{}, context.Background(), "", ""},
		"without propagator": {nil, trace.ContextWithSpanContext(context.Background(), sc), "", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := newClient(t, Config{Propagator: tc.prop})
			ctx, cancel := context.WithTimeout(tc.ctx, budget)
			defer cancel()
			r, err := c.Fetch(ctx, up.URL+"/moved")
			if err != nil || r.Status != 200 {
				t.Fatalf("Fetch: %v, status %d", err, r.Status)
			}
			for hop := range 2 {
				if got := <-seen; got != [2]string{tc.parent, tc.state} {
					t.Errorf("hop %d: traceparent, tracestate %q; want %q, %q", hop, got, tc.parent, tc.state)
				}
			}
		})
	}
}
