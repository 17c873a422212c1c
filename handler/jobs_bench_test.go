package handler

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"numbers/internal/testwait"
	"numbers/jobs"
	"numbers/outcome"
)

// manualSource is a Source whose upstreams settle when the benchmark says,
// or at once when instant.
type manualSource struct {
	instant bool
	mu      sync.Mutex
	deliver map[string]func([]int64, outcome.Outcome)
}

func (s *manualSource) Fetch(_ context.Context, url string, deliver func([]int64, outcome.Outcome)) {
	if s.instant {
		deliver([]int64{1, 2, 3}, outcome.OK)
		return
	}
	s.mu.Lock()
	s.deliver[url] = deliver
	s.mu.Unlock()
}

func (s *manualSource) Abandon(string) ([]int64, outcome.Outcome) { return nil, outcome.Timeout }

func (s *manualSource) settle(url string) {
	s.mu.Lock()
	d := s.deliver[url]
	s.mu.Unlock()
	d([]int64{7}, outcome.OK)
}

// jobsBench is the service's jobs on a loopback TCP server.
type jobsBench struct {
	src    *manualSource
	runner *jobs.Runner
	hub    *jobs.Hub
	addr   string
}

func newJobsBench(b *testing.B, instant bool) *jobsBench {
	b.Helper()
	x := &jobsBench{src: &manualSource{instant: instant, deliver: map[string]func([]int64, outcome.Outcome){}}}
	store := jobs.NewMemStore(jobs.MemConfig{MaxJobs: 1 << 30, MaxBytes: 1 << 40, TTL: time.Nanosecond})
	x.runner = jobs.NewRunner(jobs.RunnerConfig{Source: x.src, Store: store, Budget: time.Hour})
	x.hub = jobs.NewHub(jobs.HubConfig{Store: store})
	h := New(Config{Source: x.src, Jobs: x.runner, Hub: x.hub})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	x.addr = ln.Addr().String()
	srv := &fasthttp.Server{Handler: h.Handle, KeepHijackedConns: true, NoDefaultContentType: true,
		// Workers that served a watcher until its hijack do not linger for
		// the default 10s, so that what is measured is the watchers.
		MaxIdleWorkerDuration: 100 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	b.Cleanup(func() {
		x.hub.Shutdown(context.Background()) //nolint:errcheck // no deadline
		x.runner.Stop()
		srv.Shutdown() //nolint:errcheck // best effort
		<-done
	})
	return x
}

// job starts a job over n upstreams that settle when told.
func (x *jobsBench) job(b *testing.B, n int) (string, []string) {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = "http://u" + strconv.Itoa(i) + ".test/"
	}
	snap, err := x.runner.Start(context.Background(), urls, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	return snap.ID, urls
}

// BenchmarkEventFanout measures, with 1,000 watchers on one job over
// loopback TCP, the time from an upstream settling to every watcher having
// read its event. The watchers run in a child process (this test binary, as
// TestWatcherClients), which says when the last of them has each event; the
// two share the machine's wall clock. One op is one event; the next settles
// once every watcher has the previous one. Run it with a fixed count:
// -benchtime 500x.
func BenchmarkEventFanout(b *testing.B) {
	const watchers = 1000
	x := newJobsBench(b, false)
	id, urls := x.job(b, b.N)
	child, stdin, lines := startClients(b, x.addr, id, watchers, "read")
	testwait.Eventually(b, "every watcher to connect", func() bool { return x.hub.Stats.Watchers.Load() >= watchers })
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		x.src.settle(urls[i])
		line, err := lines.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		var got, at int64
		if _, err := fmt.Sscan(line, &got, &at); err != nil || got != int64(i+1) {
			b.Fatalf("clients said %q; want event %d", line, i+1)
		}
		lat[i] = time.Unix(0, at).Sub(start)
	}
	b.StopTimer()
	stdin.Close()
	child.Wait() //nolint:errcheck // it exits when its stdin closes
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// startClients starts the child process of TestWatcherClients with n event
// streams of job id, in mode idle or read, and returns it once its streams
// are open, with its stdin (close it to end the child) and its stdout.
func startClients(b *testing.B, addr, id string, n int, mode string) (*exec.Cmd, io.Closer, *bufio.Reader) {
	b.Helper()
	child := exec.Command(os.Args[0], "-test.run=^TestWatcherClients$")
	child.Env = append(os.Environ(), fmt.Sprintf("NUMBERS_WATCHER_CLIENTS=%s %s %d %s", addr, id, n, mode))
	stdin, _ := child.StdinPipe()
	stdout, _ := child.StdoutPipe()
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	lines := bufio.NewReader(stdout)
	if line, err := lines.ReadString('\n'); err != nil || line != "ready\n" {
		b.Fatalf("clients: %q, %v", line, err)
	}
	return child, stdin, lines
}

// BenchmarkJobs measures jobs created (POST /jobs, through the handler) and
// finished, with four instant upstreams.
func BenchmarkJobs(b *testing.B) {
	x := newJobsBench(b, true)
	h := New(Config{Source: x.src, Jobs: x.runner, Hub: x.hub})
	uri := "/jobs?u=http://a.test/&u=http://b.test/&u=http://c.test/&u=http://d.test/"
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.Header.SetMethod(fasthttp.MethodPost)
			ctx.Request.SetRequestURI(uri)
			h.Handle(&ctx)
			if ctx.Response.StatusCode() != fasthttp.StatusAccepted {
				b.Fatalf("POST: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
			id := string(ctx.Response.Header.Peek("Location")[len("/jobs/"):])
			for {
				_, more, err := x.runner.Store().Events(id, 0)
				if err != nil || more == nil {
					break
				}
				<-more
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
}

// BenchmarkIdleWatchers measures the memory of 10,000 idle watchers on one
// job: Go heap and stacks, and the process's resident memory, before and
// after they connect, per watcher. The clients run in a child process (this
// test binary, as TestWatcherClients), so that only the service's side is
// counted and neither process needs more than 10,000 descriptors. Kernel
// socket buffers are not the process's and are not counted. Run it once:
// -benchtime 1x.
func BenchmarkIdleWatchers(b *testing.B) {
	const watchers = 10000
	x := newJobsBench(b, false)
	id, _ := x.job(b, 1)
	for range b.N {
		before := settledMemory()
		goroutines := runtime.NumGoroutine()
		child, stdin, _ := startClients(b, x.addr, id, watchers, "idle")
		testwait.Eventually(b, "every watcher to connect, its hijacked worker and flushes gone", func() bool {
			return x.hub.Stats.Watchers.Load() >= watchers && runtime.NumGoroutine() <= goroutines+watchers+10
		})
		after := settledMemory()
		b.ReportMetric(float64(after.goMem-before.goMem)/watchers, "go-B/watcher")
		b.ReportMetric(float64(after.rss-before.rss)/watchers, "rss-B/watcher")
		b.ReportMetric(float64(runtime.NumGoroutine()-goroutines)/watchers, "goroutines/watcher")
		stdin.Close()
		child.Wait() //nolint:errcheck // it exits when its stdin closes
		testwait.Eventually(b, "every watcher to leave", func() bool { return x.hub.Stats.Watchers.Load() == 0 })
	}
}

type memory struct{ goMem, rss int64 }

// settledMemory collects garbage and returns the heap and stacks in use and
// the resident set.
func settledMemory() memory {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := memory{goMem: int64(ms.HeapInuse + ms.StackInuse + ms.MSpanInuse + ms.MCacheInuse)}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		var size, rss int64
		fmt.Sscan(string(b), &size, &rss) //nolint:errcheck // zero if unreadable
		m.rss = rss * int64(os.Getpagesize())
	}
	return m
}

// TestWatcherClients is the benchmarks' child: with
// NUMBERS_WATCHER_CLIENTS="addr id n mode" it opens n event streams of job
// id, reads their heads and says "ready". In mode idle it holds them; in
// mode read it reads them, and prints "k t" when the last stream has read
// event k, t being the wall clock in nanoseconds. It ends when its stdin
// closes.
func TestWatcherClients(t *testing.T) {
	spec := os.Getenv("NUMBERS_WATCHER_CLIENTS")
	if spec == "" {
		t.Skip("only as the child of BenchmarkIdleWatchers and BenchmarkEventFanout")
	}
	var addr, id, mode string
	var n int
	if _, err := fmt.Sscan(spec, &addr, &id, &n, &mode); err != nil {
		t.Fatal(err)
	}
	conns := make([]net.Conn, 0, n)
	head := make([]byte, len(sseHead))
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "GET /jobs/%s/events HTTP/1.1\r\nHost: bench\r\n\r\n", id)
		if _, err := io.ReadFull(c, head); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	var mu sync.Mutex
	have := map[int]int{} // by event id: streams that read it
	var wg sync.WaitGroup
	if mode == "read" {
		for _, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				br := bufio.NewReader(c)
				cur := 0
				for {
					line, err := br.ReadSlice('\n')
					if err != nil {
						return
					}
					switch {
					case bytes.HasPrefix(line, []byte("id: ")):
						cur, _ = strconv.Atoi(string(bytes.TrimSpace(line[4:])))
					case len(line) == 1 && cur > 0:
						now := time.Now().UnixNano()
						mu.Lock()
						if have[cur]++; have[cur] == n {
							fmt.Printf("%d %d\n", cur, now)
						}
						mu.Unlock()
						cur = 0
					}
				}
			}()
		}
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin) //nolint:errcheck // until the parent closes it
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
}
