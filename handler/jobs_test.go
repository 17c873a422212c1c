package handler

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"numbers/cache"
	"numbers/deadline"
	"numbers/fetcher"
	"numbers/internal/testwait"
	"numbers/jobs"
	"numbers/outcome"
	"numbers/resilience"
	"numbers/source"
)

// jobsFixture is a Handler with jobs over a fake source, served on an
// in-memory listener.
type jobsFixture struct {
	f      *fake
	runner *jobs.Runner
	hub    *jobs.Hub
	ln     *fasthttputil.InmemoryListener
	ended  chan jobs.Reason
}

func newJobsFixture(t *testing.T, answers map[string]canned, store jobs.Store, budget time.Duration) *jobsFixture {
	t.Helper()
	return newJobsFixtureWith(t, answers, store, budget, nil)
}

// newJobsFixtureWith is newJobsFixture with the handler's planner (nil:
// the default).
func newJobsFixtureWith(t *testing.T, answers map[string]canned, store jobs.Store, budget time.Duration, planner *deadline.Planner) *jobsFixture {
	t.Helper()
	x := &jobsFixture{f: newFake(answers), ended: make(chan jobs.Reason, 16)}
	x.runner = jobs.NewRunner(jobs.RunnerConfig{Source: x.f, Store: store, Budget: time.Hour, MaxBudget: 5 * time.Minute})
	x.hub = jobs.NewHub(jobs.HubConfig{Store: x.runner.Store(), Ended: func(r jobs.Reason) { x.ended <- r }})
	x.ln = serve(t, New(Config{Source: x.f, Budget: budget, Jobs: x.runner, Hub: x.hub, Planner: planner}))
	t.Cleanup(func() { // before the server's shutdown, registered earlier
		x.runner.Stop()
		x.hub.Shutdown(context.Background()) //nolint:errcheck // no deadline
	})
	return x
}

// do sends method uri with the headers (name, value pairs) and reads the answer.
func (x *jobsFixture) do(t *testing.T, method, uri string, headers ...string) *fasthttp.Response {
	t.Helper()
	c, err := x.ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if strings.HasPrefix(uri, "/") {
		uri = "http://numbers.test" + uri
	}
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.SetConnectionClose()
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp := new(fasthttp.Response)
	resp.SkipBody = method == fasthttp.MethodHead
	if err := fasthttpDo(c, &req, resp); err != nil {
		t.Fatalf("%s %s: %v", method, uri, err)
	}
	return resp
}

// document is a status document as a caller reads it.
type document struct {
	ID        string
	Status    string
	Created   time.Time
	Deadline  time.Time
	Upstreams struct{ Total, Settled int }
	Outcomes  map[string]int
	Complete  bool
	Numbers   []int64
}

func parseDocument(t *testing.T, b []byte) document {
	t.Helper()
	var d document
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("status document %s: %v", b, err)
	}
	return d
}

func jobsURI(path string, us ...string) string {
	return "http://numbers.test" + path + "?" + url.Values{"u": us}.Encode()
}

// events reads job id's stream after lastID ("" for none) to its end and
// returns the response head and the body after its retry field, which it
// checks.
func (x *jobsFixture) events(t *testing.T, id, lastID string) (string, string) {
	t.Helper()
	c, err := x.ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET /jobs/" + id + "/events HTTP/1.1\r\nHost: numbers.test\r\n"
	if lastID != "" {
		req += "Last-Event-ID: " + lastID + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := strings.Cut(string(b), "\r\n\r\n")
	if strings.HasPrefix(head, "HTTP/1.1 200 ") {
		var ok bool
		if body, ok = strings.CutPrefix(body, "retry: 1000\n\n"); !ok {
			t.Fatalf("stream %q: no retry field first", body)
		}
	}
	return head, body
}

// waitJob waits until job id is no longer running and returns its document.
func (x *jobsFixture) waitJob(t *testing.T, id string) *jobs.Snapshot {
	t.Helper()
	for {
		_, more, err := x.runner.Store().Events(id, 0)
		if err != nil {
			t.Fatal(err)
		}
		if more == nil {
			snap, _ := x.runner.Store().Get(id)
			return snap
		}
		<-more
	}
}

func TestJobsLifecycle(t *testing.T) {
	x := newJobsFixture(t, map[string]canned{
		"http://a.test/": {numbers: []int64{1, 3}},
		"http://b.test/": {block: true},
	}, nil, time.Second)

	resp := x.do(t, fasthttp.MethodPost, jobsURI("/jobs", "http://a.test/", "http://b.test/", "ftp://bad"))
	if resp.StatusCode() != fasthttp.StatusAccepted {
		t.Fatalf("POST: %d %s", resp.StatusCode(), resp.Body())
	}
	doc := parseDocument(t, resp.Body())
	if loc := string(resp.Header.Peek("Location")); loc != "/jobs/"+doc.ID || !jobs.ValidID(doc.ID) {
		t.Fatalf("Location %q for id %q", loc, doc.ID)
	}
	if ra := string(resp.Header.Peek("Retry-After")); ra != "1" {
		t.Fatalf("Retry-After %q", ra)
	}
	if doc.Status != "running" || doc.Upstreams.Total != 2 || doc.Outcomes["invalid"] != 1 || doc.Deadline.Sub(doc.Created) != time.Hour {
		t.Fatalf("document %+v", doc)
	}

	resp = x.do(t, fasthttp.MethodGet, "/jobs/"+doc.ID)
	if resp.StatusCode() != 200 || string(resp.Header.Peek("Retry-After")) != "1" {
		t.Fatalf("GET while running: %d, Retry-After %q", resp.StatusCode(), resp.Header.Peek("Retry-After"))
	}

	resp = x.do(t, fasthttp.MethodDelete, "/jobs/"+doc.ID)
	got := parseDocument(t, resp.Body())
	if resp.StatusCode() != 200 || got.Status != "cancelled" || got.Complete {
		t.Fatalf("DELETE: %d %s", resp.StatusCode(), resp.Body())
	}
	resp = x.do(t, fasthttp.MethodGet, "/jobs/"+doc.ID)
	if got := parseDocument(t, resp.Body()); got.Status != "cancelled" || resp.Header.Peek("Retry-After") != nil {
		t.Fatalf("GET after DELETE: %s, Retry-After %q", resp.Body(), resp.Header.Peek("Retry-After"))
	}
	if resp := x.do(t, fasthttp.MethodHead, "/jobs/"+doc.ID); resp.StatusCode() != 200 || len(resp.Body()) != 0 {
		t.Fatalf("HEAD: %d %q", resp.StatusCode(), resp.Body())
	}

	// A job whose upstreams answer: done and complete.
	resp = x.do(t, fasthttp.MethodPost, jobsURI("/jobs", "http://a.test/")+"&budget=1m")
	doc = parseDocument(t, resp.Body())
	x.waitJob(t, doc.ID)
	resp = x.do(t, fasthttp.MethodGet, "/jobs/"+doc.ID)
	got = parseDocument(t, resp.Body())
	if got.Status != "done" || !got.Complete || got.Upstreams.Settled != 1 || len(got.Numbers) != 2 || got.Deadline.Sub(got.Created) != time.Minute {
		t.Fatalf("done document %s", resp.Body())
	}
}

func TestJobsErrors(t *testing.T) {
	x := newJobsFixture(t, nil, jobs.NewMemStore(jobs.MemConfig{MaxJobs: 1}), time.Second)
	var many []string
	for i := range 65 {
		many = append(many, "http://h"+string(rune('a'+i%26))+string(rune('a'+i/26))+".test/")
	}
	tests := []struct {
		name, method, uri string
		status            int
		allow             string
	}{
		{"GET /jobs", "GET", "/jobs", 405, "POST"},
		{"PUT a job", "PUT", "/jobs/" + jobs.NewID(), 405, "GET, HEAD, DELETE"},
		{"POST events", "POST", "/jobs/" + jobs.NewID() + "/events", 405, "GET"},
		{"unknown id", "GET", "/jobs/" + jobs.NewID(), 404, ""},
		{"malformed id", "GET", "/jobs/x", 404, ""},
		{"no id", "GET", "/jobs/", 404, ""},
		{"delete unknown", "DELETE", "/jobs/" + jobs.NewID(), 404, ""},
		{"events unknown", "GET", "/jobs/" + jobs.NewID() + "/events", 404, ""},
		{"events malformed", "GET", "/jobs/x/events", 404, ""},
		{"other sub-path", "GET", "/jobs/" + jobs.NewID() + "/other", 404, ""},
		{"not a jobs path", "GET", "/jobsx", 404, ""},
		{"bad budget", "POST", "/jobs?budget=soon", 400, ""},
		{"zero budget", "POST", "/jobs?budget=0s", 400, ""},
		{"negative budget", "POST", "/jobs?budget=-1s", 400, ""},
		{"budget over the max", "POST", "/jobs?budget=5m1s", 400, ""},
		{"too many URLs", "POST", jobsURI("/jobs", many...), 400, ""},
		{"fills the store", "POST", "/jobs?budget=5m", 202, ""},
		{"store full", "POST", "/jobs", 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := x.do(t, tt.method, tt.uri)
			if resp.StatusCode() != tt.status {
				t.Fatalf("status %d %s; want %d", resp.StatusCode(), resp.Body(), tt.status)
			}
			if got := string(resp.Header.Peek("Allow")); got != tt.allow {
				t.Errorf("Allow %q; want %q", got, tt.allow)
			}
			if tt.status >= 400 {
				var e struct{ Error string }
				if err := json.Unmarshal(resp.Body(), &e); err != nil || e.Error == "" {
					t.Errorf("error body %q", resp.Body())
				}
			}
			if tt.status == 503 && string(resp.Header.Peek("Retry-After")) == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
}

func TestJobEvents(t *testing.T) {
	x := newJobsFixture(t, map[string]canned{
		"http://a.test/": {numbers: []int64{1}},
		"http://b.test/": {block: true},
	}, nil, time.Second)
	resp := x.do(t, fasthttp.MethodPost, jobsURI("/jobs", "http://a.test/", "http://b.test/"))
	id := parseDocument(t, resp.Body()).ID

	streamed := make(chan string, 1)
	go func() {
		_, body := x.events(t, id, "")
		streamed <- body
	}()
	for { // a settles first: the fake delivers from goroutines of its own
		evs, more, _ := x.runner.Store().Events(id, 0)
		if len(evs) > 0 {
			break
		}
		<-more
	}
	close(x.f.release) // b fails
	head, body := x.events(t, id, "")
	if !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || !strings.Contains(head, "Content-Type: text/event-stream") {
		t.Fatalf("head %q", head)
	}
	if live := <-streamed; live != body {
		t.Fatalf("a watcher from before and one from after saw different streams:\n%s\n%s", live, body)
	}
	final, _ := x.runner.Store().Get(id)
	want := "id: 1\nevent: upstream\ndata: {\"url\":\"http://a.test/\",\"outcome\":\"ok\",\"count\":1}\n\n" +
		"id: 2\nevent: upstream\ndata: {\"url\":\"http://b.test/\",\"outcome\":\"failed\",\"count\":0}\n\n" +
		"id: 3\nevent: done\ndata: " + string(jobs.AppendJSON(nil, final)) + "\n\n"
	if body != want {
		t.Fatalf("stream\n%s\nwant\n%s", body, want)
	}
	if _, rest := x.events(t, id, "1"); rest != want[strings.Index(want, "id: 2"):] {
		t.Fatalf("after Last-Event-ID 1:\n%s", rest)
	}
	if resp := x.do(t, fasthttp.MethodGet, "/jobs/"+id+"/events", "Last-Event-ID", "3"); resp.StatusCode() != fasthttp.StatusNoContent {
		t.Fatalf("after the last event: %d; want 204 (do not reconnect)", resp.StatusCode())
	}
	if resp := x.do(t, fasthttp.MethodGet, "/jobs/"+id+"/events", "Last-Event-ID", "x"); resp.StatusCode() != 400 {
		t.Fatalf("malformed Last-Event-ID: %d; want 400", resp.StatusCode())
	}
	for range 3 {
		if r := <-x.ended; r != jobs.EndDone {
			t.Fatalf("stream ended with %v", r)
		}
	}
}

// TestJobEventsDisconnect: a client that closes its connection while its
// stream is idle is noticed at once through fasthttp (whose stream writer
// would not tell), and its watcher freed.
func TestJobEventsDisconnect(t *testing.T) {
	x := newJobsFixture(t, map[string]canned{"http://b.test/": {block: true}}, nil, time.Second)
	resp := x.do(t, fasthttp.MethodPost, jobsURI("/jobs", "http://b.test/"))
	id := parseDocument(t, resp.Body()).ID
	c, err := x.ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "GET /jobs/"+id+"/events HTTP/1.1\r\nHost: numbers.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	if x.hub.Stats.Watchers.Load() != 1 {
		t.Fatalf("%d watchers; want 1", x.hub.Stats.Watchers.Load())
	}
	c.Close()
	if r := <-x.ended; r != jobs.EndGone {
		t.Fatalf("ended with %v; want gone", r)
	}
	if x.hub.Stats.Watchers.Load() != 0 {
		t.Fatal("the watcher was not freed")
	}
}

func TestRespondAsync(t *testing.T) {
	answers := map[string]canned{
		"http://a.test/": {numbers: []int64{1, 2}},
		"http://c.test/": {numbers: []int64{9}, outcome: outcome.Cached},
		"http://b.test/": {block: true},
	}
	t.Run("partial becomes a job", func(t *testing.T) {
		x := newJobsFixture(t, answers, nil, 300*time.Millisecond)
		resp := x.do(t, fasthttp.MethodGet, numbersURI("http://a.test/", "http://b.test/", "ftp://x"), "Prefer", "wait=1, respond-async")
		if resp.StatusCode() != 200 || string(resp.Body()) != `{"numbers":[1,2]}` {
			t.Fatalf("answer %d %s", resp.StatusCode(), resp.Body())
		}
		if got := string(resp.Header.Peek("X-Numbers-Outcomes")); got != "ok=1,cached=0,stale=0,failed=0,denied=0,timeout=1,invalid=1,ejected=0" {
			t.Fatalf("outcomes %q", got)
		}
		if got := string(resp.Header.Peek("Preference-Applied")); got != "respond-async" {
			t.Fatalf("Preference-Applied %q", got)
		}
		link := string(resp.Header.Peek("Link"))
		id, ok := strings.CutPrefix(link, "</jobs/")
		id, ok2 := strings.CutSuffix(id, `>; rel="monitor"`)
		if !ok || !ok2 || !jobs.ValidID(id) {
			t.Fatalf("Link %q", link)
		}
		doc := parseDocument(t, x.do(t, fasthttp.MethodGet, "/jobs/"+id).Body())
		if doc.Status != "running" || doc.Upstreams.Total != 2 || doc.Upstreams.Settled != 1 || doc.Outcomes["invalid"] != 1 ||
			doc.Deadline.Sub(doc.Created) != time.Hour {
			t.Fatalf("job %+v", doc)
		}
		close(x.f.release) // b fails, in the job
		final := x.waitJob(t, id)
		if final.State != jobs.Done || final.Settled != 2 || final.Outcomes[outcome.Failed] != 1 {
			t.Fatalf("final %+v", final)
		}
		_, body := x.events(t, id, "")
		if !strings.HasPrefix(body, "id: 1\nevent: upstream\ndata: {\"url\":\"http://a.test/\",\"outcome\":\"ok\",\"count\":2}\n\n"+
			"id: 2\nevent: upstream\ndata: {\"url\":\"http://b.test/\",\"outcome\":\"failed\",\"count\":0}\n\nid: 3\nevent: done\n") {
			t.Fatalf("events %s", body)
		}
	})
	t.Run("complete answers plainly", func(t *testing.T) {
		x := newJobsFixture(t, answers, nil, time.Second)
		resp := x.do(t, fasthttp.MethodGet, numbersURI("http://a.test/", "http://c.test/"), "Prefer", "respond-async")
		if string(resp.Body()) != `{"numbers":[1,2,9]}` || resp.Header.Peek("Link") != nil || resp.Header.Peek("Preference-Applied") != nil {
			t.Fatalf("answer %s, Link %q", resp.Body(), resp.Header.Peek("Link"))
		}
		if st := x.runner.Store().Stats(); st.Jobs != (jobs.StoreStats{}).Jobs {
			t.Fatalf("a complete answer left a job: %+v", st)
		}
	})
	t.Run("no preference", func(t *testing.T) {
		x := newJobsFixture(t, answers, nil, 300*time.Millisecond)
		resp := x.do(t, fasthttp.MethodGet, numbersURI("http://a.test/", "http://b.test/"))
		if resp.Header.Peek("Link") != nil || x.runner.Store().Stats().Jobs != (jobs.StoreStats{}).Jobs {
			t.Fatalf("a job without the preference: Link %q", resp.Header.Peek("Link"))
		}
	})
	t.Run("store full", func(t *testing.T) {
		x := newJobsFixture(t, answers, jobs.NewMemStore(jobs.MemConfig{MaxJobs: 1}), 300*time.Millisecond)
		x.do(t, fasthttp.MethodPost, jobsURI("/jobs", "http://b.test/"))
		resp := x.do(t, fasthttp.MethodGet, numbersURI("http://a.test/", "http://b.test/"), "Prefer", "respond-async")
		if resp.StatusCode() != 200 || string(resp.Body()) != `{"numbers":[1,2]}` || resp.Header.Peek("Preference-Applied") != nil {
			t.Fatalf("answer with a full store: %d %s, Preference-Applied %q", resp.StatusCode(), resp.Body(), resp.Header.Peek("Preference-Applied"))
		}
	})
}

// gatedFetcher answers every fetch with {2} once released, cacheable for a
// minute, and counts the fetches.
type gatedFetcher struct {
	release chan struct{}
	entered chan struct{}
	calls   atomic.Int64
}

func (f *gatedFetcher) Fetch(ctx context.Context, _ string) (fetcher.Response, error) {
	f.calls.Add(1)
	f.entered <- struct{}{}
	select {
	case <-f.release:
	case <-ctx.Done():
		return fetcher.Response{}, ctx.Err()
	}
	now := time.Now()
	return fetcher.Response{Numbers: []int64{2}, CacheControl: "max-age=60", Sent: now, Received: now}, nil
}

// TestJobsShareTheSource: a job and a request of /numbers for the same URL
// share one upstream fetch (coalescing), and a later job is answered from
// the cache.
func TestJobsShareTheSource(t *testing.T) {
	f := &gatedFetcher{release: make(chan struct{}), entered: make(chan struct{}, 4)}
	src := source.New(source.Config{Upstream: resilience.New(resilience.Config{Fetcher: f}), Cache: cache.New(cache.Config{}), Coalesce: true})
	runner := jobs.NewRunner(jobs.RunnerConfig{Source: src})
	hub := jobs.NewHub(jobs.HubConfig{Store: runner.Store()})
	defer hub.Shutdown(context.Background()) //nolint:errcheck // no deadline
	defer runner.Stop()
	h := New(Config{Source: src, Budget: time.Minute, Jobs: runner, Hub: hub})
	const u = "http://shared.test/"

	post := direct(h, fasthttp.MethodPost, jobsURI("/jobs", u))
	first := parseDocument(t, post.Response.Body()).ID
	<-f.entered
	ln := serve(t, h)
	answered := make(chan *fasthttp.Response, 1)
	go func() { answered <- roundTrip(t, ln, fasthttp.MethodGet, numbersURI(u)) }()
	testwait.Eventually(t, "the request to join the job's fetch", func() bool { return src.Stats.Coalesced.Load() > 0 })
	close(f.release)
	resp := <-answered
	if string(resp.Body()) != `{"numbers":[2]}` || f.calls.Load() != 1 {
		t.Fatalf("/numbers %s after %d upstream fetches; want [2] from the job's one fetch", resp.Body(), f.calls.Load())
	}
	x := &jobsFixture{runner: runner}
	if final := x.waitJob(t, first); final.Outcomes[outcome.OK] != 1 {
		t.Fatalf("job %+v", final)
	}
	post = direct(h, fasthttp.MethodPost, jobsURI("/jobs", u))
	second := x.waitJob(t, parseDocument(t, post.Response.Body()).ID)
	if second.Outcomes[outcome.Cached] != 1 || f.calls.Load() != 1 {
		t.Fatalf("second job %+v after %d fetches; want it cached", second, f.calls.Load())
	}
}

// TestCallerDelayFlushesRespondAsync: a respond-async answer is planned by
// the same planner as a plain one: with the caller's delay taking all but
// 100ms of an hour's budget, it comes out at once, linking to its job.
func TestCallerDelayFlushesRespondAsync(t *testing.T) {
	x := newJobsFixtureWith(t, map[string]canned{"http://b.test/": {block: true}}, nil, time.Hour,
		plannerWith(time.Millisecond, time.Hour-100*time.Millisecond))
	c, err := x.ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var req fasthttp.Request
	req.SetRequestURI(numbersURI("http://b.test/"))
	req.Header.Set("Prefer", "respond-async")
	resp := new(fasthttp.Response)
	start := time.Now()
	if err := fasthttpDo(c, &req, resp); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > slack {
		t.Errorf("answered after %v; want within about 100ms", took)
	}
	if string(resp.Body()) != `{"numbers":[]}` || !strings.HasPrefix(string(resp.Header.Peek("Link")), "</jobs/") {
		t.Fatalf("answer %d %s, Link %q; want an empty answer and a link to the job", resp.StatusCode(), resp.Body(), resp.Header.Peek("Link"))
	}
	close(x.f.release) // b fails, in the job
}
