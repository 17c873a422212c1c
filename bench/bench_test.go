package bench

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, fasthttpBackground()...)
}

// instantServer starts a loopback fasthttp server answering every request at
// once with a fixed numbers body and outcome headers, and returns its URL.
func instantServer(t testing.TB) string { return loopbackServer(t, answerInstantly) }

// answerInstantly is instantServer's handler.
func answerInstantly(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("X-Numbers-Complete", "false")
	ctx.Response.Header.Set("X-Numbers-Outcomes", "ok=3,cached=0,failed=1,invalid=0")
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"numbers":[1,2,3]}`)
}

// loopbackServer serves h on a loopback port until the test ends and returns
// the URL of its /numbers route.
func loopbackServer(t testing.TB, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		// Shutdown may run before Serve registered the listener: closing it
		// too makes Serve return either way.
		if err := srv.Shutdown(); err != nil {
			t.Error(err)
		}
		_ = ln.Close()
		<-done
	})
	return "http://" + ln.Addr().String() + "/numbers"
}

// fasthttpBackground ignores fasthttp's own background goroutines: process-wide
// timers (server date, dialer cache) and cleaners that exit on their next
// wake-up, seconds after the last connection closed.
func fasthttpBackground() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
	}
}
