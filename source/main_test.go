package source_test

import (
	"context"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"numbers/cache"
	"numbers/fetcher"
	"numbers/internal/testwait"
	"numbers/outcome"
	"numbers/resilience"
	"numbers/source"
)

// TestMain checks that no test leaves a goroutine behind: every background
// fetch must have ended.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// plain is the upstream link over f with no outlier detection, hedges or
// retries.
func plain(f resilience.Fetcher) *resilience.Link {
	return resilience.New(resilience.Config{Fetcher: f})
}

// call is what the fake saw of one Fetch.
type call struct {
	url         string
	deadline    time.Time
	hasDeadline bool
}

// fake is an in-memory resilience.Fetcher. It counts its calls, reports each on
// started (when not nil; it must be buffered enough), blocks until release is
// closed (when not nil) or its context ends (then it fails with
// fetcher.ErrTimeout, as the real client does), and answers with reply.
type fake struct {
	calls   atomic.Int64
	running atomic.Int64
	started chan call
	release chan struct{}

	mu    sync.Mutex
	reply func(url string) (fetcher.Response, error)
}

func newFake(reply func(string) (fetcher.Response, error)) *fake {
	return &fake{reply: reply}
}

func (f *fake) setReply(reply func(string) (fetcher.Response, error)) {
	f.mu.Lock()
	f.reply = reply
	f.mu.Unlock()
}

func (f *fake) Fetch(ctx context.Context, url string) (fetcher.Response, error) {
	f.calls.Add(1)
	f.running.Add(1)
	defer f.running.Add(-1)
	sent := time.Now()
	d, ok := ctx.Deadline()
	if f.started != nil {
		f.started <- call{url, d, ok}
	}
	if f.release != nil {
		select {
		case <-f.release:
		case <-ctx.Done():
			return fetcher.Response{}, &fetcher.Error{URL: url, Kind: fetcher.ErrTimeout, Err: ctx.Err()}
		}
	}
	f.mu.Lock()
	reply := f.reply
	f.mu.Unlock()
	r, err := reply(url)
	if err == nil && r.Sent.IsZero() {
		r.Sent, r.Received = sent, time.Now()
	}
	return r, err
}

// respond answers with nums and the Cache-Control value cc.
func respond(cc string, nums ...int64) func(string) (fetcher.Response, error) {
	return func(string) (fetcher.Response, error) {
		return fetcher.Response{Numbers: slices.Clone(nums), CacheControl: cc}, nil
	}
}

// failWith fails every fetch with the kind of failure kind.
func failWith(kind error) func(string) (fetcher.Response, error) {
	return func(url string) (fetcher.Response, error) {
		return fetcher.Response{}, &fetcher.Error{URL: url, Kind: kind, Err: kind}
	}
}

// waitIdle waits until no fake Fetch is running and the goroutines around
// them have had the chance to finish their bookkeeping.
func waitIdle(t *testing.T, f *fake) {
	t.Helper()
	testwait.Eventually(t, "fetches to end", func() bool { return f.running.Load() == 0 })
}

// delivery is one call of a Fetch's deliver callback.
type delivery struct {
	nums    []int64
	outcome outcome.Outcome
}

// recorder is a deliver callback that counts its calls and keeps the first
// delivery on ch; it never blocks, as Source.Fetch requires.
type recorder struct {
	calls atomic.Int64
	ch    chan delivery
}

func newRecorder() *recorder { return &recorder{ch: make(chan delivery, 1)} }

func (r *recorder) deliver(nums []int64, o outcome.Outcome) {
	r.calls.Add(1)
	select {
	case r.ch <- delivery{nums, o}:
	default: // a second call: counted, not kept
	}
}

// start calls s.Fetch with a new recorder and returns it.
func start(s *source.Source, ctx context.Context, url string) *recorder {
	r := newRecorder()
	s.Fetch(ctx, url, r.deliver)
	return r
}

// fetchSync waits for the delivery of a Fetch of url, or for ctx's end, and
// then does what the handler does when it stops waiting: it asks Abandon
// what stands in. It is the old blocking Fetch.
func fetchSync(t *testing.T, s *source.Source, ctx context.Context, url string) ([]int64, outcome.Outcome) {
	t.Helper()
	r := start(s, ctx, url)
	select {
	case d := <-r.ch:
		return d.nums, d.outcome
	case <-ctx.Done():
		return s.Abandon(url)
	}
}

// deadline returns a context ending after d, cancelled at the test's end.
func deadline(t *testing.T, d time.Duration) (context.Context, time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	dl, _ := ctx.Deadline()
	return ctx, dl
}

// atomicCount is a counter for callbacks.
type atomicCount struct{ n atomic.Int64 }

func (c *atomicCount) add()        { c.n.Add(1) }
func (c *atomicCount) load() int64 { return c.n.Load() }

// hold stores nums for url in c with Cache-Control cc, received now, as
// a live fetch would have left it: twice, since an entry without
// freshness is kept only from its URL's second offer (the doorkeeper).
func hold(c *cache.Cache, url string, nums []int64, cc string) {
	for range 2 {
		c.Store(url, nums, cache.Header{CacheControl: cc}, time.Now(), time.Now())
	}
}

// step is what one call of a script does.
type step func(ctx context.Context, url string) (fetcher.Response, error)

// script is a source.Fetcher whose n-th call (from 0) runs steps[n]; the
// last step repeats. Every call is announced on started, without blocking.
type script struct {
	steps   []step
	calls   atomic.Int64
	started chan int
}

func newScript(steps ...step) *script {
	return &script{steps: steps, started: make(chan int, 64)}
}

func (s *script) Fetch(ctx context.Context, url string) (fetcher.Response, error) {
	n := int(s.calls.Add(1) - 1)
	select {
	case s.started <- n:
	default:
	}
	return s.steps[min(n, len(s.steps)-1)](ctx, url)
}

func ok(nums ...int64) step {
	return func(context.Context, string) (fetcher.Response, error) {
		now := time.Now()
		return fetcher.Response{Numbers: slices.Clone(nums), Sent: now, Received: now}, nil
	}
}

// fresh answers nums, cacheable for a minute.
func fresh(nums ...int64) step {
	return func(ctx context.Context, url string) (fetcher.Response, error) {
		r, err := ok(nums...)(ctx, url)
		r.CacheControl = "max-age=60"
		return r, err
	}
}

func status(code int) step {
	return func(_ context.Context, url string) (fetcher.Response, error) {
		return fetcher.Response{}, &fetcher.Error{URL: url, Kind: fetcher.ErrStatus, Err: &fetcher.StatusError{Code: code}}
	}
}

func failKind(kind, cause error) step {
	return func(_ context.Context, url string) (fetcher.Response, error) {
		return fetcher.Response{}, &fetcher.Error{URL: url, Kind: kind, Err: cause}
	}
}

var refused = failKind(fetcher.ErrTransport, &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})

// block waits for release (nil: forever) or the end of its context, which it
// reports on cancelled (when not nil), then answers as the fetcher does.
func block(release <-chan struct{}, cancelled chan<- struct{}, then step) step {
	return func(ctx context.Context, url string) (fetcher.Response, error) {
		select {
		case <-release:
			return then(ctx, url)
		case <-ctx.Done():
			if cancelled != nil {
				cancelled <- struct{}{}
			}
			return fetcher.Response{}, &fetcher.Error{URL: url, Kind: fetcher.ErrTimeout, Err: ctx.Err()}
		}
	}
}

// fakeClock drives the health registry in tests: no sleeps.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.t.Store(time.Unix(1_000_000, 0).UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }

const upstream = "http://up.test:8080"

// ejected returns a registry on clock c in which upstream's host is ejected.
func ejected(t *testing.T, c *fakeClock) *resilience.Detector {
	t.Helper()
	reg := resilience.NewDetector(resilience.OutlierConfig{Now: c.now})
	for range 5 {
		reg.Failure(upstream)
	}
	if st := reg.State(upstream); st != resilience.Ejected {
		t.Fatalf("state %v after five failures; want ejected", st)
	}
	return reg
}
