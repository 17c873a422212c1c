package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"numbers/internal/testupstream"
	"numbers/internal/testwait"
	"numbers/redisstore/redistest"
)

// These tests run two replicas of the binary over one real redis-server,
// started for each test (redistest; make test installs redis-server).

// startRedis starts a redis-server for the test.
func startRedis(t *testing.T) *redistest.Server {
	t.Helper()
	srv, err := redistest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// pair starts replicas A and B sharing srv.
func pair(t *testing.T, srv *redistest.Server, tune map[string]any) (a, b *proc) {
	t.Helper()
	return startWith(t, nil, tune, "-redis", srv.URL), startWith(t, nil, tune, "-redis", srv.URL)
}

// post starts a job through p and returns its Location.
func post(t *testing.T, p *proc, us ...string) string {
	t.Helper()
	resp, err := http.Post("http://"+p.addr+"/jobs"+strings.TrimPrefix(query(us...), "/numbers")+"&budget=1m", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(loc, "/jobs/") {
		t.Fatalf("POST /jobs: %d, Location %q", resp.StatusCode, loc)
	}
	return loc
}

// jobDoc is the part of a job's status document the tests read.
type jobDoc struct {
	Status    string `json:"status"`
	Upstreams struct {
		Settled int `json:"settled"`
	} `json:"upstreams"`
	Numbers []int64 `json:"numbers"`
	Error   string  `json:"error"`
}

// getJob reads job loc through p.
func getJob(t *testing.T, p *proc, loc string) (int, jobDoc) {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + loc)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d jobDoc
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, d
}

// sse is an event stream read from a raw connection.
type sse struct {
	c  net.Conn
	br *bufio.Reader
}

// follow opens job loc's event stream through p, resuming after lastID
// when it is not empty, and reads the response's head.
func follow(t *testing.T, p *proc, loc, lastID string) (*sse, string) {
	t.Helper()
	c, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET " + loc + "/events HTTP/1.1\r\nHost: numbers\r\n"
	if lastID != "" {
		req += "Last-Event-ID: " + lastID + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second)) //nolint:errcheck // a stuck read fails the test
	s := &sse{c: c, br: bufio.NewReader(c)}
	status, err := s.br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	for { // the rest of the head
		line, err := s.br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	return s, strings.TrimSpace(status)
}

// next returns the next event's id, type and data, skipping comments.
func (s *sse) next(t *testing.T) (id, typ, data string) {
	t.Helper()
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading an event: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && id != "":
			return id, typ, data
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "event: "):
			typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		}
	}
}

// released answers its numbers once release is closed.
func released(release <-chan struct{}, entered chan<- struct{}, body string) func(http.ResponseWriter, *http.Request, <-chan struct{}) {
	return func(w http.ResponseWriter, r *http.Request, hang <-chan struct{}) {
		entered <- struct{}{}
		select {
		case <-release:
			fmt.Fprint(w, body)
		case <-r.Context().Done():
		case <-hang:
		}
	}
}

// TestReplicasShareJobs: a job created through A is read and streamed
// through B, with the replay, the live events and Last-Event-ID; DELETE
// through B of a job A runs cancels it.
func TestReplicasShareJobs(t *testing.T) {
	srv := startRedis(t)
	a, b := pair(t, srv, nil)
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	slow := testupstream.Start(t, released(release, entered, `{"numbers":[9]}`)).URL
	good := testupstream.Start(t, testupstream.JSON(`{"numbers":[1,2]}`)).URL

	loc := post(t, a, good, slow)
	<-entered
	s, status := follow(t, b, loc, "")
	if status != "HTTP/1.1 200 OK" {
		t.Fatalf("events through B: %s", status)
	}
	if id, typ, data := s.next(t); id != "1" || typ != "upstream" || !strings.Contains(data, `"outcome":"ok","count":2`) {
		t.Fatalf("replay through B: %s %s %s", id, typ, data)
	}
	code, doc := getJob(t, b, loc)
	if code != http.StatusOK || doc.Status != "running" || doc.Upstreams.Settled != 1 {
		t.Fatalf("GET through B: %d %+v", code, doc)
	}
	close(release) // the live events, through B
	if id, typ, _ := s.next(t); id != "2" || typ != "upstream" {
		t.Fatalf("live event through B: %s %s", id, typ)
	}
	if id, typ, data := s.next(t); id != "3" || typ != "done" || !strings.Contains(data, `"numbers":[1,2,9]`) {
		t.Fatalf("done through B: %s %s %s", id, typ, data)
	}
	r, status := follow(t, b, loc, "1")
	if status != "HTTP/1.1 200 OK" {
		t.Fatalf("resume through B: %s", status)
	}
	if id, _, _ := r.next(t); id != "2" {
		t.Fatalf("resumed after 1 with event %s, want 2", id)
	}
	if id, _, _ := r.next(t); id != "3" {
		t.Fatalf("then event %s, want 3", id)
	}
	if _, status := follow(t, b, loc, "3"); status != "HTTP/1.1 204 No Content" {
		t.Fatalf("after the last event: %s, want 204", status)
	}

	// DELETE through B of a job that A runs.
	entered2 := make(chan struct{}, 1)
	hang := testupstream.Start(t, testupstream.Hanging(entered2)).URL
	loc = post(t, a, hang)
	<-entered2
	req, _ := http.NewRequest(http.MethodDelete, "http://"+b.addr+loc, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var d jobDoc
	json.NewDecoder(resp.Body).Decode(&d) //nolint:errcheck // checked below
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || d.Status != "cancelled" {
		t.Fatalf("DELETE through B: %d %+v", resp.StatusCode, d)
	}
	if code, d := getJob(t, a, loc); code != http.StatusOK || d.Status != "cancelled" {
		t.Fatalf("through A after: %d %+v", code, d)
	}
}

// counting answers numbers with Cache-Control: max-age=60 and counts its
// requests.
func counting(n *atomic.Int64, body string) func(http.ResponseWriter, *http.Request, <-chan struct{}) {
	return func(w http.ResponseWriter, _ *http.Request, _ <-chan struct{}) {
		n.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, body)
	}
}

// waitKey waits until srv holds the cache entry of url.
func waitKey(t *testing.T, srv *redistest.Server, url string) {
	t.Helper()
	testwait.Eventually(t, url+" to reach Redis", func() bool {
		r, err := srv.Command("EXISTS", "numbers:cache:"+url)
		return err == nil && r == ":1"
	})
}

// outcomes returns the X-Numbers-Outcomes of GET /numbers?u=url through p,
// and checks the answer was on time.
func outcomes(t *testing.T, p *proc, url string) string {
	t.Helper()
	resp, body, took := p.get(t, http.MethodGet, query(url))
	if resp.StatusCode != http.StatusOK || took > 500*time.Millisecond+slack {
		t.Fatalf("through %s: %d %s after %v", p.addr, resp.StatusCode, body, took)
	}
	if total := serverTimingTotal(t, resp.Header.Get("Server-Timing")); total > 500*time.Millisecond {
		t.Fatalf("through %s: late by the service's clock: %v", p.addr, total)
	}
	return resp.Header.Get("X-Numbers-Outcomes")
}

// TestReplicasShareCache: an upstream fetched through A is cached on B, with
// no second upstream request.
func TestReplicasShareCache(t *testing.T) {
	srv := startRedis(t)
	a, b := pair(t, srv, nil)
	var n atomic.Int64
	u := testupstream.Start(t, counting(&n, `{"numbers":[4,2]}`)).URL
	if o := outcomes(t, a, u); !strings.HasPrefix(o, "ok=1,") {
		t.Fatalf("through A: %s", o)
	}
	waitKey(t, srv, u)
	if o := outcomes(t, b, u); !strings.HasPrefix(o, "ok=0,cached=1,") {
		t.Fatalf("through B: %s, want cached", o)
	}
	if n.Load() != 1 {
		t.Fatalf("upstream asked %d times, want 1", n.Load())
	}
}

// TestOwnerKilled: kill -9 of the replica running a job ends the job, through
// the other, within the lease and one sweep, with status failed and why.
func TestOwnerKilled(t *testing.T) {
	srv := startRedis(t)
	const lease = time.Second
	a, b := pair(t, srv, map[string]any{"job-lease": lease.String()})
	entered := make(chan struct{}, 1)
	hang := testupstream.Start(t, testupstream.Hanging(entered)).URL
	good := testupstream.Start(t, testupstream.JSON(`{"numbers":[5]}`)).URL
	loc := post(t, a, good, hang)
	<-entered
	s, _ := follow(t, b, loc, "")
	s.next(t) // the good upstream's event: A published it

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.exited
	killed := time.Now()
	id, typ, data := s.next(t) // the stream through B ends the job
	within := time.Since(killed)
	if id != "2" || typ != "done" || !strings.Contains(data, `"status":"failed"`) || !strings.Contains(data, `"error":"the replica running this job stopped`) {
		t.Fatalf("through B: %s %s %s", id, typ, data)
	}
	if limit := lease + lease/4 + 500*time.Millisecond; within > limit {
		t.Fatalf("ended %v after the kill, want within the lease and a sweep (%v)", within, limit)
	}
	code, doc := getJob(t, b, loc)
	if code != http.StatusOK || doc.Status != "failed" || len(doc.Numbers) != 1 || doc.Error == "" {
		t.Fatalf("GET through B: %d %+v", code, doc)
	}
	t.Logf("ended %v after the kill (lease %v)", within, lease)
}

// TestRedisStopped: with Redis paused, then stopped, both replicas answer
// /numbers on time (live, or from their own caches), and job requests get 503 with Retry-After;
// once Redis is back, the shared features are too, with no restart.
func TestRedisStopped(t *testing.T) {
	srv := startRedis(t)
	a, b := pair(t, srv, nil)
	var n atomic.Int64
	u := testupstream.Start(t, counting(&n, `{"numbers":[3]}`)).URL
	slow := testupstream.Start(t, testupstream.Hanging(nil)).URL
	outcomes(t, a, u)
	outcomes(t, b, u)

	// A Redis that does not answer (every client paused): a look-up is a
	// miss after -redis-lookup, and the upstream is fetched, on time.
	if r, err := srv.Command("CLIENT", "PAUSE", "1000", "ALL"); err != nil || r != "+OK" {
		t.Fatalf("CLIENT PAUSE: %q %v", r, err)
	}
	for _, p := range []*proc{a, b} {
		var m atomic.Int64
		w := testupstream.Start(t, counting(&m, `{"numbers":[6]}`)).URL
		if o := outcomes(t, p, w); !strings.HasPrefix(o, "ok=1,") {
			t.Fatalf("through %s with Redis paused: %s", p.addr, o)
		}
	}
	for { // the pause ends by itself (a paused Redis delays CLIENT UNPAUSE too)
		if r, _ := srv.Command("PING"); r == "+PONG" {
			break
		}
	}

	srv.Stop()
	for _, p := range []*proc{a, b} {
		for range 3 {
			if o := outcomes(t, p, u); !strings.HasPrefix(o, "ok=0,cached=1,") {
				t.Fatalf("through %s with Redis stopped: %s", p.addr, o)
			}
			if o := outcomes(t, p, slow); !strings.Contains(o, "timeout=1") {
				t.Fatalf("slow upstream through %s with Redis stopped: %s", p.addr, o)
			}
		}
		for _, r := range []struct{ method, path string }{
			{http.MethodPost, "/jobs?u=" + url.QueryEscape(u)}, {http.MethodGet, "/jobs/AAAAAAAAAAAAAAAAAAAAAA"},
			{http.MethodHead, "/jobs/AAAAAAAAAAAAAAAAAAAAAA"}, {http.MethodDelete, "/jobs/AAAAAAAAAAAAAAAAAAAAAA"},
			{http.MethodGet, "/jobs/AAAAAAAAAAAAAAAAAAAAAA/events"},
		} {
			resp, body, took := p.get(t, r.method, r.path) // checked against the OpenAPI document
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" || took > slack {
				t.Fatalf("%s %s with Redis stopped: %d %s, Retry-After %q, after %v",
					r.method, r.path, resp.StatusCode, body, resp.Header.Get("Retry-After"), took)
			}
		}
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	var loc string
	testwait.Eventually(t, "POST /jobs to be accepted after Redis restarted", func() bool { // the client reconnects by itself
		resp, err := http.Post("http://"+a.addr+"/jobs?u="+url.QueryEscape(u), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc = resp.Header.Get("Location")
		return resp.StatusCode == http.StatusAccepted
	})
	if code, _ := getJob(t, b, loc); code != http.StatusOK {
		t.Fatalf("the new job through B: %d", code)
	}
	var m atomic.Int64
	v := testupstream.Start(t, counting(&m, `{"numbers":[8]}`)).URL
	outcomes(t, a, v)
	waitKey(t, srv, v)
	if o := outcomes(t, b, v); !strings.HasPrefix(o, "ok=0,cached=1,") || m.Load() != 1 {
		t.Fatalf("shared cache after the restart: %s, %d upstream requests", o, m.Load())
	}
}
