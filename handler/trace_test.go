package handler

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"numbers/fetcher"
	"numbers/internal/testwait"
	"numbers/jobs"
	"numbers/resilience"
	"numbers/source"
	"numbers/tracing"
)

// The upstreams of the span-tree test, by what they do.
const (
	upOK     = "http://ok.test/"     // answers [1 2]
	upRetry  = "http://retry.test/"  // 503, then [3]: a retry
	upHedge  = "http://hedge.test/"  // hangs, then [4] from the hedge
	upShared = "http://shared.test/" // [5] once released: two requests share it
)

// scripted is a resilience.Fetcher playing the upstreams above. It keeps the
// span context each request was made in (what the fetcher sends upstream).
type scripted struct {
	release chan struct{}
	shared  chan struct{} // told when upShared is asked

	mu    sync.Mutex
	calls map[string]int
	seen  []trace.SpanContext
}

func newScripted() *scripted {
	return &scripted{release: make(chan struct{}), shared: make(chan struct{}, 1), calls: map[string]int{}}
}

func (s *scripted) Fetch(ctx context.Context, url string) (fetcher.Response, error) {
	s.mu.Lock()
	n := s.calls[url]
	s.calls[url]++
	s.seen = append(s.seen, trace.SpanContextFromContext(ctx))
	s.mu.Unlock()
	answer := func(nums ...int64) (fetcher.Response, error) {
		now := time.Now()
		return fetcher.Response{Numbers: nums, Status: 200, Sent: now, Received: now}, nil
	}
	timeout := func() (fetcher.Response, error) {
		return fetcher.Response{}, &fetcher.Error{URL: url, Kind: fetcher.ErrTimeout, Err: ctx.Err()}
	}
	switch {
	case url == upRetry && n == 0:
		return fetcher.Response{}, &fetcher.Error{URL: url, Kind: fetcher.ErrStatus, Err: &fetcher.StatusError{Code: 503}}
	case url == upRetry:
		return answer(3)
	case url == upHedge && n == 0:
		<-ctx.Done()
		return timeout()
	case url == upHedge:
		return answer(4)
	case url == upShared:
		s.shared <- struct{}{}
		select {
		case <-s.release:
			return answer(5)
		case <-ctx.Done():
			return timeout()
		}
	}
	return answer(1, 2)
}

// spanContexts returns the span contexts the requests were made in.
func (s *scripted) spanContexts() []trace.SpanContext {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

// traced returns a Tracer sampling every request, whose spans the returned
// exporter records as they end.
func traced(t *testing.T, ratio float64) (*tracing.Tracer, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	t.Cleanup(func() { tp.Shutdown(context.Background()) }) //nolint:errcheck // nothing left to flush
	return tracing.New(tp, tracing.Sampler{Ratio: ratio}), exp
}

// spanTree indexes exported spans.
type spanTree struct {
	spans    tracetest.SpanStubs
	children map[trace.SpanID][]tracetest.SpanStub
}

// waitSpans waits until exp holds n spans (the last ones end after the
// answers: a cancelled request's) and indexes them.
func waitSpans(t *testing.T, exp *tracetest.InMemoryExporter, n int) spanTree {
	t.Helper()
	testwait.Eventually(t, fmt.Sprintf("%d spans to be exported", n), func() bool { return len(exp.GetSpans()) >= n })
	tree := spanTree{spans: exp.GetSpans(), children: map[trace.SpanID][]tracetest.SpanStub{}}
	if len(tree.spans) != n {
		t.Fatalf("%d spans exported; want %d:\n%s", len(tree.spans), n, describe(tree.spans))
	}
	for _, s := range tree.spans {
		tree.children[s.Parent.SpanID()] = append(tree.children[s.Parent.SpanID()], s)
	}
	return tree
}

// named returns the spans called name.
func (tr spanTree) named(name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range tr.spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// byAttr returns the children of parent by the value of their attribute key.
func (tr spanTree) byAttr(parent tracetest.SpanStub, key string) map[string]tracetest.SpanStub {
	out := map[string]tracetest.SpanStub{}
	for _, s := range tr.children[parent.SpanContext.SpanID()] {
		out[attr(s, key)] = s
	}
	return out
}

// attr returns the value of span's attribute key, or "".
func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// describe lists spans for a failure message.
func describe(spans tracetest.SpanStubs) string {
	var b []byte
	for _, s := range spans {
		b = fmt.Appendf(b, "  %s %s parent %s %v\n", s.Name, s.SpanContext.SpanID(), s.Parent.SpanID(), s.Attributes)
	}
	return string(b)
}

// get sends GET uri with the header traceparent (if not empty) to ln, for
// use from a goroutine of its own.
func get(ln *fasthttputil.InmemoryListener, uri, traceparent string) (*fasthttp.Response, error) {
	c, err := ln.Dial()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var req fasthttp.Request
	req.SetRequestURI(uri)
	if traceparent != "" {
		req.Header.Set("traceparent", traceparent)
	}
	req.SetConnectionClose()
	resp := new(fasthttp.Response)
	return resp, fasthttpDo(c, &req, resp)
}

const (
	callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan  = "00f067aa0ba902b7"
)

// TestTraceSpanTree checks the spans of two traced requests: one naming
// four upstreams, of which one is retried, one hedged, and one shared with
// the second request, which its caller traces (traceparent) and which joins
// the first one's fetch. Each request has a server span, a fetch span per
// upstream, and a client span per upstream request; the coalesced fetch
// links to the flight it joined; and every upstream request is made in the
// context of its own client span, which the fetcher sends upstream.
func TestTraceSpanTree(t *testing.T) {
	tr, exp := traced(t, 1)
	reg := resilience.NewDetector(resilience.OutlierConfig{})
	for range 50 {
		reg.Success(resilience.Key(upHedge), time.Millisecond) // a latency estimate, for the hedge
	}
	up := newScripted()
	link := resilience.New(resilience.Config{Fetcher: up, Detector: reg, Budget: resilience.NewRetryBudget(resilience.RetryBudgetConfig{}),
		Hedge: true, Retry: true, Tracer: tr.Tracer()})
	src := source.New(source.Config{Upstream: link, Coalesce: true, Tracer: tr.Tracer()})
	ln := serve(t, New(Config{Source: src, Budget: 10 * time.Second, Tracer: tr}))

	type answer struct {
		resp *fasthttp.Response
		err  error
	}
	first, second := make(chan answer, 1), make(chan answer, 1)
	go func() {
		r, err := get(ln, numbersURI(upOK, upRetry, upHedge, upShared), "")
		first <- answer{r, err}
	}()
	<-up.shared // the first request's flight of upShared is under way
	go func() {
		r, err := get(ln, numbersURI(upShared), "00-"+callerTrace+"-"+callerSpan+"-01")
		second <- answer{r, err}
	}()
	testwait.Eventually(t, "the second request to join the first one's fetch", func() bool { return src.Stats.Coalesced.Load() > 0 })
	close(up.release)
	for _, ch := range []chan answer{first, second} {
		a := <-ch
		if a.err != nil || a.resp.StatusCode() != 200 || string(a.resp.Header.Peek("X-Numbers-Complete")) != "true" {
			t.Fatalf("answer %v %v", a.err, a.resp)
		}
	}

	// 2 server spans, 5 fetch spans, 6 upstream requests (one each, and a
	// second for the retry and the hedge; the shared fetch made one).
	tree := waitSpans(t, exp, 13)
	servers := tree.named("GET /numbers")
	if len(servers) != 2 {
		t.Fatalf("%d server spans; want 2", len(servers))
	}
	s1, s2 := servers[0], servers[1]
	if s1.Parent.IsValid() {
		s1, s2 = s2, s1
	}
	if s1.Parent.IsValid() || s2.Parent.SpanID().String() != callerSpan || s2.SpanContext.TraceID().String() != callerTrace {
		t.Fatalf("server spans' parents %v and %v; want none, and the caller's span %s", s1.Parent, s2.Parent, callerSpan)
	}
	for _, s := range servers {
		if s.SpanKind != trace.SpanKindServer || attr(s, "http.response.status_code") != "200" || attr(s, "numbers.complete") != "true" {
			t.Errorf("server span %s: kind %v, attributes %v", s.Name, s.SpanKind, s.Attributes)
		}
	}
	if got := attr(s1, "numbers.outcomes"); got != "ok=4,cached=0,stale=0,failed=0,denied=0,timeout=0,invalid=0,ejected=0" {
		t.Errorf("numbers.outcomes %q", got)
	}

	fetches := tree.byAttr(s1, "url.full")
	want := map[string]string{upOK: "2", upRetry: "1", upHedge: "1", upShared: "1"}
	if len(fetches) != len(want) {
		t.Fatalf("the first request's children: %v", fetches)
	}
	for url, count := range want {
		f := fetches[url]
		if f.Name != "fetch" || attr(f, "numbers.outcome") != "ok" || attr(f, "numbers.count") != count {
			t.Errorf("fetch span of %s: %q %v; want fetch, outcome ok, count %s", url, f.Name, f.Attributes, count)
		}
	}
	attempts := func(url string) map[string]tracetest.SpanStub { return tree.byAttr(fetches[url], "numbers.attempt") }
	checkAttempt := func(url, kind, status, errorType string) {
		t.Helper()
		a, ok := attempts(url)[kind]
		if !ok {
			t.Errorf("%s: no %s request; got %v", url, kind, attempts(url))
			return
		}
		if a.Name != "GET" || a.SpanKind != trace.SpanKindClient || attr(a, "http.response.status_code") != status || attr(a, "error.type") != errorType {
			t.Errorf("%s request of %s: %q %v %v; want GET, client, status %q, error.type %q", kind, url, a.Name, a.SpanKind, a.Attributes, status, errorType)
		}
	}
	checkAttempt(upOK, "first", "200", "")
	checkAttempt(upRetry, "first", "503", "status")
	checkAttempt(upRetry, "retry", "200", "")
	checkAttempt(upHedge, "first", "", "timeout")
	checkAttempt(upHedge, "hedge", "200", "")
	checkAttempt(upShared, "first", "200", "")

	joined := tree.children[s2.SpanContext.SpanID()]
	if len(joined) != 1 {
		t.Fatalf("the second request's children: %v", joined)
	}
	j := joined[0]
	if attr(j, "numbers.coalesced") != "true" || attr(j, "numbers.outcome") != "ok" || len(tree.children[j.SpanContext.SpanID()]) != 0 {
		t.Errorf("the coalesced fetch span: %v, %d children; want coalesced, ok, none", j.Attributes, len(tree.children[j.SpanContext.SpanID()]))
	}
	if len(j.Links) != 1 || j.Links[0].SpanContext.SpanID() != fetches[upShared].SpanContext.SpanID() {
		t.Errorf("the coalesced fetch span links to %v; want the first request's fetch %s", j.Links, fetches[upShared].SpanContext.SpanID())
	}

	var requests []string
	for _, a := range tree.named("GET") {
		requests = append(requests, a.SpanContext.SpanID().String())
	}
	var made []string
	for _, sc := range up.spanContexts() {
		made = append(made, sc.SpanID().String())
	}
	slices.Sort(requests)
	slices.Sort(made)
	if !slices.Equal(requests, made) {
		t.Errorf("upstream requests were made in spans %q; want their own client spans %q", made, requests)
	}
}

// TestTraceContextPassedOn: a request that is not sampled makes no span;
// its upstream requests carry its caller's trace context, if it sent one,
// and with tracing off nothing at all.
func TestTraceContextPassedOn(t *testing.T) {
	cases := map[string]struct {
		ratio       float64
		off         bool
		traceparent string
		want        string // the span the upstream request carries
	}{
		"caller's, unsampled":     {1, false, "00-" + callerTrace + "-" + callerSpan + "-00", callerSpan},
		"none sent, none sampled": {0, false, "", ""},
		"tracing off":             {1, true, "00-" + callerTrace + "-" + callerSpan + "-01", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tr, exp := traced(t, tc.ratio)
			if tc.off {
				tr = nil
			}
			up := newScripted()
			src := source.New(source.Config{Upstream: resilience.New(resilience.Config{Fetcher: up, Tracer: tr.Tracer()}), Coalesce: true, Tracer: tr.Tracer()})
			ln := serve(t, New(Config{Source: src, Budget: 10 * time.Second, Tracer: tr}))
			if resp, err := get(ln, numbersURI(upOK), tc.traceparent); err != nil || resp.StatusCode() != 200 {
				t.Fatalf("%v %v", err, resp)
			}
			seen := up.spanContexts()
			if len(seen) != 1 || tc.want == "" && seen[0].IsValid() || tc.want != "" && (seen[0].SpanID().String() != tc.want || seen[0].IsSampled()) {
				t.Errorf("the upstream request carried %v; want span %q, not sampled", seen, tc.want)
			}
			if n := len(exp.GetSpans()); n != 0 {
				t.Errorf("%d spans exported; want none", n)
			}
		})
	}
}

// TestTraceJobs checks the server spans of the jobs endpoints, and that a
// job's fetches are children of the request that started it.
func TestTraceJobs(t *testing.T) {
	tr, exp := traced(t, 1)
	src := source.New(source.Config{Upstream: resilience.New(resilience.Config{Fetcher: newScripted(), Tracer: tr.Tracer()}), Coalesce: true, Tracer: tr.Tracer()})
	runner := jobs.NewRunner(jobs.RunnerConfig{Source: src})
	hub := jobs.NewHub(jobs.HubConfig{Store: runner.Store()})
	ln := serve(t, New(Config{Source: src, Budget: 10 * time.Second, Jobs: runner, Hub: hub, Tracer: tr}))
	t.Cleanup(func() {
		runner.Stop()
		hub.Shutdown(context.Background()) //nolint:errcheck // no deadline
	})
	created := roundTrip(t, ln, "POST", "http://numbers.test/jobs?u="+upOK)
	job := string(created.Header.Peek("Location"))
	if created.StatusCode() != fasthttp.StatusAccepted || job == "" {
		t.Fatalf("POST /jobs: %d %q", created.StatusCode(), job)
	}
	for _, method := range []string{"GET", "DELETE"} {
		roundTrip(t, ln, method, "http://numbers.test"+job)
	}
	roundTrip(t, ln, "GET", "http://numbers.test/healthz") // not traced

	tree := waitSpans(t, exp, 5) // and the fetch and its request
	post := tree.named("POST /jobs")
	if len(post) != 1 || attr(post[0], "numbers.job") != job || attr(post[0], "http.response.status_code") != "202" {
		t.Fatalf("POST /jobs spans: %v", post)
	}
	for _, name := range []string{"GET /jobs/{id}", "DELETE /jobs/{id}"} {
		if s := tree.named(name); len(s) != 1 || attr(s[0], "http.route") != "/jobs/{id}" || attr(s[0], "url.path") != job {
			t.Errorf("%s spans: %v", name, s)
		}
	}
	if f := tree.byAttr(post[0], "url.full")[upOK]; f.Name != "fetch" {
		t.Errorf("the job's fetch is not a child of POST /jobs:\n%s", describe(tree.spans))
	}
}

// TestTracedRoute checks which paths are traced, under which route.
func TestTracedRoute(t *testing.T) {
	for path, want := range map[string]string{
		"/numbers": "/numbers", "/jobs": "/jobs", "/jobs/abc": "/jobs/{id}", "/jobs/abc/events": "/jobs/{id}/events",
		"/jobs/abc/other": "", "/jobs/": "", "/jobsx": "", "/healthz": "", "/readyz": "", "/openapi.json": "", "/nope": "",
	} {
		if got := tracedRoute([]byte(path)); got != want {
			t.Errorf("tracedRoute(%q) = %q; want %q", path, got, want)
		}
	}
}
