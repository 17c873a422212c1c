package handler

import (
	"bufio"
	"context"
	"net"
	"net/url"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"numbers/internal/leaktest"
	"numbers/outcome"
)

// TestMain fails the package if a goroutine outlives the tests
// (fasthttp's own sweepers aside, see package leaktest).
func TestMain(m *testing.M) { leaktest.VerifyMain(m) }

// canned is what a fake upstream returns; block makes Fetch wait until its
// context is done (or the fake is released).
type canned struct {
	numbers []int64
	outcome outcome.Outcome
	block   bool
}

// fake is a Source with canned answers per canonical URL. It counts calls per
// URL, signals entered (when set) on every call, and delivers from a goroutine
// of its own, as package source does; its blocking answers deliver at
// ctx.Done with Timeout, or at release with Failed. URLs with no canned
// answer fail. stale holds the entries Abandon offers.
type fake struct {
	answers map[string]canned
	stale   map[string][]int64
	entered chan string
	release chan struct{}
	ended   chan error // when set, a blocking answer sends its context's error on it

	mu    sync.Mutex
	calls map[string]int
}

func newFake(answers map[string]canned) *fake {
	return &fake{answers: answers, calls: map[string]int{}, release: make(chan struct{})}
}

func (f *fake) Fetch(ctx context.Context, u string, deliver func([]int64, outcome.Outcome)) {
	go func() { deliver(f.answer(ctx, u)) }()
}

func (f *fake) Abandon(u string) ([]int64, outcome.Outcome) {
	if nums, ok := f.stale[u]; ok {
		return nums, outcome.Stale
	}
	return nil, outcome.Timeout
}

func (f *fake) answer(ctx context.Context, u string) ([]int64, outcome.Outcome) {
	f.mu.Lock()
	f.calls[u]++
	f.mu.Unlock()
	if f.entered != nil {
		f.entered <- u
	}
	a, ok := f.answers[u]
	if !ok {
		return nil, outcome.Failed
	}
	if a.block {
		select {
		case <-ctx.Done():
			if f.ended != nil {
				f.ended <- ctx.Err()
			}
			return nil, outcome.Timeout
		case <-f.release:
			return nil, outcome.Failed
		}
	}
	return a.numbers, a.outcome
}

// callCounts returns a copy of the calls per URL.
func (f *fake) callCounts() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := make(map[string]int, len(f.calls))
	for k, v := range f.calls {
		m[k] = v
	}
	return m
}

// serve runs h on a real fasthttp.Server over an in-memory listener, so that
// ctx.Time() is real, and returns the listener to dial. The server is shut
// down at cleanup.
func serve(t testing.TB, h *Handler) *fasthttputil.InmemoryListener {
	t.Helper()
	return serveVia(t, h, nil)
}

// serveVia is serve with the listener the server accepts from wrapped by
// wrap, if not nil.
func serveVia(t testing.TB, h *Handler, wrap func(net.Listener) net.Listener) *fasthttputil.InmemoryListener {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	var accept net.Listener = ln
	if wrap != nil {
		accept = wrap(ln)
	}
	srv := &fasthttp.Server{
		Handler:              h.Handle,
		ErrorHandler:         HandleError,
		NoDefaultContentType: true,
		ReadBufferSize:       8 << 10,
		KeepHijackedConns:    true, // event streams outlive their hijack handler
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(accept) }()
	t.Cleanup(func() {
		if err := srv.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-done
	})
	return ln
}

// roundTrip sends one request over a fresh connection to ln and reads the
// response. It uses no fasthttp.Client, so it starts no goroutine.
func roundTrip(t testing.TB, ln *fasthttputil.InmemoryListener, method, uri string) *fasthttp.Response {
	t.Helper()
	c, err := ln.Dial()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	return roundTripConn(t, c, method, uri)
}

func roundTripConn(t testing.TB, c net.Conn, method, uri string) *fasthttp.Response {
	t.Helper()
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.SetConnectionClose()
	bw := bufio.NewWriter(c)
	if err := req.Write(bw); err != nil {
		t.Fatalf("write request: %v", err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatalf("flush request: %v", err)
	}
	resp := new(fasthttp.Response)
	resp.SkipBody = method == fasthttp.MethodHead
	if err := resp.Read(bufio.NewReader(c)); err != nil {
		t.Fatalf("read response: %v", err)
	}
	return resp
}

// roundTripHeader sends GET uri with one extra request header over a fresh
// connection to ln.
func roundTripHeader(t testing.TB, ln *fasthttputil.InmemoryListener, uri, key, value string) *fasthttp.Response {
	t.Helper()
	c, err := ln.Dial()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	var req fasthttp.Request
	req.SetRequestURI(uri)
	req.Header.Set(key, value)
	req.SetConnectionClose()
	resp := new(fasthttp.Response)
	if err := fasthttpDo(c, &req, resp); err != nil {
		t.Fatalf("%s %s: %s: %v", uri, key, value, err)
	}
	return resp
}

// numbersURI returns the request URI of GET /numbers for the u values.
func numbersURI(us ...string) string {
	if len(us) == 0 {
		return "http://numbers.test/numbers"
	}
	return "http://numbers.test/numbers?" + url.Values{"u": us}.Encode()
}

// direct calls h.Handle on a bare RequestCtx, for endpoints whose answer does
// not depend on ctx.Time().
func direct(h *Handler, method, uri string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	h.Handle(&ctx)
	return &ctx
}

// fasthttpDo writes req on c and reads the response into resp.
func fasthttpDo(c net.Conn, req *fasthttp.Request, resp *fasthttp.Response) error {
	bw := bufio.NewWriter(c)
	if err := req.Write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return resp.Read(bufio.NewReader(c))
}
