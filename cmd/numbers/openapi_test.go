package main

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"numbers/api"
	"numbers/api/apitest"
	"numbers/internal/testupstream"
)

// checker is built once: parsing and validating the document takes a while.
var checker = sync.OnceValues(apitest.New)

// conform reports an error on t unless resp, the answer to req whose body
// was read as body, is what api/openapi.json says. proc.get calls it for
// every answer, so every end-to-end test checks the document too. It may be
// called from any goroutine.
func conform(t *testing.T, req *http.Request, resp *http.Response, body string) {
	t.Helper()
	c, err := checker()
	if err != nil {
		t.Error(err)
		return
	}
	r := *resp
	r.Body = io.NopCloser(strings.NewReader(body))
	if err := c.Check(req, &r); err != nil {
		t.Error(err)
	}
}

// TestOpenAPIEndToEnd gets from the binary the answers the other end-to-end
// tests do not (proc.get checks each against the document): HEAD, 400 for
// too many URLs, 503 when too many requests are in flight, /readyz, and
// the document itself, which must be the repository's.
func TestOpenAPIEndToEnd(t *testing.T) {
	// The budget is how long the held request keeps its place: long enough
	// for the refused requests to arrive meanwhile on a busy machine.
	const budget = time.Second
	p := startWith(t, nil, map[string]any{"max-in-flight": 1}, "-budget", budget.String(), "-max-urls", "2")
	good := testupstream.Start(t, testupstream.JSON(`{"numbers":[2,1]}`)).URL
	other := testupstream.Start(t, testupstream.JSON(`{"numbers":[3]}`)).URL

	resp, body, _ := p.get(t, "GET", "/openapi.json")
	if resp.StatusCode != 200 || body != api.OpenAPI() {
		t.Errorf("GET /openapi.json: %d, %d bytes; want 200 and the %d bytes of api/openapi.json",
			resp.StatusCode, len(body), len(api.OpenAPI()))
	}
	for _, path := range []string{"/openapi.json", "/readyz", "/healthz", query(good), query(good, other, good+"/x"), "/nope"} {
		for _, method := range []string{"GET", "HEAD"} {
			p.get(t, method, path)
		}
	}
	if resp, _, _ := p.get(t, "GET", query(good, other, good+"/x")); resp.StatusCode != 400 {
		t.Errorf("three URLs with -max-urls 2: status %d; want 400", resp.StatusCode)
	}

	// One request holds the only place while its upstream hangs; the next
	// is refused with 503 and Retry-After.
	entered := make(chan struct{}, 1)
	slow := testupstream.Start(t, testupstream.Hanging(entered)).URL
	held := make(chan int, 1)
	go func() {
		resp, _, _ := p.get(t, "GET", query(slow))
		held <- resp.StatusCode
	}()
	<-entered
	for _, method := range []string{"GET", "HEAD"} {
		if resp, _, _ := p.get(t, method, query(good)); resp.StatusCode != 503 {
			t.Errorf("%s while the only place is held: status %d; want 503", method, resp.StatusCode)
		}
	}
	if status := <-held; status != 200 {
		t.Errorf("the request that held the place: status %d; want 200", status)
	}
}
