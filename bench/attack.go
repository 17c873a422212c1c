package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// ErrAttack reports an attack that could not start.
var ErrAttack = errors.New("bench: attack")

// Attack describes one open-loop run against one URL.
type Attack struct {
	// Name labels the Result.
	Name string
	// URL is requested with GET; it must be http on a loopback address
	// (127.0.0.0/8, ::1 or localhost): load is never sent anywhere else.
	URL string
	// Pacer schedules the requests; Duration bounds the schedule. Both required.
	Pacer    Pacer
	Duration time.Duration
	// Distinct, when true, gives every request upstream URLs of its own: each
	// u= value of URL gets NonceParam=<tag>-<request index> appended, the tag
	// taken from the clock at the start. URL must then have a u= parameter.
	// False sends URL as it is, every time.
	Distinct bool
	// URLs, when set, builds request i's URL into dst and returns it,
	// instead of URL and Distinct (which still names the target: its host
	// is the one attacked). Each must be a URL on that host.
	URLs func(dst []byte, i uint64) []byte
	// Budget is the lateness threshold; zero means DefaultBudget.
	Budget time.Duration
	// CallerSlack, when positive, makes the generator a caller with its own
	// deadline: every request carries grpc-timeout with what is left of
	// Budget since the request's intended send time, less CallerSlack (the
	// caller's own overhead, such as reading the answer on a busy machine),
	// so that the service answers on the caller's clock. Zero sends no
	// deadline: the service uses its own budget.
	CallerSlack time.Duration
	// Timeout bounds one request; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxWorkers caps the workers, each holding at most one connection. Zero
	// means enough for the peak rate with every response taking Timeout/2,
	// between 64 and 8192. Workers start lazily: a request finding no idle
	// worker starts one, so a fast target is served by few connections.
	MaxWorkers int
	// Progress, when set, is called about once a second from the scheduling
	// goroutine; it must return quickly.
	Progress func(Progress)
}

// Progress is a snapshot of a running attack.
type Progress struct {
	Name          string
	Elapsed       time.Duration
	Sent, Done    uint64
	Failed, Late  uint64
	Workers       int
	MaxLag        time.Duration
	ScheduledRate float64
}

// isLoopback reports whether host is localhost or a loopback IP literal.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// tick is one request: its index in the schedule, its intended send time and
// that time as an offset from the start.
type tick struct {
	i   uint64
	due time.Time
	at  time.Duration
}

// Run executes the attack and returns its Result once every request sent has
// completed or timed out. Cancelling ctx stops the schedule early; requests
// already sent still complete.
func Run(ctx context.Context, a Attack) (*Result, error) {
	if a.Pacer == nil || a.Duration <= 0 {
		return nil, fmt.Errorf("%w: a pacer and a positive duration are required", ErrAttack)
	}
	u, err := url.Parse(a.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("%w: target %q must be an http URL", ErrAttack, a.URL)
	}
	if !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%w: target %q is not a loopback address (127.0.0.0/8, ::1 or localhost)", ErrAttack, a.URL)
	}
	var distinct *distinctURL
	if a.Distinct {
		if distinct, err = newDistinctURL(a.URL, strconv.FormatInt(time.Now().UnixNano(), 36)); err != nil {
			return nil, err
		}
	}
	budget := cmpOr(a.Budget, DefaultBudget)
	timeout := cmpOr(a.Timeout, DefaultTimeout)
	total := a.Pacer.Hits(a.Duration)
	maxWorkers := a.MaxWorkers
	if maxWorkers <= 0 {
		peak := max(a.Pacer.Rate(0), a.Pacer.Rate(a.Duration))
		maxWorkers = int(math.Min(8192, math.Max(64, peak*timeout.Seconds()/2)))
	}
	hc := &fasthttp.HostClient{
		Addr:                          u.Host,
		Name:                          "numbers-bench",
		MaxConns:                      maxWorkers,
		MaxIdemponentCallAttempts:     1, // a failure is a result, never retried away
		MaxResponseBodySize:           256 << 20,
		ReadBufferSize:                16 << 10,
		MaxIdleConnDuration:           10 * time.Second,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
	}
	defer hc.CloseIdleConnections()

	rec := newRecorder(max(4, 2*runtime.GOMAXPROCS(0)), budget)
	res := &Result{
		Name: a.Name, URL: a.URL, DurationS: a.Duration.Seconds(),
		Rate: float64(total) / a.Duration.Seconds(),
	}
	ticks := make(chan tick) // unbuffered: a send succeeds only into an idle worker
	var wg sync.WaitGroup
	var lastMu sync.Mutex
	var last time.Time
	workers := 0
	spawn := func() {
		id := workers
		workers++
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			var end time.Time
			var uri []byte   // request URIs of a Distinct attack, built in place
			var hdr [16]byte // a grpc-timeout value
			for t := range ticks {
				switch {
				case a.URLs != nil:
					uri = a.URLs(uri[:0], t.i)
					req.SetRequestURIBytes(uri)
				case distinct != nil:
					uri = distinct.append(uri[:0], t.i)
					req.SetRequestURIBytes(uri)
				default:
					req.SetRequestURI(a.URL)
				}
				sent := time.Now()
				if a.CallerSlack > 0 {
					req.Header.SetBytesV("grpc-timeout", callerTimeout(hdr[:0], budget-a.CallerSlack-sent.Sub(t.due)))
				}
				err := hc.DoDeadline(req, resp, sent.Add(timeout))
				end = time.Now()
				rec.record(id, t.at, end.Sub(t.due), end.Sub(sent), resp, err)
				resp.Reset()
			}
			lastMu.Lock()
			if end.After(last) {
				last = end
			}
			lastMu.Unlock()
		}()
	}

	// Park a few workers before the first tick so that the first requests do
	// not wait for goroutines to start; more start on demand.
	for range min(maxWorkers, 8+int(a.Pacer.Rate(0)/200)) {
		spawn()
	}
	start := time.Now()
	var maxLag time.Duration
	var behind, sent uint64
	nextProgress := start.Add(time.Second)
	waiter := NewWaiter()
	defer waiter.Stop()
schedule:
	for i := uint64(0); i < total; i++ {
		at := a.Pacer.Offset(i)
		due := start.Add(at)
		if !waiter.Until(ctx, due) {
			break
		}
		t := tick{i: i, due: due, at: at}
		select {
		case ticks <- t:
		default:
			if workers < maxWorkers {
				spawn()
			}
			select {
			case ticks <- t:
			case <-ctx.Done():
				break schedule
			}
		}
		sent++
		now := time.Now()
		if lag := now.Sub(due); lag > maxLag {
			maxLag = lag
		}
		if now.Sub(due) > time.Millisecond {
			behind++
		}
		if a.Progress != nil && now.After(nextProgress) {
			nextProgress = now.Add(time.Second)
			a.Progress(Progress{
				Name: a.Name, Elapsed: now.Sub(start), Sent: sent, Done: rec.done.Load(),
				Failed: rec.failed.Load(), Late: rec.late.Load(), Workers: workers,
				MaxLag: maxLag, ScheduledRate: a.Pacer.Rate(now.Sub(start)),
			})
		}
	}
	close(ticks)
	wg.Wait()
	res.Requests = sent
	if last.IsZero() {
		last = time.Now()
	}
	res.ElapsedS = max(last.Sub(start).Seconds(), 1e-9)
	res.Generator = Generator{MaxLagMs: float64(maxLag) / float64(time.Millisecond), Behind: behind, Workers: workers}
	rec.summarize(res)
	return res, nil
}

// callerTimeout appends left as a grpc-timeout value in microseconds, at
// least 1u (a deadline already passed is still sent: the service refuses it
// at once).
func callerTimeout(dst []byte, left time.Duration) []byte {
	return append(strconv.AppendInt(dst, max(int64(left/time.Microsecond), 1), 10), 'u')
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
