package handler

import (
	"context"
	"strings"
	"testing"
	"time"

	"numbers/jobs"
)

// TestOpenAPIJobs sends the jobs endpoints, and GET /numbers with Prefer:
// respond-async, requests that reach every status and header they answer,
// and checks each real answer against the document.
func TestOpenAPIJobs(t *testing.T) {
	answers := map[string]canned{"http://a.test/": {numbers: []int64{3, 1, 2}}, "http://slow.test/": {block: true}}
	x := newJobsFixture(t, answers, nil, 200*time.Millisecond)
	full := newJobsFixture(t, answers, jobs.NewMemStore(jobs.MemConfig{MaxJobs: 1}), time.Second)
	closing := newJobsFixture(t, answers, nil, time.Second)

	check := func(name string, x *jobsFixture, status int, method, uri string, header ...string) string {
		t.Helper()
		var location string
		t.Run(name, func(t *testing.T) {
			req, resp := exchange(t, x.ln, method, uri, header...)
			if resp.StatusCode != status {
				t.Fatalf("%s %s: status %d; want %d", method, uri, resp.StatusCode, status)
			}
			conform(t, req, resp)
			location = resp.Header.Get("Location")
		})
		return location
	}

	done := check("POST: started", x, 202, "POST", jobsURI("/jobs", "http://a.test/", "ftp://x"))
	running := check("POST: started, runs", x, 202, "POST", jobsURI("/jobs", "http://slow.test/"))
	if done == "" || running == "" {
		t.Fatal("no Location")
	}
	x.waitJob(t, strings.TrimPrefix(done, "/jobs/"))
	check("POST: bad budget", x, 400, "POST", jobsURI("/jobs", "http://a.test/")+"&budget=soon")
	check("GET /jobs", x, 405, "GET", "/jobs")
	check("GET: done", x, 200, "GET", done)
	check("GET: running", x, 200, "GET", running)
	check("HEAD: running", x, 200, "HEAD", running)
	check("GET: unknown", x, 404, "GET", "/jobs/AAAAAAAAAAAAAAAAAAAAAA")
	check("HEAD: unknown", x, 404, "HEAD", "/jobs/AAAAAAAAAAAAAAAAAAAAAA")
	check("PUT", x, 405, "PUT", done)
	check("events", x, 200, "GET", done+"/events")
	check("events: after the last", x, 204, "GET", done+"/events", "Last-Event-ID", "2")
	check("events: bad Last-Event-ID", x, 400, "GET", done+"/events", "Last-Event-ID", "two")
	check("events: unknown", x, 404, "GET", "/jobs/AAAAAAAAAAAAAAAAAAAAAA/events")
	check("events: POST", x, 405, "POST", done+"/events")
	check("other path under a job", x, 404, "GET", done+"/other")
	check("DELETE: running", x, 200, "DELETE", running)
	check("DELETE: unknown", x, 404, "DELETE", "/jobs/AAAAAAAAAAAAAAAAAAAAAA")
	check("respond-async: applied", x, 200, "GET", numbersURI("http://a.test/", "http://slow.test/"), "Prefer", "respond-async")
	check("respond-async: HEAD", x, 200, "HEAD", numbersURI("http://a.test/", "http://slow.test/"), "Prefer", "respond-async")

	check("POST: fills the store", full, 202, "POST", jobsURI("/jobs", "http://slow.test/"))
	check("POST: store full", full, 503, "POST", jobsURI("/jobs", "http://a.test/"))

	job := check("POST: before shutdown", closing, 202, "POST", jobsURI("/jobs", "http://slow.test/"))
	closing.hub.Shutdown(context.Background()) //nolint:errcheck // no deadline
	check("events: shutting down", closing, 503, "GET", job+"/events")
	closing.runner.Stop()
	check("POST: shutting down", closing, 503, "POST", jobsURI("/jobs", "http://a.test/"))
}
