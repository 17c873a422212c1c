// Package leaktest fails a test binary whose tests leave a goroutine
// behind (go.uber.org/goleak), but for fasthttp's own sweepers: those sleep
// on timers of their own, cannot be stopped from outside and end by
// themselves once idle (the Client's host-client sweeper, each HostClient's
// idle-connection sweeper, the default dialer's DNS-cache sweeper, a
// stopped server's worker-pool cleaner) or live as long as the process (the
// server's Date header updater).
package leaktest

import (
	"testing"

	"go.uber.org/goleak"
)

// fasthttp are the sweepers that VerifyMain ignores.
var fasthttp = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*Client).mCleaner"),
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
}

// VerifyMain runs the tests of m, then fails if a goroutine outlives them
// that is not one of fasthttp's sweepers.
func VerifyMain(m *testing.M) { goleak.VerifyTestMain(m, fasthttp...) }
